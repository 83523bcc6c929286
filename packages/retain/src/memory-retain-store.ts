import { type Clock, systemTimers } from '@mqtt-sessions/protocol';
import { type TopicEntry, TopicIndex } from '@mqtt-sessions/topic-trie';
import { AgeList } from './age-list.js';
import { estimateRetainedBytes } from './byte-estimate.js';
import type {
  RetainCursor,
  RetainedMessage,
  RetainInput,
  RetainMatchOptions,
  RetainPage,
  RetainStore,
} from './contract.js';
import { expiryDeadline } from './expiry.js';
import { ExpiryHeap } from './expiry-heap.js';
import { claimMemoryCursor, MemoryCursor } from './memory-cursor.js';
import { MemoryEntry } from './memory-entry.js';
import { resolvePageLimit } from './page-limit.js';
import { copyBuffer, copyRetainedProperties } from './properties.js';

/** The default memory cap: 500 MiB, as in the original. */
export const DEFAULT_MAX_RETAINED_BYTES = 524_288_000;

/** Caps of a {@link MemoryRetainStore}, settable at creation and with `setLimits`. */
export interface MemoryRetainLimits {
  /** The most accounted bytes (see `estimateRetainedBytes`); default {@link DEFAULT_MAX_RETAINED_BYTES}. */
  maxBytes?: number;
  /** The most messages; default unlimited. */
  maxMessages?: number;
}

/** Options of {@link createMemoryRetainStore}. */
export interface MemoryRetainStoreOptions extends MemoryRetainLimits {
  /**
   * The lifetime in seconds of a message published without a Message Expiry Interval. Default
   * none: such a message never expires. (The original used 3600.)
   */
  defaultExpirySeconds?: number;
  /** The clock for `storedAt` and expiry; default `Date.now`. */
  clock?: Clock;
}

/** Counters of a {@link MemoryRetainStore}. */
export interface MemoryRetainStoreStats {
  /** Live messages. */
  readonly count: number;
  /** Accounted bytes of the live messages. */
  readonly bytes: number;
  /** Messages removed to stay under a cap, since creation. */
  readonly evictions: number;
  /** Messages removed because they expired, since creation. */
  readonly expired: number;
}

/**
 * A synchronous, in-memory {@link RetainStore}: a topic trie for wildcard lookups, a min-heap of
 * deadlines for expiry and an age list for eviction, so a set costs O(log n) and never scans.
 * Every method returns a plain value, never a Promise. When a cap is exceeded it removes expired
 * messages first, then the least recently stored or updated ones. A message bigger than
 * `maxBytes` on its own is not stored (its topic's old message is removed, as the publisher
 * replaced it) and counts as an eviction.
 */
export class MemoryRetainStore implements RetainStore {
  private readonly index = new TopicIndex<MemoryEntry>();
  private readonly deadlines = new ExpiryHeap<MemoryEntry>();
  private readonly ages = new AgeList<MemoryEntry>();
  private readonly clock: Clock;
  private readonly defaultExpirySeconds: number | undefined;
  private maxBytes = DEFAULT_MAX_RETAINED_BYTES;
  private maxMessages = Number.POSITIVE_INFINITY;
  private totalBytes = 0;
  private evictions = 0;
  private expired = 0;

  /** @param options Caps, default expiry and clock; all optional. */
  constructor(options: MemoryRetainStoreOptions = {}) {
    this.clock = options.clock ?? systemTimers;
    this.defaultExpirySeconds = options.defaultExpirySeconds;
    this.applyLimits(options);
  }

  /** Stores or, with an empty payload, deletes a topic's retained message [MQTT-3.3.1-5]. */
  set(message: RetainInput): void {
    const now = this.clock.now();
    this.sweep(now);
    const topic = message.topic;
    const previous = this.index.get(topic);
    // [MQTT-3.3.1-6] [MQTT-3.3.1-7] an empty payload removes the message and stores nothing.
    if (message.payload.length === 0) {
      if (previous !== undefined) this.remove(previous, true);
      return;
    }
    const deadline = expiryDeadline(message.properties, now, this.defaultExpirySeconds);
    const expiresAt = deadline ?? Number.POSITIVE_INFINITY;
    const properties = copyRetainedProperties(message.properties);
    const given = message.propertyBytes;
    const propertyBytes = given === undefined || given.length === 0 ? undefined : copyBuffer(given);
    const bytes =
      estimateRetainedBytes(topic, message.payload, properties) + (propertyBytes?.length ?? 0);
    if (expiresAt <= now || bytes > this.maxBytes) {
      // Expired on arrival (an interval of 0) or too big for the cap: not stored, but the
      // publisher still replaced the old message.
      if (previous !== undefined) this.remove(previous, true);
      if (expiresAt <= now) this.expired++;
      else this.evictions++;
      return;
    }
    const entry = new MemoryEntry(
      topic,
      copyBuffer(message.payload),
      message.qos,
      properties,
      propertyBytes,
      now,
      expiresAt,
      bytes,
    );
    if (previous !== undefined) this.remove(previous, false);
    this.index.set(topic, entry);
    this.ages.append(entry);
    if (deadline !== undefined) this.deadlines.push(entry);
    this.totalBytes += bytes;
    this.enforceLimits();
  }

