import { createHash, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

/*
 * Password hashes of Mosquitto's password files (`mosquitto_passwd`), so a deployment can move
 * over with the file it has:
 *
 *   $7$ITERATIONS$SALT$HASH   PBKDF2-HMAC-SHA512 (Mosquitto 2.0 and later), base64 salt and hash
 *   $6$SALT$HASH              SHA-512 of the password then the salt (Mosquitto 1.x)
 */

const pbkdf2Async = promisify(pbkdf2);

/** A decoded Mosquitto hash: `iterations` is undefined for the old `$6$` kind. */
export interface MosquittoHash {
  readonly iterations: number | undefined;
  readonly salt: Buffer;
  readonly key: Buffer;
}

// A typo such as extra digits must not make every login spin for minutes.
const MAX_ITERATIONS = 10_000_000;
const SHA512_BYTES = 64;

/** True for a string that claims to be a Mosquitto hash (`$6$...` or `$7$...`). */
export function isMosquittoHash(encoded: string): boolean {
  return encoded.startsWith('$6$') || encoded.startsWith('$7$');
}

/** Decodes a `$7$` or `$6$` hash, or returns what is wrong with it (never quoting it). */
export function decodeMosquittoHash(encoded: string): MosquittoHash | string {
  const parts = encoded.split('$');
  if (parts[1] === '7' && parts.length === 5) {
    const iterations = Number(parts[2]);
    if (!Number.isInteger(iterations) || iterations < 1 || iterations > MAX_ITERATIONS)
      return `the iteration count must be a whole number from 1 to ${MAX_ITERATIONS}`;
    return withSaltAndKey(iterations, parts[3] as string, parts[4] as string);
  }
  if (parts[1] === '6' && parts.length === 4)
    return withSaltAndKey(undefined, parts[2] as string, parts[3] as string);
  return 'not a Mosquitto hash (expected $7$iterations$salt$hash or $6$salt$hash)';
}

function withSaltAndKey(
  iterations: number | undefined,
  saltText: string,
  keyText: string,
): MosquittoHash | string {
  const salt = Buffer.from(saltText, 'base64');
  const key = Buffer.from(keyText, 'base64');
  if (salt.length === 0) return 'the salt must be base64';
  if (key.length !== SHA512_BYTES) return `the hash must be base64 of ${SHA512_BYTES} bytes`;
  return { iterations, salt, key };
}

/** Checks a password against a decoded Mosquitto hash, in constant time. */
export async function verifyMosquittoHash(
  password: string | Uint8Array,
  hash: MosquittoHash,
): Promise<boolean> {
  const secret = typeof password === 'string' ? Buffer.from(password, 'utf8') : password;
  const key =
    hash.iterations === undefined
      ? createHash('sha512').update(secret).update(hash.salt).digest()
      : await pbkdf2Async(secret, hash.salt, hash.iterations, SHA512_BYTES, 'sha512');
  return timingSafeEqual(key, hash.key);
}

/** A hash of a random secret that costs what `like` costs, for unknown usernames. */
export async function mosquittoDecoy(like: MosquittoHash): Promise<string> {
  const salt = randomBytes(like.salt.length);
  const secret = randomBytes(16);
  if (like.iterations === undefined) {
    const key = createHash('sha512').update(secret).update(salt).digest();
    return `$6$${salt.toString('base64')}$${key.toString('base64')}`;
  }
  const key = await pbkdf2Async(secret, salt, like.iterations, SHA512_BYTES, 'sha512');
  return `$7$${like.iterations}$${salt.toString('base64')}$${key.toString('base64')}`;
}
