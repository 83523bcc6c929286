import type { SessionKey } from '@mqtt-sessions/session-store';

/** The key prefix used when none is given. */
export const DEFAULT_SESSION_KEY_PREFIX = 'mqtt-sessions:sessions:';

/**
 * The Redis keys of one stored session. They all share one hash tag, `{<pool>:<clientId>}` with
 * both parts escaped (see {@link escapeKeyPart}), so Redis Cluster puts them in one slot and one
 * script can read or write them together.
 */
export interface SessionKeys {
  /** String: the encoded session record, Will included. Its presence is the session's. */
  readonly record: string;
  /** Hash: filter to encoded subscription. */
  readonly subscriptions: string;
  /** Sorted set: the seq of every stored message, scored by seq (the delivery order). */
  readonly order: string;
  /** Hash: seq to encoded message. */
  readonly messages: string;
  /** Set: incoming QoS 2 packet identifiers waiting for PUBREL. */
  readonly release: string;
}

/** Characters escaped in key parts: `%` (the escape), braces (hash tags), `:` and controls. */
const ESCAPED = /[%{}:\p{Cc}]/gu;
/** A UTF-16 surrogate without its partner: a string that has no UTF-8 form. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Escapes a pool name or client id for use inside a key: `%`, `{`, `}`, `:` and control
 * characters become `%XX` (their code in hex), everything else stays as it is. The result has no
 * brace, so it cannot open or close a hash tag, and no `:`, so `<pool>:<clientId>` is unambiguous.
 *
 * @throws TypeError for a string with a lone surrogate: it has no UTF-8 form, so two such ids
 *   would reach Redis as the same bytes. MQTT's UTF-8 strings never have one.
 */
export function escapeKeyPart(value: string): string {
  if (LONE_SURROGATE.test(value)) {
    throw new TypeError('a pool name or client id must be well-formed UTF-16 (no lone surrogate)');
  }
  return value.replace(
    ESCAPED,
    (char) => `%${char.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`,
  );
}

/**
 * The hash tag of a session, braces included: `{<pool>:<clientId>}`, both escaped. Never empty
 * inside the braces (it always holds the `:`), so Redis always hashes just the tag.
 */
export function sessionTag(key: SessionKey): string {
  return `{${escapeKeyPart(key.pool)}:${escapeKeyPart(key.clientId)}}`;
}

/** The keys of one session under a key prefix; see {@link SessionKeys}. */
export function sessionKeys(prefix: string, key: SessionKey): SessionKeys {
  const base = `${prefix}s:${sessionTag(key)}:`;
  return {
    record: `${base}rec`,
    subscriptions: `${base}subs`,
    order: `${base}order`,
    messages: `${base}msgs`,
    release: `${base}rel`,
  };
}

/**
 * The index of a pool's sessions: a sorted set of client ids, all with score 0, so that
 * `ZRANGEBYLEX` pages through them in byte order. It has no hash tag: on Redis Cluster each pool's
 * index is one key in one slot, apart from the sessions.
 */
export function poolIndexKey(prefix: string, pool: string): string {
  return `${prefix}pool:${escapeKeyPart(pool)}`;
}

/**
 * Checks a key prefix: it must not hold a brace, which could turn part of it into the hash tag
 * that Redis Cluster hashes instead of the session's, and put every key of the store in one slot.
 *
 * @throws TypeError for a prefix with `{` or `}`.
 */
export function checkKeyPrefix(prefix: string): string {
  if (prefix.includes('{') || prefix.includes('}')) {
    throw new TypeError(
      `the key prefix must not contain '{' or '}' (hash tags are the store's): ${prefix}`,
    );
  }
  return prefix;
}
