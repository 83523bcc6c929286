import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from './atomic-write.js';
import { hashPassword, type ScryptCost } from './scrypt.js';
import { readUserEntries, usernameProblem } from './users-file.js';

/**
 * Adds a user to a users file, or sets the password of one already there. The file is created
 * (mode 0600) when missing; otherwise the user's line is replaced in place, or appended, and
 * every other line, comments included, is kept. The write is atomic (temporary file + rename)
 * and leaves the file at mode 0600, since the hashes are worth protecting from offline guessing.
 *
 * Two concurrent calls on one file may lose one of the updates: this is for an operator's CLI,
 * not for a user-management service.
 *
 * @param cost scrypt cost, for tests; defaults to {@link hashPassword}'s.
 * @throws Error on an invalid username, an empty password, or an existing file that does not
 *   parse (it is left untouched).
 */
export async function addUser(
  usersFile: string,
  username: string,
  password: string,
  cost?: ScryptCost,
): Promise<void> {
  const problem = usernameProblem(username);
  if (problem !== undefined)
    throw new Error(`cannot add user ${JSON.stringify(username)}: ${problem}`);
  // An empty password is treated as no password at CONNECT, so such a user could never log in.
  if (password.length === 0) throw new Error(`cannot add user ${username}: the password is empty`);
  const text = await readIfExists(usersFile);
  const entries = readUserEntries(text ?? '', usersFile);
  const line = `${username}:${await hashPassword(password, cost)}`;
  const lines = text === undefined || text === '' ? [] : text.split('\n');
  const existing = entries.find((entry) => entry.username === username);
  if (existing !== undefined) {
    const old = lines[existing.line - 1] ?? '';
    lines[existing.line - 1] = old.endsWith('\r') ? `${line}\r` : line;
  } else {
    // The text ends with a newline, so split leaves an empty last element: put the user there.
    if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    lines.push(text?.includes('\r\n') === true ? `${line}\r` : line);
  }
  if (lines[lines.length - 1] !== '') lines.push('');
  await writeFileAtomic(usersFile, lines.join('\n'), 0o600);
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