  /** The live retained message of a topic, or `undefined`. */
  get(topic: string): RetainedMessage | undefined {
    const now = this.clock.now();
    this.sweep(now);
    return this.index.get(topic)?.toMessage(now);
  }

  /**
   * One page of the live messages the filter matches. The cursor is single-use and only valid
   * with this store and the same filter; anything else throws a `TypeError`.
   */
  match(filter: string, options: RetainMatchOptions = {}): RetainPage {
    const limit = resolvePageLimit(options.limit);
    const now = this.clock.now();
    this.sweep(now);
    let walk: Iterator<TopicEntry<MemoryEntry>>;
    let next: TopicEntry<MemoryEntry> | undefined;
    if (options.cursor === undefined || options.cursor === null) {
      walk = this.index.match(filter);
      next = nextOf(walk);
    } else {
      const cursor = claimMemoryCursor(options.cursor, this, filter);
      walk = cursor.walk;
      next = cursor.pending;
    }
    const messages: RetainedMessage[] = [];
    while (next !== undefined) {
      // The walk may have been paused across sets and deletes, and its entries are snapshots:
      // return what is stored under the topic now, if anything.
      const entry = this.index.get(next.topic);
      if (entry !== undefined) {
        if (messages.length === limit) break; // a live match after a full page: there is more
        messages.push(entry.toMessage(now));
      }
      next = nextOf(walk);
    }
    const cursor =
      next === undefined
        ? null
        : (new MemoryCursor(this, filter, walk, next) as unknown as RetainCursor);
    return { messages, cursor };
  }

  /** The number of live messages. */
  count(): number {
    this.sweep(this.clock.now());
    return this.index.size;
  }

  /** The accounted bytes of the live messages. */
  bytes(): number {
    this.sweep(this.clock.now());
    return this.totalBytes;
  }

  /** Counts of messages, bytes, evictions and expiries. */
  stats(): MemoryRetainStoreStats {
    this.sweep(this.clock.now());
    return {
      count: this.index.size,
      bytes: this.totalBytes,
      evictions: this.evictions,
      expired: this.expired,
    };
  }

  /**
   * Changes the caps and evicts at once to meet them.
   * @throws RangeError when a cap is not a positive number.
   */
  setLimits(limits: MemoryRetainLimits): void {
    this.applyLimits(limits);
    this.sweep(this.clock.now());
    this.enforceLimits();
  }

  /** Removes every message. The eviction and expiry counters keep counting. */
  clear(): void {
    this.index.clear();
    this.deadlines.clear();
    this.ages.clear();
    this.totalBytes = 0;
  }

  /** Drops every message; the store must not be used afterwards. */
  close(): void {
    this.clear();
  }

  /** Removes every message whose deadline has passed: a heap peek when none has. */
  private sweep(now: number): void {
    for (let entry = this.deadlines.peek(); entry !== undefined; entry = this.deadlines.peek()) {
      if (!entry.isExpired(now)) return;
      this.remove(entry, true);
      this.expired++;
    }
  }

  /** Evicts the oldest messages until both caps hold; expired ones went first in `sweep`. */
  private enforceLimits(): void {
    while (this.totalBytes > this.maxBytes || this.index.size > this.maxMessages) {
      const oldest = this.ages.oldest;
      if (oldest === undefined) return;
      this.remove(oldest, true);
      this.evictions++;
    }
  }

  /** Unlinks an entry; `fromIndex` is false when a new entry takes its trie slot. */
  private remove(entry: MemoryEntry, fromIndex: boolean): void {
    if (fromIndex) this.index.delete(entry.topic);
    this.ages.remove(entry);
    this.deadlines.remove(entry);
    this.totalBytes -= entry.bytes;
  }

  private applyLimits(limits: MemoryRetainLimits): void {
    if (limits.maxBytes !== undefined) this.maxBytes = positive('maxBytes', limits.maxBytes);
    if (limits.maxMessages !== undefined) {
      this.maxMessages = positive('maxMessages', limits.maxMessages);
    }
  }
}

/**
 * Creates a synchronous in-memory {@link RetainStore}.
 *
 * @param options Caps (`maxBytes` default 500 MiB, `maxMessages` default unlimited), the default
 *   expiry for messages without one (default none) and the clock (default `Date.now`).
 */
export function createMemoryRetainStore(options: MemoryRetainStoreOptions = {}): MemoryRetainStore {
  return new MemoryRetainStore(options);
}

function nextOf(walk: Iterator<TopicEntry<MemoryEntry>>): TopicEntry<MemoryEntry> | undefined {
  const step = walk.next();
  return step.done === true ? undefined : step.value;
}

function positive(name: string, value: number): number {
  if (!(value > 0)) throw new RangeError(`${name} must be a positive number, got ${String(value)}`);
  return value;
}
