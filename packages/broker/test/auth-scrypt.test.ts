import { describe, expect, it } from 'vitest';
import { DEFAULT_SCRYPT_COST, hashPassword, verifyPassword } from '../src/auth/index.js';
import { decodeScryptHash } from '../src/auth/scrypt.js';
import { TEST_COST } from './fixtures/auth/helpers.js';

describe('hashPassword and verifyPassword', () => {
  it('verify the password that was hashed', async () => {
    const hash = await hashPassword('correct horse battery staple', TEST_COST);
    expect(await verifyPassword('correct horse battery staple', hash)).toBe(true);
  });

  it('reject a wrong password, including one that differs by a character or a case', async () => {
    const hash = await hashPassword('s3cret', TEST_COST);
    for (const wrong of ['s3cre', 's3cret ', 'S3cret', '', 's3cret!', 'xs3cret']) {
      expect(await verifyPassword(wrong, hash)).toBe(false);
    }
  });

  it('store a self-describing hash that is not the password, with a 16-byte salt', async () => {
    const hash = await hashPassword('s3cret', TEST_COST);
    expect(hash).toMatch(/^scrypt\$1024\$8\$1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/);
    expect(hash).not.toContain('s3cret');
    const decoded = decodeScryptHash(hash);
    if (typeof decoded === 'string') throw new Error(decoded);
    expect(decoded.salt).toHaveLength(16);
    expect(decoded.key).toHaveLength(32);
  });

  it('salt every hash afresh: two hashes of one password differ and both verify', async () => {
    const first = await hashPassword('same', TEST_COST);
    const second = await hashPassword('same', TEST_COST);
    expect(first).not.toBe(second);
    expect(await verifyPassword('same', first)).toBe(true);
    expect(await verifyPassword('same', second)).toBe(true);
  });

  it('default to a sound cost (N=16384, r=8, p=1)', async () => {
    expect(DEFAULT_SCRYPT_COST).toEqual({ N: 16384, r: 8, p: 1 });
    const hash = await hashPassword('s3cret');
    expect(hash.startsWith('scrypt$16384$8$1$')).toBe(true);
    expect(await verifyPassword('s3cret', hash)).toBe(true);
  });

  it('hash a string as its UTF-8 bytes, which is what an MQTT client sends', async () => {
    const hash = await hashPassword('pässwörd', TEST_COST);
    expect(await verifyPassword(Buffer.from('pässwörd', 'utf8'), hash)).toBe(true);
    expect(await verifyPassword(Buffer.from('pässwörd', 'latin1'), hash)).toBe(false);
  });

  it('verify a cost other than the default, read from the hash itself', async () => {
    const hash = await hashPassword('s3cret', { N: 2048, r: 4, p: 2 });
    expect(hash.startsWith('scrypt$2048$4$2$')).toBe(true);
    expect(await verifyPassword('s3cret', hash)).toBe(true);
  });

  it('refuse costs that are not valid or would ask for absurd resources', async () => {
    for (const cost of [
      { N: 1000, r: 8, p: 1 },
      { N: 1, r: 8, p: 1 },
      { N: 1024, r: 0, p: 1 },
      { N: 1024, r: 8, p: 0 },
      { N: 1024, r: 8, p: 17 },
      { N: 2 ** 20, r: 16, p: 1 },
    ]) {
      await expect(hashPassword('x', cost)).rejects.toThrow(RangeError);
    }
  });
});

describe('verifyPassword on a malformed hash', () => {
  const good = 'scrypt$1024$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

  it('accepts the well-formed sample used below', () => {
    expect(typeof decodeScryptHash(good)).toBe('object');
  });

  it.each([
    ['a plain password', 'hunter2', /not an scrypt hash/],
    ['another algorithm', good.replace('scrypt', 'bcrypt'), /not an scrypt hash/],
    ['a missing field', good.split('$').slice(0, 5).join('$'), /not an scrypt hash/],
    ['N not a power of two', good.replace('$1024$', '$1000$'), /N must be a power of two/],
    ['a leading zero in N', good.replace('$1024$', '$01024$'), /N must be/],
    ['N beyond 2^24', good.replace('$1024$', '$33554432$'), /N must be/],
    ['r of zero', good.replace('$8$', '$0$'), /r must be/],
    ['more than 1 GiB', good.replace('$1024$8$', '$1048576$16$'), /1 GiB/],
    ['a short salt', good.replace('AAAAAAAAAAAAAAAAAAAAAA$', 'AAAA$'), /salt/],
    [
      'a salt that is not base64',
      good.replace('AAAAAAAAAAAAAAAAAAAAAA$', 'AAAAAAAAAA*AAAAAAAAAAA$'),
      /salt/,
    ],
    ['padding', `${good}=`, /the hash must be/],
    ['a short hash', good.replace(/\$[A]+$/, '$AAAA'), /the hash must be/],
  ])('throws on %s', async (_name, encoded, message) => {
    await expect(verifyPassword('x', encoded)).rejects.toThrow(message);
  });

  it('never quotes the hash in its error message', async () => {
    const secretish = good.replace('$1024$', '$1000$');
    await expect(verifyPassword('x', secretish)).rejects.not.toThrow(/AAAAAAAAAA/);
  });
});
