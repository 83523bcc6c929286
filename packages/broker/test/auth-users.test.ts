import { chmod, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AuthFileError, addUser, parseUsersFile, verifyPassword } from '../src/auth/index.js';
import { TEST_COST, useTempDir } from './fixtures/auth/helpers.js';

// A well-formed hash (of no password anybody knows) for parser tests that never verify.
const HASH = 'scrypt$1024$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

describe('parseUsersFile', () => {
  it('reads username:hash lines, skipping comments and blank lines, in any line ending', () => {
    const text = `# users\r\n\r\nalice:${HASH}\r\n   # indented comment\n  bob:${HASH}  \n`;
    expect(parseUsersFile(text)).toEqual(
      new Map([
        ['alice', HASH],
        ['bob', HASH],
      ]),
    );
  });

  it('reads an empty file as no users', () => {
    expect(parseUsersFile('')).toEqual(new Map());
    expect(parseUsersFile('# nobody yet\n')).toEqual(new Map());
  });

  it('keeps every character of a username but the separator, spaces inside included', () => {
    expect([...parseUsersFile(`Zoë Smith@example.com/x:${HASH}`).keys()]).toEqual([
      'Zoë Smith@example.com/x',
    ]);
  });

  it.each([
    ['a line without a colon', `# header\nalice ${HASH}`, 2, /expected username:hash/],
    ['an empty username', `:${HASH}`, 1, /username is empty/],
    ['white space before the colon', `alice :${HASH}`, 1, /white space/],
    ['a password instead of a hash', '\n\nalice:wonderland', 3, /user alice: not an scrypt hash/],
    ['a damaged hash', `alice:${HASH.replace('$1024$', '$1023$')}`, 1, /N must be a power/],
    ['a user listed twice', `alice:${HASH}\nbob:${HASH}\nalice:${HASH}`, 3, /already on line 1/],
  ])('refuses %s, naming the file and line', (_name, text, line, message) => {
    let error: unknown;
    try {
      parseUsersFile(text, '/etc/mqtt/users');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(AuthFileError);
    expect((error as AuthFileError).line).toBe(line);
    expect((error as Error).message).toMatch(new RegExp(`^/etc/mqtt/users:${line}: `));
    expect((error as Error).message).toMatch(message);
  });

  it('names the text "users file" when no source is given', () => {
    expect(() => parseUsersFile('nonsense')).toThrow(/^users file:1: /);
  });

  it('does not quote a bad hash in the error', () => {
    expect(() => parseUsersFile('alice:hunter2')).not.toThrow(/hunter2/);
  });
});

describe('addUser', () => {
  const tempDir = useTempDir();

  it('creates the file, mode 0600, with one verifiable line', async () => {
    const file = join(await tempDir(), 'users');
    await addUser(file, 'alice', 'wonderland', TEST_COST);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const text = await readFile(file, 'utf8');
    expect(text).toMatch(/^alice:scrypt\$1024\$8\$1\$[^\n]+\n$/);
    expect(text).not.toContain('wonderland');
    const users = parseUsersFile(text);
    expect(await verifyPassword('wonderland', users.get('alice') ?? '')).toBe(true);
  });

  it('appends a new user and keeps the others, comments and all', async () => {
    const file = join(await tempDir(), 'users');
    await writeFile(file, `# our users\nbob:${HASH}\n\n# end of list`);
    await addUser(file, 'alice', 'wonderland', TEST_COST);
    const lines = (await readFile(file, 'utf8')).split('\n');
    expect(lines.slice(0, 4)).toEqual(['# our users', `bob:${HASH}`, '', '# end of list']);
    expect(lines[4]).toMatch(/^alice:scrypt\$/);
    expect(lines[5]).toBe('');
    expect([...parseUsersFile(lines.join('\n')).keys()]).toEqual(['bob', 'alice']);
  });

  it("updates a user's password in place: the new one verifies, the old one no longer", async () => {
    const file = join(await tempDir(), 'users');
    await addUser(file, 'alice', 'old password', TEST_COST);
    await addUser(file, 'bob', 'builder', TEST_COST);
    const before = parseUsersFile(await readFile(file, 'utf8'));
    await addUser(file, 'alice', 'new password', TEST_COST);
    const text = await readFile(file, 'utf8');
    const after = parseUsersFile(text);
    expect([...after.keys()]).toEqual(['alice', 'bob']);
    expect(text.split('\n')).toHaveLength(3);
    expect(after.get('bob')).toBe(before.get('bob'));
    expect(await verifyPassword('new password', after.get('alice') ?? '')).toBe(true);
    expect(await verifyPassword('old password', after.get('alice') ?? '')).toBe(false);
  });

  it('keeps Windows line endings of a file written with them', async () => {
    const file = join(await tempDir(), 'users');
    await writeFile(file, `# users\r\nbob:${HASH}\r\n`);
    await addUser(file, 'alice', 'wonderland', TEST_COST);
    await addUser(file, 'bob', 'builder', TEST_COST);
    const text = await readFile(file, 'utf8');
    expect(text.split('\r\n')).toHaveLength(4);
    expect(text.replace(/\r\n/g, '')).not.toContain('\n');
  });

  it('tightens an existing file to mode 0600', async () => {
    const file = join(await tempDir(), 'users');
    await writeFile(file, `bob:${HASH}\n`);
    await chmod(file, 0o644);
    await addUser(file, 'alice', 'wonderland', TEST_COST);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('leaves no temporary file behind', async () => {
    const dir = await tempDir();
    await addUser(join(dir, 'users'), 'alice', 'wonderland', TEST_COST);
    await addUser(join(dir, 'users'), 'alice', 'again', TEST_COST);
    expect(await readdir(dir)).toEqual(['users']);
  });

  it.each([
    ['a colon', 'ali:ce', /cannot contain ":"/],
    ['a leading #', '#alice', /cannot start with "#"/],
    ['a newline', 'alice\nmallory', /control characters/],
    ['surrounding space', ' alice', /white space/],
    ['nothing', '', /empty/],
  ])('refuses a username with %s, writing nothing', async (_name, username, message) => {
    const dir = await tempDir();
    await expect(addUser(join(dir, 'users'), username, 'pw', TEST_COST)).rejects.toThrow(message);
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses an empty password, which no client could ever log in with', async () => {
    const dir = await tempDir();
    await expect(addUser(join(dir, 'users'), 'alice', '', TEST_COST)).rejects.toThrow(/empty/);
  });

  it('refuses to rewrite a file that does not parse, and leaves it as it was', async () => {
    const file = join(await tempDir(), 'users');
    await writeFile(file, `bob:${HASH}\nthis is not a user line\n`);
    await expect(addUser(file, 'alice', 'wonderland', TEST_COST)).rejects.toThrow(
      new RegExp(`^${file}:2: expected username:hash`),
    );
    expect(await readFile(file, 'utf8')).toBe(`bob:${HASH}\nthis is not a user line\n`);
  });
});
