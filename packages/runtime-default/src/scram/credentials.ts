import { createHash, createHmac, pbkdf2, randomBytes } from 'node:crypto';

/**
 * What a server keeps to check a SCRAM-SHA-256 login (RFC 5802 section 3, RFC 7677): never the
 * password, and nothing that lets somebody who reads it log in. Make it with
 * {@link createScramCredentials}; to store it, keep the numbers and the base64 of the buffers.
 */
export interface ScramCredentials {
  /** The salt of the password hash, sent to the client in server-first (`s=`). */
  readonly salt: Buffer;
  /** PBKDF2 iterations, sent to the client in server-first (`i=`). */
  readonly iterations: number;
  /** `H(HMAC(SaltedPassword, "Client Key"))`: checks the client's proof. */
  readonly storedKey: Buffer;
  /** `HMAC(SaltedPassword, "Server Key")`: signs server-final, proving the server knew the password. */
  readonly serverKey: Buffer;
}

/** Options of {@link createScramCredentials}. */
export interface ScramCredentialOptions {
  /**
   * PBKDF2-HMAC-SHA-256 iterations: at least 4096 (RFC 7677 section 4); more makes a stolen
   * credential store slower to attack, and each login slower for the client by as much.
   */
  readonly iterations: number;
  /** The salt; 16 random bytes by default. Give one only to reproduce known credentials. */
  readonly salt?: Buffer;
}

/** The length of a SHA-256 output, and of SCRAM-SHA-256 keys, proofs and signatures. */
export const SHA256_BYTES = 32;

/**
 * Derives the SCRAM-SHA-256 credentials of a password, to store in place of the password.
 * The password is used as its UTF-8 bytes, without SASLprep (RFC 4013): clients must do the same,
 * which makes no difference for ASCII passwords.
 *
 * @example
 * ```ts
 * const alice = await createScramCredentials('correct horse', { iterations: 4096 });
 * ```
 * @throws RangeError when `iterations` is not a positive integer or `salt` is empty.
 */
export async function createScramCredentials(
  password: string,
  options: ScramCredentialOptions,
): Promise<ScramCredentials> {
  const { iterations } = options;
  if (!Number.isSafeInteger(iterations) || iterations < 1) {
    throw new RangeError(`iterations must be a positive integer, got ${iterations}`);
  }
  const salt = options.salt ?? randomBytes(16);
  if (salt.length === 0) throw new RangeError('the salt must not be empty');
  const salted = await saltedPassword(password, salt, iterations);
  return {
    salt: Buffer.from(salt),
    iterations,
    storedKey: sha256(hmac(salted, 'Client Key')),
    serverKey: hmac(salted, 'Server Key'),
  };
}

/** `Hi(password, salt, i)` of RFC 5802: PBKDF2 with HMAC-SHA-256. */
export function saltedPassword(
  password: string,
  salt: Buffer,
  iterations: number,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    pbkdf2(Buffer.from(password, 'utf8'), salt, iterations, SHA256_BYTES, 'sha256', (error, key) =>
      error === null ? resolve(key) : reject(error),
    );
  });
}

/** HMAC-SHA-256. */
export function hmac(key: Buffer, data: string | Buffer): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

/** SHA-256. */
export function sha256(data: Buffer): Buffer {
  return createHash('sha256').update(data).digest();
}

/** `a XOR b`, for buffers of the same length. */
export function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.allocUnsafe(a.length);
  for (let i = 0; i < a.length; i++) out[i] = (a[i] as number) ^ (b[i] as number);
  return out;
}
