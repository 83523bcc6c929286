import { type Clock, systemTimers } from '@mqtt-sessions/protocol';
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
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { decodeMessage, encodeProperties } from './codec.js';
import { cursorPosition, RedisRetainCursor } from './cursor.js';
import { type FilterPlan, lexRanges, matchesPlan, planFilter } from './filter-plan.js';
import { DEFAULT_RETAIN_KEY_PREFIX, type RetainKeys, retainKeys } from './keys.js';
import { runScript } from './run-script.js';
import {
  CLEAR_SCRIPT,
  DELETE_SCRIPT,
  FETCH_SCRIPT,
  type LuaScript,
  PRUNE_BATCH,
  SET_SCRIPT,
  STATS_SCRIPT,
} from './scripts.js';

/** Options shared by both ways to connect. */
export interface RedisRetainStoreCommonOptions {
  /**
   * Prefix of every key this store uses, so several pools or brokers can share one Redis.
   * Default {@link DEFAULT_RETAIN_KEY_PREFIX}.
   */
  keyPrefix?: string;
  /**
   * The lifetime in seconds of a message published without a Message Expiry Interval. Default
   * none: such a message never expires.
   */
  defaultExpirySeconds?: number;
  /** The clock for `storedAt` and expiry; default `Date.now`. */
  clock?: Clock;
}

/**
 * Options of {@link createRedisRetainStore}: an ioredis client the caller owns (and closes), or a
 * `redis://` URL for a client the store creates and closes.
 */
export type RedisRetainStoreOptions = RedisRetainStoreCommonOptions &
  (
    | { client: Redis | Cluster; url?: never; cluster?: never; redisOptions?: never }
    | {
        url: string;
        /**
         * Options of the ioredis client the store creates, such as `commandTimeout`, so that a
         * Redis that stops answering fails calls instead of holding them.
         */
        redisOptions?: RedisOptions;
        client?: never;
        cluster?: never;
      }
    | {
        /**
         * Seed nodes of a Redis Cluster, e.g. `['127.0.0.1:7000']`. The key prefix must then hold
         * a hash tag (`mqtt-sessions:{retain}:`), so that every key of the store is in one slot.
         */
        cluster: readonly (string | { host: string; port: number })[];
        redisOptions?: RedisOptions;
        client?: never;
        url?: never;
      }
  );

/** Topics read from the index per round trip while a match looks for its page. */
const SCAN_BATCH = 256;
/** The most topics one fetch script reads. */
const FETCH_BATCH = 256;

/**
 * A {@link RetainStore} on a Redis server, through ioredis. Every method returns a Promise.
 * Each message is a hash whose key expires in Redis (PX); a sorted set of topics answers
 * wildcard filters by a lex range over their literal prefix; a sorted set of deadlines lets every
 * call prune expired topics on the store clock, and reads drop index entries whose key Redis
 * removed. Sets and deletes are single Lua scripts, so they are atomic. Pages come in byte order
 * of topic, and a cursor is the last topic of its page.
 */
export class RedisRetainStore implements RetainStore {
  /** The ioredis client in use: a Redis server's, or a Redis Cluster's. */
  readonly client: Redis | Cluster;
  /** The prefix of every key this store uses. */
  readonly keyPrefix: string;
  private readonly keys: RetainKeys;
  private readonly indexKeys: readonly string[];
  private readonly ownsClient: boolean;
  private readonly clock: Clock;
  private readonly defaultExpirySeconds: number | undefined;
  private closed = false;

  /**
   * @param options A client or URL, plus key prefix, default expiry and clock.
   * @throws TypeError when the client has ioredis's own `keyPrefix` set: the scripts build
   *   message keys themselves, so use this store's `keyPrefix` instead.
   */
  constructor(options: RedisRetainStoreOptions) {
    if (options.client !== undefined) {
      const clientOptions =
        options.client instanceof Cluster
          ? options.client.options.redisOptions
          : options.client.options;
      if (clientOptions?.keyPrefix) {
        throw new TypeError("use the store's keyPrefix option, not the ioredis client's keyPrefix");
      }
      this.client = options.client;
      this.ownsClient = false;
    } else {
      if (options.redisOptions?.keyPrefix) {
        throw new TypeError("use the store's keyPrefix option, not the ioredis client's keyPrefix");
      }
      this.client =
        options.cluster !== undefined
          ? new Cluster([...options.cluster], { redisOptions: options.redisOptions ?? {} })
          : new Redis(options.url, options.redisOptions ?? {});
      this.ownsClient = true;
    }
    this.keyPrefix = options.keyPrefix ?? DEFAULT_RETAIN_KEY_PREFIX;
    // The scripts build message keys from the prefix: on a Cluster, one hash tag keeps them all
    // in the slot of the index keys.
    if (this.client instanceof Cluster && !/\{[^{}]+\}/.test(this.keyPrefix)) {
      throw new TypeError(
        `on a Redis Cluster the key prefix must hold a hash tag, such as "mqtt-sessions:{retain}:": ${this.keyPrefix}`,
      );
    }
    this.keys = retainKeys(this.keyPrefix);
    this.indexKeys = [this.keys.topics, this.keys.expiry, this.keys.sizes, this.keys.bytes];
    this.clock = options.clock ?? systemTimers;
    this.defaultExpirySeconds = options.defaultExpirySeconds;
  }

