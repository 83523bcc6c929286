import { randomBytes } from 'node:crypto';

/** The 62 characters of generated ids, in the order of the original: `a-z`, `A-Z`, `0-9`. */
export const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** The number of random characters in a generated client id or routing id. */
export const GENERATED_ID_LENGTH = 20;

/** The prefix that marks a routing id. */
export const ROUTING_ID_PREFIX = 'r:';

// 248 is the largest multiple of 62 that fits in a byte. Bytes of 248 and above are thrown away, so
// `byte % 62` gives every character the same chance (no modulo bias); 3% of bytes are rejected.
const ACCEPT_BELOW = 248;

function randomChars(length: number): string {
  let id = '';
  while (id.length < length) {
    // A few spare bytes make a second round rare.
    const bytes = randomBytes(length - id.length + 4);
    for (let i = 0; i < bytes.length && id.length < length; i++) {
      const byte = bytes[i]!;
      if (byte < ACCEPT_BELOW) id += ID_ALPHABET[byte % ID_ALPHABET.length];
    }
  }
  return id;
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
  return ROUTING_ID_PREFIX + randomChars(GENERATED_ID_LENGTH);
}
