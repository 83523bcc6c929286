import {
  type Clock,
  type MessageProperties,
  type QoS,
  secondsLeft,
  systemTimers,
} from '@mqtt-sessions/protocol';
import {
  copyRetainedProperties,
  estimateRetainedBytes,
  expiryDeadline,
  type RetainCursor,
  type RetainedMessage,
  type RetainInput,
  type RetainMatchOptions,
  type RetainPage,
  type RetainStore,
  resolvePageLimit,
} from '@mqtt-sessions/retain';
import { type TopicEntry, TopicIndex } from '@mqtt-sessions/topic-trie';
import type Database from 'better-sqlite3';
import { decodeProperties, encodeProperties } from './properties.js';
import type { StoreHost } from './session-store.js';

/** Options of the retained store of `openSqliteStore`. */
export interface SqliteRetainOptions {
  /**
   * The lifetime in seconds of a message published without a Message Expiry Interval. Default
   * none: such a message never expires.
   */
  defaultExpirySeconds?: number;
}

/** What the index keeps of a stored topic, so that accounting and expiry need no query. */
interface Slot {
  /** The accounted size, see `estimateRetainedBytes`. */
  readonly bytes: number;
  /** Deadline in ms since the epoch; `Infinity` when the message never expires. */
  readonly expiresAt: number;
}

interface MessageRow {
  payload: Buffer;
  qos: number;
  stored_at: number;
  expires_at: number | null;
  properties: string | null;
  property_bytes: Buffer | null;
}

/**
 * The cursor of a paged `match`: the paused walk of the topic index, and the next match it found
 * while checking whether another page exists. Single-use, as the memory store's.
 */
class SqliteRetainCursor {
  readonly owner: object;
  readonly filter: string;
  readonly walk: Iterator<TopicEntry<Slot>>;
  readonly pending: TopicEntry<Slot>;
  spent = false;

  constructor(
    owner: object,
    filter: string,
    walk: Iterator<TopicEntry<Slot>>,
    pending: TopicEntry<Slot>,
  ) {
    this.owner = owner;
    this.filter = filter;
    this.walk = walk;
    this.pending = pending;
  }
}

/**
 * A {@link RetainStore} in a SQLite database (see `openSqliteStore`). Messages live in the
 * `retained` table; their topics, with each one's size and deadline, also live in a topic-trie
 * `TopicIndex` in memory, loaded when the store opens. A filter is walked through the index, as
 * the memory store does, so it visits only topics that can match (`a/+/c` never reads `b/...`),
 * and then each match's row is read by its primary key. Count and bytes are kept in memory.
 * Every method answers synchronously; each `set` is one transaction. Expired messages are
 * deleted on the store clock by the first call at or after the earliest deadline.
 */
export class SqliteRetainStore implements RetainStore {
  private readonly host: StoreHost;
  private readonly clock: Clock;
  private readonly defaultExpirySeconds: number | undefined;
  private readonly index = new TopicIndex<Slot>();
  private readonly statements: ReturnType<typeof prepare>;
  private readonly sweepExpired: (now: number) => { topic: string }[];
  private totalBytes = 0;
  /** No message expires before this time (ms); a sweep before it has nothing to do. */
  private nextDeadline = Number.POSITIVE_INFINITY;
  private closed = false;

  /** @internal Made by `openSqliteStore`. */
  constructor(host: StoreHost, clock: Clock = systemTimers, options: SqliteRetainOptions = {}) {
    this.host = host;
    this.clock = clock;
    this.defaultExpirySeconds = options.defaultExpirySeconds;
    const s = prepare(host.db);
    this.statements = s;
    this.sweepExpired = host.db.transaction((now: number) => {
      const expired = s.expired.all(now) as { topic: string }[];
      s.deleteExpired.run(now);
      return expired;
    });
    for (const row of s.slots.iterate() as IterableIterator<{
      topic: string;
      bytes: number;
      expires_at: number | null;
    }>) {
      const expiresAt = row.expires_at ?? Number.POSITIVE_INFINITY;
      this.index.set(row.topic, { bytes: row.bytes, expiresAt });
      this.totalBytes += row.bytes;
      if (expiresAt < this.nextDeadline) this.nextDeadline = expiresAt;
    }
  }

  /** Stores or, with an empty payload, deletes a topic's retained message [MQTT-3.3.1-5]. */
  set(message: RetainInput): void {
    this.check();
    const now = this.clock.now();
    this.sweep(now);
    const topic = message.topic;
    const previous = this.index.get(topic);
    const deadline = expiryDeadline(message.properties, now, this.defaultExpirySeconds);
    // [MQTT-3.3.1-6] [MQTT-3.3.1-7] an empty payload (or one expired on arrival) stores nothing,
    // and removes the topic's message.
    if (message.payload.length === 0 || (deadline !== undefined && deadline <= now)) {
      if (previous !== undefined) {
        this.statements.delete.run(topic);
        this.index.delete(topic);
        this.totalBytes -= previous.bytes;
      }
      return;
    }
    const properties = copyRetainedProperties(message.properties);
    const given = message.propertyBytes;
    const propertyBytes = given === undefined || given.length === 0 ? null : given;
    const bytes =
      estimateRetainedBytes(topic, message.payload, properties) + (propertyBytes?.length ?? 0);
    this.statements.upsert.run(
      topic,
      message.payload,
      message.qos,
      now,
      deadline ?? null,
      encodeProperties(properties),
      propertyBytes,
      bytes,
    );
    const expiresAt = deadline ?? Number.POSITIVE_INFINITY;
    this.index.set(topic, { bytes, expiresAt });
    this.totalBytes += bytes - (previous?.bytes ?? 0);
    if (expiresAt < this.nextDeadline) this.nextDeadline = expiresAt;
  }

