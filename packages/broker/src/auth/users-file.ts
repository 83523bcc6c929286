import { AuthFileError } from './errors.js';
import { numberedLines } from './lines.js';
import { decodeMosquittoHash, isMosquittoHash } from './mosquitto-hash.js';
import { decodeScryptHash } from './scrypt.js';

/*
 * The users file: one `username:hash` per line, where the hash is what hashPassword makes
 * (`scrypt$N$r$p$salt$hash`) or what Mosquitto's `mosquitto_passwd` makes (`$7$...` or `$6$...`),
 * so a Mosquitto password file works as it is. Blank lines and lines starting with `#` are ignored. Usernames
 * cannot contain `:` (the separator) and cannot start with `#` (that would be a comment).
 *
 *   # broker users (written by addUser, which the broker's CLI runs for its add-user command)
 *   alice:scrypt$16384$8$1$...$...
 */

/** One user's line in a users file. */
export interface UserEntry {
  readonly username: string;
  readonly hash: string;
  /** The 1-based line it is on. */
  readonly line: number;
}

/**
 * Why a name cannot be a username in a users file, or `undefined` when it can. Shared by the
 * parser and by addUser, so addUser never writes a line the parser would refuse.
 */
export function usernameProblem(username: string): string | undefined {
  if (username.length === 0) return 'the username is empty';
  if (username.includes(':')) return 'a username cannot contain ":"';
  if (username.startsWith('#')) return 'a username cannot start with "#"';
  if (username.trim() !== username) return 'a username cannot start or end with white space';
  // Control characters (a newline above all) would break the line format; MQTT forbids U+0000.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds
  if (/[\u0000-\u001f\u007f]/.test(username)) return 'a username cannot contain control characters';
  return undefined;
}

/**
 * Reads every user line of a users file, in order, checking each name and hash.
 *
 * @throws AuthFileError on a malformed line or a user listed twice.
 */
export function readUserEntries(text: string, source = 'users file'): UserEntry[] {
  const entries: UserEntry[] = [];
  const seen = new Map<string, number>();
  for (const { line, content } of numberedLines(text)) {
    const trimmed = content.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const colon = trimmed.indexOf(':');
    if (colon === -1) throw new AuthFileError(source, line, 'expected username:hash');
    const username = trimmed.slice(0, colon);
    const hash = trimmed.slice(colon + 1);
    const badName = usernameProblem(username);
    if (badName !== undefined) throw new AuthFileError(source, line, badName);
    const first = seen.get(username);
    if (first !== undefined) {
      throw new AuthFileError(source, line, `user ${username} is already on line ${first}`);
    }
    const decoded = isMosquittoHash(hash) ? decodeMosquittoHash(hash) : decodeScryptHash(hash);
    if (typeof decoded === 'string') {
      throw new AuthFileError(source, line, `user ${username}: ${decoded}`);
    }
    seen.set(username, line);
    entries.push({ username, hash, line });
  }
  return entries;
}

/**
 * Parses a users file into a map from username to encoded password hash.
 *
 * @param source The file name to put in error messages.
 * @throws AuthFileError (`source:line: problem`) on a malformed line or a user listed twice.
 */
export function parseUsersFile(text: string, source?: string): Map<string, string> {
  return new Map(readUserEntries(text, source).map((entry) => [entry.username, entry.hash]));
}
