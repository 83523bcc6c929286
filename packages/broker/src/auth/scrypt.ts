import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { decodeMosquittoHash, isMosquittoHash, verifyMosquittoHash } from './mosquitto-hash.js';

/** scrypt cost parameters: CPU/memory cost `N` (a power of two), block size `r`, parallelism `p`. */
export interface ScryptCost {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

/**
 * The cost {@link hashPassword} uses unless told otherwise: the scrypt paper's interactive-login
 * setting, about 16 MiB and some tens of milliseconds per hash. Stronger costs slow down every
 * CONNECT with a password, so this is a floor for production, not a target to raise casually.
 */
export const DEFAULT_SCRYPT_COST: ScryptCost = { N: 16384, r: 8, p: 1 };

/** A decoded `scrypt$N$r$p$salt$hash` string. */
export interface ScryptHash extends ScryptCost {
  readonly salt: Buffer;
  readonly key: Buffer;
}

const SALT_BYTES = 16;
const KEY_BYTES = 32;
// Limits for hashes read from a file: a typo such as an extra digit in N must not make every
// login allocate gigabytes or spin for minutes.
const MAX_MEMORY_BYTES = 1 << 30;
const MAX_LOG2_N = 24;
const MAX_P = 16;
const MIN_SALT_BYTES = 16;
const MIN_KEY_BYTES = 16;
const MAX_KEY_BYTES = 64;

/**
 * Hashes a password with scrypt and a fresh random 16-byte salt. The result is self-describing,
 * `scrypt$N$r$p$salt$hash` (salt and hash in unpadded base64), so the cost can be raised later
 * without invalidating stored hashes. A string password is hashed as its UTF-8 bytes, which is
 * what an MQTT client sends.
 *
 * @param cost Lower costs are for tests only; the default is {@link DEFAULT_SCRYPT_COST}.
 */
export async function hashPassword(
  password: string | Uint8Array,
  cost: ScryptCost = DEFAULT_SCRYPT_COST,
): Promise<string> {
  const problem = costProblem(cost);
  if (problem !== undefined) throw new RangeError(`hashPassword: ${problem}`);
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, KEY_BYTES, cost);
  return ['scrypt', cost.N, cost.r, cost.p, base64(salt), base64(key)].join('$');
}

/**
 * Checks a password against a hash made by {@link hashPassword}, or against a Mosquitto
 * password-file hash (`$7$` PBKDF2-SHA512 or `$6$` SHA-512), comparing in constant time so the
 * answer time does not tell how close a guess was.
 *
 * As with any scrypt (its HMAC pads the password with zero bytes), a password followed by zero
 * bytes verifies as the password itself; that helps only someone who knows the password.
 *
 * @throws Error when `encoded` is not a well-formed scrypt hash: that is a configuration
 *   mistake, not a wrong password.
 */
export async function verifyPassword(
  password: string | Uint8Array,
  encoded: string,
): Promise<boolean> {
  if (isMosquittoHash(encoded)) {
    const mosquitto = decodeMosquittoHash(encoded);
    if (typeof mosquitto === 'string') throw new Error(`verifyPassword: ${mosquitto}`);
    return verifyMosquittoHash(password, mosquitto);
  }
  const decoded = decodeScryptHash(encoded);
  if (typeof decoded === 'string') throw new Error(`verifyPassword: ${decoded}`);
  const key = await derive(password, decoded.salt, decoded.key.length, decoded);
  return timingSafeEqual(key, decoded.key);
}

/**
 * Decodes and checks a `scrypt$N$r$p$salt$hash` string. Returns the problem as a string (never
 * quoting the hash, which is a secret of sorts) when it is not well formed.
 */
export function decodeScryptHash(encoded: string): ScryptHash | string {
  const parts = encoded.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') {
    return 'not an scrypt hash (expected scrypt$N$r$p$salt$hash)';
  }
  const [, nText, rText, pText, saltText, keyText] = parts as [string, ...string[]];
  const cost = { N: integer(nText), r: integer(rText), p: integer(pText) };
  const problem = costProblem(cost);
  if (problem !== undefined) return problem;
  const salt = unbase64(saltText ?? '');
  if (salt === undefined || salt.length < MIN_SALT_BYTES) {
    return `the salt must be base64 of at least ${MIN_SALT_BYTES} bytes`;
  }
  const key = unbase64(keyText ?? '');
  if (key === undefined || key.length < MIN_KEY_BYTES || key.length > MAX_KEY_BYTES) {
    return `the hash must be base64 of ${MIN_KEY_BYTES} to ${MAX_KEY_BYTES} bytes`;
  }
  return { ...cost, salt, key };
}

function costProblem(cost: ScryptCost): string | undefined {
  const { N, r, p } = cost;
  if (!Number.isSafeInteger(N) || N < 2 || N > 2 ** MAX_LOG2_N || (N & (N - 1)) !== 0) {
    return `N must be a power of two from 2 to 2^${MAX_LOG2_N}`;
  }
  if (!Number.isSafeInteger(r) || r < 1) return 'r must be a positive integer';
  if (!Number.isSafeInteger(p) || p < 1 || p > MAX_P)
    return `p must be an integer from 1 to ${MAX_P}`;
  if (memoryOf(cost) > MAX_MEMORY_BYTES) return 'N and r ask for more than 1 GiB of memory';
  return undefined;
}

// What OpenSSL's scrypt allocates (its V and B arrays); Node refuses to run when it exceeds
// maxmem, whose default (32 MiB) is too small for costs above the default.
function memoryOf(cost: ScryptCost): number {
  return 128 * cost.r * (cost.N + 2 + cost.p);
}

function derive(
  password: string | Uint8Array,
  salt: Buffer,
  keyLength: number,
  cost: ScryptCost,
): Promise<Buffer> {
  const options = { N: cost.N, r: cost.r, p: cost.p, maxmem: memoryOf(cost) + 65536 };
  return new Promise((resolve, reject) => {
    scrypt(password, salt, keyLength, options, (error, key) => {
      if (error === null) resolve(key);
      else reject(error);
    });
  });
}

function integer(text: string | undefined): number {
  return text !== undefined && /^[1-9][0-9]{0,15}$/.test(text) ? Number(text) : Number.NaN;
}

function base64(bytes: Buffer): string {
  return bytes.toString('base64').replace(/=+$/, '');
}

// Buffer.from(text, 'base64') skips characters it does not know; accept only canonical text so a
// damaged line is reported instead of silently turning into other bytes.
function unbase64(text: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]+$/.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return base64(bytes) === text ? bytes : undefined;
}
