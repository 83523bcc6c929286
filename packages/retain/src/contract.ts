/**
 * The retained-message port. The session core talks to a retained store only through these types,
 * so it can import them with `import type` and never load a backend at runtime.
 */
import type { MaybePromise, MessageProperties, QoS } from '@mqtt-sessions/protocol';

/** A message to retain, as taken from a PUBLISH with the RETAIN flag set. */
export interface RetainInput {
  /** The concrete topic name (no wildcards); callers have validated it. */
  topic: string;
  /** The payload; an empty one deletes the topic's retained message [MQTT-3.3.1-6]. */
  payload: Buffer;
  /** The QoS the message was published with. */
  qos: QoS;
  /** The PUBLISH properties; only the {@link MessageProperties} fields are stored. */
  properties?: MessageProperties;
  /**
   * The same properties (less the Message Expiry Interval) as the publisher encoded them, when
   * known. A store keeps them as given and returns them, so that a retained message is forwarded
   * byte for byte and its User Properties keep their order [MQTT-3.3.2-18].
   */
  propertyBytes?: Buffer | undefined;
}

/** A retained message as a store returns it. Treat it as immutable: stores may share it. */
export interface RetainedMessage {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: QoS;
  /** The stored properties; `messageExpiryInterval`, if any, is the time left [MQTT-3.3.2-6]. */
  readonly properties: MessageProperties;
  /** The encoded properties given to `set`, if any. */
  readonly propertyBytes?: Buffer | undefined;
  /** ms since epoch, store clock */
  readonly storedAt: number;
}

declare const cursorBrand: unique symbol;

/**
 * Where a paged {@link RetainStore.match} stopped. Opaque and store-specific: pass it back to the
 * store that made it, with the same filter, to get the next page.
 */
export type RetainCursor = { readonly [cursorBrand]: true };

/** One page of a {@link RetainStore.match}. */
export interface RetainPage {
  /** At most `limit` messages, none expired, in a store-specific order. */
  readonly messages: RetainedMessage[];
  /** The cursor for the next page, or `null` when there are no more matches. */
  readonly cursor: RetainCursor | null;
}

/** Options of {@link RetainStore.match}. */
export interface RetainMatchOptions {
  /** The cursor of the previous page; absent or `null` starts at the first page. */
  cursor?: RetainCursor | null;
  /**
   * The most messages in one page: a positive integer, default {@link DEFAULT_RETAIN_PAGE_LIMIT}.
   * Anything else is a programmer error and throws (or rejects with) a `RangeError`.
   */
  limit?: number;
}

/**
 * A store of retained messages, one per topic [MQTT-3.3.1-5]. Every method may answer
 * synchronously or with a Promise; callers must handle both. The conformance kit
 * `@mqtt-sessions/retain/testkit` pins the behaviour every implementation must share.
 */
export interface RetainStore {
  /**
   * Stores a message as its topic's retained message, replacing any earlier one [MQTT-3.3.1-5].
   * An empty payload deletes the topic's message instead and stores nothing
   * [MQTT-3.3.1-6], [MQTT-3.3.1-7].
   */
  set(message: RetainInput): MaybePromise<void>;
  /** The live retained message of a topic, or `undefined` (also once it has expired [MQTT-3.3.2-5]). */
  get(topic: string): MaybePromise<RetainedMessage | undefined>;
  /**
   * One page of the live retained messages whose topic the filter matches [MQTT-3.3.1-9]. `+`
   * matches one level, `#` the parent level and every level below, and a filter starting with a
   * wildcard matches no topic starting with `$` [MQTT-4.7.2-1]. Callers validate the filter, but
   * no string makes a store throw. Paging through all pages returns every message that stayed
   * unchanged meanwhile exactly once; the last page has a `null` cursor.
   */
  match(filter: string, options?: RetainMatchOptions): MaybePromise<RetainPage>;
  /** The number of live retained messages. */
  count(): MaybePromise<number>;
  /** The estimated bytes the live retained messages take; see `estimateRetainedBytes`. */
  bytes(): MaybePromise<number>;
  /** Removes every retained message of this store. */
  clear(): MaybePromise<void>;
  /** Releases the store's resources. Idempotent; the store must not be used afterwards. */
  close(): MaybePromise<void>;
}

/** The default page size of {@link RetainStore.match}: 100 messages. */
export const DEFAULT_RETAIN_PAGE_LIMIT = 100;
