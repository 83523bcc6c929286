import { type MessageProperties, secondsLeft } from '@mqtt-sessions/protocol';
import type { AgeListItem } from './age-list.js';
import type { RetainedMessage } from './contract.js';
import type { ExpiryHeapItem } from './expiry-heap.js';

const NO_PROPERTIES: MessageProperties = Object.freeze({});

function isEmpty(properties: MessageProperties): boolean {
  for (const _ in properties) return false;
  return true;
}

/**
 * One retained message in the memory store, with the links that age and expire it. A fixed shape
 * (every field set in the constructor) keeps V8 on one hidden class for all entries.
 */
export class MemoryEntry implements ExpiryHeapItem, AgeListItem<MemoryEntry> {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: 0 | 1 | 2;
  /** Frozen, without `messageExpiryInterval`. */
  readonly properties: MessageProperties;
  readonly storedAt: number;
  /** Deadline in ms since the epoch; `Infinity` when the message never expires. */
  readonly expiresAt: number;
  /** The accounted size, see `estimateRetainedBytes`. */
  readonly bytes: number;
  heapIndex = -1;
  older: MemoryEntry | undefined = undefined;
  newer: MemoryEntry | undefined = undefined;
  /** The message handed out for an entry that never expires, built once and shared. */
  private readonly shared: RetainedMessage | undefined;

  constructor(
    topic: string,
    payload: Buffer,
    qos: 0 | 1 | 2,
    properties: MessageProperties,
    storedAt: number,
    expiresAt: number,
    bytes: number,
  ) {
    this.topic = topic;
    this.payload = payload;
    this.qos = qos;
    // Most retained messages have no properties: share one empty object instead of one each.
    this.properties = isEmpty(properties) ? NO_PROPERTIES : Object.freeze(properties);
    this.storedAt = storedAt;
    this.expiresAt = expiresAt;
    this.bytes = bytes;
    this.shared =
      expiresAt === Number.POSITIVE_INFINITY
        ? Object.freeze({ topic, payload, qos, properties: this.properties, storedAt })
        : undefined;
  }

  /** True when the entry has expired at `now` [MQTT-3.3.2-5]. */
  isExpired(now: number): boolean {
    return now >= this.expiresAt;
  }

  /**
   * The message as returned to callers. An expiring one is built per call, because its
   * `messageExpiryInterval` is the time left at `now` [MQTT-3.3.2-6].
   */
  toMessage(now: number): RetainedMessage {
    if (this.shared !== undefined) return this.shared;
    const properties: MessageProperties = Object.assign({}, this.properties);
    properties.messageExpiryInterval = secondsLeft(this.expiresAt, now);
    return {
      topic: this.topic,
      payload: this.payload,
      qos: this.qos,
      properties,
      storedAt: this.storedAt,
    };
  }
}
