/** The key prefix used when none is given. */
export const DEFAULT_RETAIN_KEY_PREFIX = 'mqtt-sessions:retain:';

/**
 * The Redis keys of one store. Every key starts with the store's prefix, so stores with different
 * prefixes share a Redis server without seeing each other's messages.
 */
export interface RetainKeys {
  /** Sorted set of every stored topic, all with score 0, so `ZRANGEBYLEX` walks topics in byte order. */
  readonly topics: string;
  /** Sorted set of the topics that expire, scored by their deadline in ms since the epoch. */
  readonly expiry: string;
  /** Hash from topic to its accounted bytes, kept apart so a vanished message can be uncounted. */
  readonly sizes: string;
  /** String counter: the sum of `sizes`. */
  readonly bytes: string;
  /** Prefix of the message hashes: the message of topic `t` is at `messages + t`. */
  readonly messages: string;
}

/** The key layout for a prefix; see {@link RetainKeys}. */
export function retainKeys(prefix: string): RetainKeys {
  return {
    topics: `${prefix}topics`,
    expiry: `${prefix}expiry`,
    sizes: `${prefix}sizes`,
    bytes: `${prefix}bytes`,
    messages: `${prefix}msg:`,
  };
}
