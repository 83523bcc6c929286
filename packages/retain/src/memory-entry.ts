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
  /** The encoded properties as the publisher sent them, if known. */
  readonly propertyBytes: Buffer | undefined;
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
    propertyBytes: Buffer | undefined,
    storedAt: number,
    expiresAt: number,
    bytes: number,
  ) {
    this.topic = topic;
    this.payload = payload;
    this.qos = qos;
    // Most retained messages have no properties: share one empty object instead of one each.
    this.properties = isEmpty(properties) ? NO_PROPERTIES : Object.freeze(properties);
    this.propertyBytes = propertyBytes;
    this.storedAt = storedAt;
    this.expiresAt = expiresAt;
    this.bytes = bytes;
    this.shared =
      expiresAt === Number.POSITIVE_INFINITY
        ? Object.freeze(this.message(this.properties))
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
    return this.message(properties);
  }

  private message(properties: MessageProperties): RetainedMessage {
    const { topic, payload, qos, storedAt, propertyBytes } = this;
    return propertyBytes === undefined
      ? { topic, payload, qos, properties, storedAt }
      : { topic, payload, qos, properties, propertyBytes, storedAt };
  }
}