  /** Stores or, with an empty payload, deletes a topic's retained message [MQTT-3.3.1-5]. */
  async set(message: RetainInput): Promise<void> {
    const now = this.clock.now();
    const topic = message.topic;
    const deadline = expiryDeadline(message.properties, now, this.defaultExpirySeconds);
    // [MQTT-3.3.1-6] [MQTT-3.3.1-7] an empty payload (or one expired on arrival) stores nothing.
    if (message.payload.length === 0 || (deadline !== undefined && deadline <= now)) {
      await this.run(DELETE_SCRIPT, now, [topic]);
      return;
    }
    const properties = copyRetainedProperties(message.properties);
    const propertyBytes = message.propertyBytes ?? EMPTY;
    await this.run(SET_SCRIPT, now, [
      topic,
      message.payload,
      message.qos,
      now,
      deadline === undefined ? '' : deadline,
      encodeProperties(properties),
      estimateRetainedBytes(topic, message.payload, properties) + propertyBytes.length,
      deadline === undefined ? '' : Math.ceil(deadline - now),
      propertyBytes,
    ]);
  }

  /** The live retained message of a topic, or `undefined`. */
  async get(topic: string): Promise<RetainedMessage | undefined> {
    const now = this.clock.now();
    const found: RetainedMessage[] = [];
    await this.fetchInto([topic], now, found, 1);
    return found[0];
  }

  /**
   * One page of the live messages the filter matches, in byte order of topic. The cursor may be
   * reused; one from another filter or key prefix is refused with a `TypeError`.
   */
  async match(filter: string, options: RetainMatchOptions = {}): Promise<RetainPage> {
    const limit = resolvePageLimit(options.limit);
    const after = cursorPosition(options.cursor, this.keyPrefix, filter);
    const plan = planFilter(filter);
    const now = this.clock.now();
    if (plan.exact) {
      const messages: RetainedMessage[] = [];
      if (after === undefined) await this.fetchInto([filter], now, messages, 1);
      return { messages, cursor: null };
    }
    // One match more than the page holds tells whether there is a next page.
    const found: RetainedMessage[] = [];
    await this.scan(plan, after, now, found, limit + 1);
    if (found.length <= limit) return { messages: found, cursor: null };
    found.length = limit;
    const last = found[limit - 1] as RetainedMessage;
    const cursor = new RedisRetainCursor(this.keyPrefix, filter, last.topic);
    return { messages: found, cursor: cursor as unknown as RetainCursor };
  }

  /** The number of live messages, after pruning those expired on the store clock. */
  async count(): Promise<number> {
    return (await this.stats())[0];
  }

  /** The accounted bytes of the live messages; see `estimateRetainedBytes`. */
  async bytes(): Promise<number> {
    return (await this.stats())[1];
  }

  /** Deletes every message and index key of this store's key prefix, in batches. */
  async clear(): Promise<void> {
    const now = this.clock.now();
    while ((await this.run(CLEAR_SCRIPT, now, [])) !== 0) {
      // Each round deletes a batch, so one huge store does not block Redis for long.
    }
  }

  /** Quits the client if the store created it from a URL; a client passed in is left open. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsClient) await this.client.quit();
  }

  /** Walks the lex ranges of a wildcard filter until `wanted` live matches are found. */
  private async scan(
    plan: FilterPlan,
    after: string | undefined,
    now: number,
    found: RetainedMessage[],
    wanted: number,
  ): Promise<void> {
    for (const range of lexRanges(plan, after)) {
      let min = range.min;
      for (;;) {
        const batch = await this.client.zrangebylex(
          this.keys.topics,
          min,
          range.max,
          'LIMIT',
          0,
          SCAN_BATCH,
        );
        const candidates: string[] = [];
        for (let i = 0; i < batch.length; i++) {
          const topic = batch[i] as string;
          if (matchesPlan(plan, topic)) candidates.push(topic);
        }
        await this.fetchInto(candidates, now, found, wanted);
        if (found.length >= wanted) return;
        if (batch.length < SCAN_BATCH) break;
        min = `(${batch[batch.length - 1]}`;
      }
    }
  }

  /**
   * Reads the live messages of some topics, in order, into `found` until it holds `wanted`. Only as
   * many topics are read per round trip as are still wanted, so a small page reads few payloads.
   */
  private async fetchInto(
    topics: readonly string[],
    now: number,
    found: RetainedMessage[],
    wanted: number,
  ): Promise<void> {
    let index = 0;
    while (index < topics.length && found.length < wanted) {
      const take = Math.min(topics.length - index, wanted - found.length, FETCH_BATCH);
      const chunk = topics.slice(index, index + take);
      index += take;
      const replies = (await this.run(FETCH_SCRIPT, now, chunk)) as (Buffer[] | number)[];
      for (let i = 0; i < replies.length; i++) {
        const reply = replies[i] as Buffer[] | number;
        if (typeof reply !== 'number') found.push(decodeMessage(chunk[i] as string, reply, now));
      }
    }
  }

  /** Prunes expired topics (a batch at a time) and returns [count, bytes]. */
  private async stats(): Promise<[number, number]> {
    const now = this.clock.now();
    for (;;) {
      const [pruned, count, bytes] = (await this.run(STATS_SCRIPT, now, [])) as number[];
      if (pruned !== PRUNE_BATCH) return [count as number, bytes as number];
    }
  }

  private run(
    script: LuaScript,
    now: number,
    args: readonly (string | Buffer | number)[],
  ): Promise<unknown> {
    return runScript(this.client, script, this.indexKeys, [this.keys.messages, now, ...args]);
  }
}

/**
 * Creates a {@link RetainStore} on Redis.
 *
 * @param options `client` (an ioredis client you own) or `url` (the store creates the client and
 *   quits it on `close`); `keyPrefix` (default {@link DEFAULT_RETAIN_KEY_PREFIX});
 *   `defaultExpirySeconds` (default none); `clock` (default `Date.now`).
 */
export function createRedisRetainStore(options: RedisRetainStoreOptions): RedisRetainStore {
  return new RedisRetainStore(options);
}

const EMPTY = Buffer.alloc(0);