  /** The live retained message of a topic, or `undefined`. */
  get(topic: string): RetainedMessage | undefined {
    this.check();
    const now = this.clock.now();
    this.sweep(now);
    return this.index.has(topic) ? this.read(topic, now) : undefined;
  }

  /**
   * One page of the live messages the filter matches, in the index's order. The cursor is
   * single-use and only valid with this store and the same filter; anything else throws a
   * `TypeError`.
   */
  match(filter: string, options: RetainMatchOptions = {}): RetainPage {
    this.check();
    const limit = resolvePageLimit(options.limit);
    const now = this.clock.now();
    this.sweep(now);
    let walk: Iterator<TopicEntry<Slot>>;
    let next: TopicEntry<Slot> | undefined;
    if (options.cursor === undefined || options.cursor === null) {
      walk = this.index.match(filter);
      next = nextOf(walk);
    } else {
      const cursor = this.claim(options.cursor, filter);
      walk = cursor.walk;
      next = cursor.pending;
    }
    const messages: RetainedMessage[] = [];
    while (next !== undefined) {
      // A paused walk may yield topics deleted since: read what is stored now, if anything.
      if (this.index.has(next.topic)) {
        if (messages.length === limit) break; // a live match after a full page: there is more
        const message = this.read(next.topic, now);
        if (message !== undefined) messages.push(message);
      }
      next = nextOf(walk);
    }
    const cursor =
      next === undefined
        ? null
        : (new SqliteRetainCursor(this, filter, walk, next) as unknown as RetainCursor);
    return { messages, cursor };
  }

  /** The number of live messages. */
  count(): number {
    this.check();
    this.sweep(this.clock.now());
    return this.index.size;
  }

  /** The accounted bytes of the live messages; see `estimateRetainedBytes`. */
  bytes(): number {
    this.check();
    this.sweep(this.clock.now());
    return this.totalBytes;
  }

  /** Deletes every retained message. */
  clear(): void {
    this.check();
    this.statements.clear.run();
    this.index.clear();
    this.totalBytes = 0;
    this.nextDeadline = Number.POSITIVE_INFINITY;
  }

  /**
   * Closes this store, keeping its messages in the file; the database closes once the session
   * store is closed too. Idempotent.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.index.clear();
    this.host.release();
  }

  private check(): void {
    if (this.closed) throw new Error('the retained store is closed');
  }

  /** Deletes the messages whose deadline has passed, if any can have. */
  private sweep(now: number): void {
    if (now < this.nextDeadline) return;
    for (const { topic } of this.sweepExpired(now)) {
      const slot = this.index.get(topic);
      if (slot === undefined) continue;
      this.index.delete(topic);
      this.totalBytes -= slot.bytes;
    }
    const next = this.statements.nextDeadline.pluck().get() as number | null;
    this.nextDeadline = next ?? Number.POSITIVE_INFINITY;
  }

  private read(topic: string, now: number): RetainedMessage | undefined {
    const row = this.statements.get.get(topic) as MessageRow | undefined;
    if (row === undefined) return undefined;
    const properties: MessageProperties = decodeProperties(row.properties);
    if (row.expires_at !== null) {
      properties.messageExpiryInterval = secondsLeft(row.expires_at, now);
    }
    const message = {
      topic,
      payload: row.payload,
      qos: row.qos as QoS,
      properties,
      storedAt: row.stored_at,
    };
    return row.property_bytes === null
      ? message
      : { ...message, propertyBytes: row.property_bytes };
  }

  private claim(cursor: unknown, filter: string): SqliteRetainCursor {
    if (!(cursor instanceof SqliteRetainCursor) || cursor.owner !== this) {
      throw new TypeError('retain cursor was not made by this store');
    }
    if (cursor.filter !== filter) {
      throw new TypeError('retain cursor belongs to a match with another filter');
    }
    if (cursor.spent) throw new TypeError('retain cursor was already used for a page');
    cursor.spent = true;
    return cursor;
  }
}

function prepare(db: Database.Database) {
  return {
    slots: db.prepare('SELECT topic, bytes, expires_at FROM retained'),
    get: db.prepare(
      'SELECT payload, qos, stored_at, expires_at, properties, property_bytes FROM retained WHERE topic = ?',
    ),
    upsert: db.prepare(
      `INSERT INTO retained (topic, payload, qos, stored_at, expires_at, properties,
         property_bytes, bytes)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (topic) DO UPDATE SET
         payload = excluded.payload,
         qos = excluded.qos,
         stored_at = excluded.stored_at,
         expires_at = excluded.expires_at,
         properties = excluded.properties,
         property_bytes = excluded.property_bytes,
         bytes = excluded.bytes`,
    ),
    delete: db.prepare('DELETE FROM retained WHERE topic = ?'),
    clear: db.prepare('DELETE FROM retained'),
    expired: db.prepare(
      'SELECT topic FROM retained WHERE expires_at IS NOT NULL AND expires_at <= ?',
    ),
    deleteExpired: db.prepare(
      'DELETE FROM retained WHERE expires_at IS NOT NULL AND expires_at <= ?',
    ),
    nextDeadline: db.prepare('SELECT min(expires_at) FROM retained WHERE expires_at IS NOT NULL'),
  };
}

function nextOf(walk: Iterator<TopicEntry<Slot>>): TopicEntry<Slot> | undefined {
  const step = walk.next();
  return step.done === true ? undefined : step.value;
}
