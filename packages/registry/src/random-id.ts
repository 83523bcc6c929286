import { randomFillSync } from 'node:crypto';

/** The 62 characters of generated ids, in the order of the original: `a-z`, `A-Z`, `0-9`. */
export const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** The number of random characters in a generated client id or routing id. */
export const GENERATED_ID_LENGTH = 20;

/** The prefix that marks a routing id. */
export const ROUTING_ID_PREFIX = 'r:';

// 248 is the largest multiple of 62 that fits in a byte. Bytes of 248 and above are thrown away, so
// `byte % 62` gives every character the same chance (no modulo bias); 3% of bytes are rejected.
const ACCEPT_BELOW = 248;

// Random bytes come from a pooled buffer refilled from node:crypto 4 KiB at a time: one
// randomBytes call per id cost about 15 us and made a connection storm CPU bound on it.
const pool = Buffer.allocUnsafe(4096);
let poolOffset = pool.length;

function randomByte(): number {
  if (poolOffset === pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  return pool[poolOffset++] as number;
}

const ALPHABET_CODES = Buffer.from(ID_ALPHABET, 'latin1');

/** `prefix` and `length` random characters, built in one buffer: one flat string, not a chain. */
function randomChars(length: number, prefix = ''): string {
  const chars = Buffer.allocUnsafe(prefix.length + length);
  let filled = chars.write(prefix, 'latin1');
  while (filled < chars.length) {
    const byte = randomByte();
    if (byte < ACCEPT_BELOW) chars[filled++] = ALPHABET_CODES[byte % ID_ALPHABET.length] as number;
  }
  return chars.toString('latin1');
}

/**
 * A new random client identifier: 20 characters of `[a-zA-Z0-9]` (about 119 bits) from
 * `node:crypto`. The server assigns one to a client that connects with an empty client id
 * [MQTT-3.1.3-6]; it is within the 1-23 characters every server accepts [MQTT-3.1.3-5].
 */
export function createClientId(): string {
  return randomChars(GENERATED_ID_LENGTH);
}

/**
 * A new random routing id: `r:` followed by 20 characters of `[a-zA-Z0-9]`, 22 characters in all.
 * Every session gets one; runtimes can use it to address the session without revealing its
 * client id.
 */
export function createRoutingId(): string {
  // Every session holds one: a concatenation would keep two strings (about 30 bytes more).
  return randomChars(GENERATED_ID_LENGTH, ROUTING_ID_PREFIX);
}
