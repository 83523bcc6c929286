import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkKeyPrefix,
  createRedisSessionStore,
  escapeKeyPart,
  poolIndexKey,
  sessionKeys,
  sessionTag,
} from '../src/index.js';

/** The part of a key Redis Cluster hashes (the rules of `keyHashSlot` in Redis's cluster.c). */
function hashedPart(key: string): string {
  const open = key.indexOf('{');
  if (open === -1) return key;
  const close = key.indexOf('}', open + 1);
  if (close === -1 || close === open + 1) return key;
  return key.slice(open + 1, close);
}

const awkward = ['', '{', '}', '{}', 'a}b{c', ':', 'a:b', '%', '%7B', '\u0000\n\t', 'ü€😀', ' '];

describe('key layout', () => {
  it('escapes %, braces, : and control characters, and nothing else', () => {
    expect(escapeKeyPart('plain-id_1.2/3')).toBe('plain-id_1.2/3');
    expect(escapeKeyPart('a{b}c:d%e')).toBe('a%7Bb%7Dc%3Ad%25e');
    expect(escapeKeyPart('\u0000\n\u007f\u0085')).toBe('%00%0A%7F%85');
    expect(escapeKeyPart('ü€😀')).toBe('ü€😀');
  });

  it('refuses a string with a lone surrogate, which has no UTF-8 form', () => {
    expect(() => escapeKeyPart('a\uD800')).toThrow(TypeError);
    expect(() => escapeKeyPart('\uDC00b')).toThrow(TypeError);
    expect(escapeKeyPart('\uD83D\uDE00')).toBe('😀');
  });

  it('names the keys of a session under one hash tag, whatever the pool and client id', () => {
    const keys = sessionKeys('P:', { pool: 'default', clientId: 'sensor-1' });
    expect(keys).toEqual({
      record: 'P:s:{default:sensor-1}:rec',
      subscriptions: 'P:s:{default:sensor-1}:subs',
      order: 'P:s:{default:sensor-1}:order',
      messages: 'P:s:{default:sensor-1}:msgs',
      release: 'P:s:{default:sensor-1}:rel',
    });
    expect(poolIndexKey('P:', 'default')).toBe('P:pool:default');
    for (const pool of awkward) {
      for (const clientId of awkward) {
        const tag = sessionTag({ pool, clientId });
        for (const name of Object.values(sessionKeys('P:', { pool, clientId }))) {
          expect(`{${hashedPart(name)}}`).toBe(tag);
        }
      }
    }
  });

  it('gives two different sessions two different tags (property)', () => {
    const part = fc.string({ unit: 'grapheme', maxLength: 8 });
    const weird = fc.constantFrom(...awkward);
    const id = fc.oneof(
      part,
      weird,
      fc.tuple(part, weird, part).map((p) => p.join('')),
    );
    fc.assert(
      fc.property(id, id, id, id, (pool1, client1, pool2, client2) => {
        const same = pool1 === pool2 && client1 === client2;
        const tag1 = sessionTag({ pool: pool1, clientId: client1 });
        const tag2 = sessionTag({ pool: pool2, clientId: client2 });
        expect(tag1 === tag2).toBe(same);
        expect(hashedPart(`x${tag1}:rec`)).toBe(tag1.slice(1, -1));
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses a key prefix with a brace, or a client with its own keyPrefix', () => {
    expect(checkKeyPrefix('app:sessions:')).toBe('app:sessions:');
    expect(() => checkKeyPrefix('app{1}:')).toThrow(TypeError);
    expect(() => createRedisSessionStore({ url: 'redis://127.0.0.1:1', keyPrefix: '}' })).toThrow(
      TypeError,
    );
    expect(() =>
      createRedisSessionStore({ cluster: [], clusterOptions: { keyPrefix: 'x:' } }),
    ).toThrow(TypeError);
  });
});
