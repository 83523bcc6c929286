import type {
  SessionChange,
  SessionKey,
  SessionOutline,
  SessionPage,
  SessionState,
  SessionStore,
  StoredMessage,
  StoredSubscription,
} from '@mqtt-sessions/session-store';
import { Cluster, type ClusterNode, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
import {
  decodeMessage,
  decodeSession,
  decodeSubscription,
  encodeMessage,
  encodeSession,
  encodeSubscription,
} from './codec.js';
import {
  checkKeyPrefix,
  DEFAULT_SESSION_KEY_PREFIX,
  poolIndexKey,
  type SessionKeys,
  sessionKeys,
  sessionTag,
} from './keys.js';
import { type RedisClient, runScript } from './run-script.js';
import { APPLY_SCRIPT, LOAD_SCRIPT, OP, OUTLINE_SCRIPT } from './scripts.js';

/** Options shared by every way to connect. */
export interface RedisSessionStoreCommonOptions {
  /**
   * Prefix of every key this store uses, so several stores (brokers, clusters, tests) can share
   * one Redis. It must not contain `{` or `}`. Default {@link DEFAULT_SESSION_KEY_PREFIX}.
   */
  keyPrefix?: string;
}

/**
 * Options of {@link createRedisSessionStore}: an ioredis `Redis` or `Cluster` the caller owns
 * (and closes); or a `redis://` URL, or the seed nodes of a Redis Cluster, for a client the store
 * creates and closes.
 */
export type RedisSessionStoreOptions = RedisSessionStoreCommonOptions &
  (
    | { client: RedisClient; url?: never; cluster?: never; clusterOptions?: never }
    | {
        url: string;
        /**
         * Options of the ioredis client the store creates, such as `commandTimeout`, so that a
         * Redis that stops answering fails writes instead of holding them.
         */
        redisOptions?: RedisOptions;
        client?: never;
        cluster?: never;
        clusterOptions?: never;
      }
    | {
        /** Seed nodes of a Redis Cluster, e.g. `['127.0.0.1:7000', '127.0.0.1:7001']`. */
        cluster: readonly ClusterNode[];
        /** Options of the ioredis `Cluster` the store creates. */
        clusterOptions?: ClusterOptions;
        client?: never;
        url?: never;
      }
  );

type Arg = string | Buffer;

/** What one batch does to one session. */
interface SessionPlan {
  readonly key: SessionKey;
  readonly keys: SessionKeys;
  readonly indexKey: string;
  /** The operations, each its code and arguments, without the session number. */
  readonly ops: Arg[][];
  /** Whether a `session` change may create it (so it belongs in its pool index). */
  creates: boolean;
  /** Whether a `session` or `delete` change may change its place in its pool index. */
  touchesIndex: boolean;
}

/**
 * A {@link SessionStore} on Redis or Redis Cluster, through ioredis. Every method returns a
 * Promise. The keys of one session share a hash tag, so one Lua script reads or writes a session
 * atomically on a Cluster too. On a single Redis a batch is one script, all of it or none, unless
 * it is larger than {@link MAX_SCRIPT_ARGS}: then it goes in several, one after the other.
 * On a Cluster each session's changes are one script, run in parallel, and the pool indexes are
 * updated around them; see the README for what that means after a crash.
 */
export class RedisSessionStore implements SessionStore {
  /** The ioredis client in use. */
  readonly client: RedisClient;
  /** The prefix of every key this store uses. */
  readonly keyPrefix: string;
  /** Whether the client is a Redis Cluster client (batches are split by session). */
  readonly isCluster: boolean;
  private readonly ownsClient: boolean;
  private closed = false;

  /**
   * @param options A client, a URL or cluster seeds, and a key prefix.
   * @throws TypeError when the key prefix holds a brace, or when the client has ioredis's own
   *   `keyPrefix` set: the scripts are given full key names, so use this store's `keyPrefix`.
   */
  constructor(options: RedisSessionStoreOptions) {
    this.keyPrefix = checkKeyPrefix(options.keyPrefix ?? DEFAULT_SESSION_KEY_PREFIX);
    if (options.client !== undefined) {
      if (options.client.options.keyPrefix) {
        throw new TypeError("use the store's keyPrefix option, not the ioredis client's keyPrefix");
      }
      this.client = options.client;
      this.ownsClient = false;
    } else if (options.url !== undefined) {
      // Auto-pipelining writes the commands of one tick (list's loads, a split batch's scripts)
      // to the socket together.
      this.client = new Redis(options.url, {
        enableAutoPipelining: true,
        ...checkedOptions(options.redisOptions),
      });
      this.ownsClient = true;
    } else {
      const clusterOptions = options.clusterOptions ?? {};
      if (clusterOptions.keyPrefix || clusterOptions.redisOptions?.keyPrefix) {
        throw new TypeError("use the store's keyPrefix option, not the ioredis client's keyPrefix");
      }
      this.client = new Cluster([...options.cluster], {
        enableAutoPipelining: true,
        ...clusterOptions,
      });
      this.ownsClient = true;
    }
    this.isCluster = this.client.isCluster;
  }

  /**
   * Applies a batch of changes in order. Everything is encoded (and checked) before anything is
   * sent, so a change that cannot be stored rejects the batch with nothing written. On a single
   * Redis the batch is one script, atomic as a whole. On a Cluster each session's changes are one
   * script, atomic per session; see the README.
   *
   * @throws TypeError (a rejection, with nothing written) for a pool or client id with a lone
   *   surrogate, a seq that is not a finite number, a packet identifier outside 1..65535, or
   *   `userData` that `JSON.stringify` refuses.
   */
  async apply(changes: readonly SessionChange[]): Promise<void> {
    this.check();
    if (changes.length === 0) return;
    const plans = this.plan(changes);
    if (this.isCluster) await this.applySplit(plans);
    else await this.applyWhole(plans);
  }

  /** One session with everything that belongs to it, read at one instant, or undefined. */
  async load(key: SessionKey): Promise<SessionState | undefined> {
    this.check();
    const keys = sessionKeys(this.keyPrefix, key);
    const reply = (await runScript(this.client, LOAD_SCRIPT, keysOf(keys), [])) as
      | [Buffer, Buffer[], Buffer[], (Buffer | null)[], Buffer[]]
      | null;
    if (reply === null) return undefined;
    const [record, subscriptionFields, order, messageBlobs, release] = reply;
    const messages: StoredMessage[] = [];
    for (let i = 0; i < order.length; i++) {
      const blob = messageBlobs[i];
      if (blob === null || blob === undefined) continue;
      messages.push(decodeMessage(Number((order[i] as Buffer).toString()), blob));
    }
    return { ...outlineOf(key, record, subscriptionFields, order.at(-1), release), messages };
  }

  /** One session's outline, read at one instant by one script, or undefined. */
  private async loadOutline(key: SessionKey): Promise<SessionOutline | undefined> {
    const keys = sessionKeys(this.keyPrefix, key);
    const reply = (await runScript(
      this.client,
      OUTLINE_SCRIPT,
      [keys.record, keys.subscriptions, keys.order, keys.release],
      [],
    )) as [Buffer, Buffer[], Buffer[], Buffer[]] | null;
    if (reply === null) return undefined;
    const [record, subscriptionFields, last, release] = reply;
    return outlineOf(key, record, subscriptionFields, last[0], release);
  }

  /**
   * A page of the outlines of a pool's sessions, in byte order of client id. Each outline is one
   * script that reads the record, subscriptions and QoS 2 ids, and the highest seq from the order
   * sorted set, never the messages hash; a page's scripts go out together (auto-pipelined when
   * the store made the client). The cursor is the last client id of the page: it holds no server
   * state and can be reused.
   *
   * @throws RangeError when `limit` is not a positive integer.
   */
  async list(pool: string, cursor: string | null, limit: number): Promise<SessionPage> {
    this.check();
    if (!Number.isInteger(limit) || limit < 1) {
      throw new RangeError(`limit must be a positive integer, not ${limit}`);
    }
    const ids = await this.client.zrangebylex(
      poolIndexKey(this.keyPrefix, pool),
      cursor === null ? '-' : `(${cursor}`,
      '+',
      'LIMIT',
      0,
      limit + 1,
    );
    const page = ids.length > limit ? ids.slice(0, limit) : ids;
    const outlines = await Promise.all(
      page.map((clientId) => this.loadOutline({ pool, clientId })),
    );
    const sessions: SessionOutline[] = [];
    // An id whose session is gone (deleted meanwhile) is skipped.
    for (const outline of outlines) if (outline !== undefined) sessions.push(outline);
    return { sessions, cursor: ids.length > limit ? (page.at(-1) as string) : null };
  }

  /** The number of client ids in the pool's index; see the README for Redis Cluster. */
  async count(pool: string): Promise<number> {
    this.check();
    return this.client.zcard(poolIndexKey(this.keyPrefix, pool));
  }

  /** Quits the client if the store created it; a client passed in is left open. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsClient) await this.client.quit();
  }

  private check(): void {
    if (this.closed) throw new Error('the session store is closed');
  }

  /** Groups the changes by session, in order, and encodes them. */
  private plan(changes: readonly SessionChange[]): SessionPlan[] {
    const plans = new Map<string, SessionPlan>();
    const planOf = (key: SessionKey): SessionPlan => {
      const tag = sessionTag(key);
      let plan = plans.get(tag);
      if (plan === undefined) {
        plan = {
          key: { pool: key.pool, clientId: key.clientId },
          keys: sessionKeys(this.keyPrefix, key),
          indexKey: poolIndexKey(this.keyPrefix, key.pool),
          ops: [],
          creates: false,
          touchesIndex: false,
        };
        plans.set(tag, plan);
      }
      return plan;
    };
    for (const change of changes) {
      switch (change.type) {
        case 'session': {
          const plan = planOf(change.session);
          plan.ops.push([OP.session, encodeSession(change.session)]);
          plan.creates = true;
          plan.touchesIndex = true;
          break;
        }
        case 'delete': {
          const plan = planOf(change.key);
          plan.ops.push([OP.delete]);
          plan.touchesIndex = true;
          break;
        }
        case 'subscribe':
          planOf(change.key).ops.push([
            OP.subscribe,
            change.subscription.filter,
            encodeSubscription(change.subscription),
          ]);
          break;
        case 'unsubscribe':
          planOf(change.key).ops.push([OP.unsubscribe, change.filter]);
          break;
        case 'message':
          planOf(change.key).ops.push([
            OP.message,
            seqArg(change.message.seq),
            encodeMessage(change.message),
          ]);
          break;
        case 'message-done':
          planOf(change.key).ops.push([OP.messageDone, seqArg(change.seq)]);
          break;
        case 'release-add':
          planOf(change.key).ops.push([OP.releaseAdd, packetIdArg(change.packetId)]);
          break;
        case 'release-remove':
          planOf(change.key).ops.push([OP.releaseRemove, packetIdArg(change.packetId)]);
          break;
        default:
          throw new TypeError(`unknown session change: ${(change as { type: unknown }).type}`);
      }
    }
    return [...plans.values()];
  }

  /**
   * A single Redis: the batch, indexes included, in one script, or for a large batch in several
   * run one after the other (see {@link MAX_SCRIPT_ARGS}).
   */
  private async applyWhole(plans: readonly SessionPlan[]): Promise<void> {
    let script: SessionPlan[] = [];
    let size = 0;
    for (const piece of plans.flatMap(slicePlan)) {
      const cost = planArgCount(piece);
      if (script.length > 0 && size + cost > MAX_SCRIPT_ARGS) {
        await this.applyScript(script);
        script = [];
        size = 0;
      }
      script.push(piece);
      size += cost;
    }
    if (script.length > 0) await this.applyScript(script);
  }

  private async applyScript(plans: readonly SessionPlan[]): Promise<void> {
    const keys: string[] = [];
    for (const plan of plans) keys.push(...keysOf(plan.keys));
    const indexPositions = new Map<string, number>();
    const args: Arg[] = ['1', String(plans.length)];
    for (const plan of plans) {
      let position = indexPositions.get(plan.indexKey);
      if (position === undefined) {
        keys.push(plan.indexKey);
        position = keys.length;
        indexPositions.set(plan.indexKey, position);
      }
      args.push(String(position), plan.key.clientId);
    }
    for (let s = 0; s < plans.length; s++) pushOps(args, (plans[s] as SessionPlan).ops, s + 1);
    await runScript(this.client, APPLY_SCRIPT, keys, args);
  }

  /**
   * A Redis Cluster: each session's changes in one script on its slot, all sessions in parallel.
   * A session a `session` change may create goes into its pool index first, and one that does not
   * exist afterwards leaves it after, so that every stored session is always in its index; a
   * crash in between can leave an index entry without a session, which `list` skips.
   */
  private async applySplit(plans: readonly SessionPlan[]): Promise<void> {
    await this.updateIndexes(
      'ZADD',
      plans.filter((plan) => plan.creates),
    );
    const results = await Promise.allSettled(
      plans.map(async (plan) => {
        // A session's slices go one after the other, in order; the last one's answer says
        // whether the session exists afterwards.
        let reply: unknown;
        for (const piece of slicePlan(plan)) {
          const args: Arg[] = ['0', '1', '0', piece.key.clientId];
          pushOps(args, piece.ops, 1);
          reply = await runScript(this.client, APPLY_SCRIPT, keysOf(piece.keys), args);
        }
        return reply;
      }),
    );
    const gone: SessionPlan[] = [];
    let failure: unknown;
    for (let i = 0; i < results.length; i++) {
      const result = results[i] as PromiseSettledResult<unknown>;
      if (result.status === 'rejected') {
        failure ??= result.reason;
        continue;
      }
      const plan = plans[i] as SessionPlan;
      if (plan.touchesIndex && (result.value as number[])[0] === 0) gone.push(plan);
    }
    await this.updateIndexes('ZREM', gone);
    if (failure !== undefined) throw failure;
  }

  /** Adds the sessions to, or removes them from, their pool indexes: one command per pool. */
  private async updateIndexes(
    command: 'ZADD' | 'ZREM',
    plans: readonly SessionPlan[],
  ): Promise<void> {
    if (plans.length === 0) return;
    const byIndex = new Map<string, string[]>();
    for (const plan of plans) {
      let members = byIndex.get(plan.indexKey);
      if (members === undefined) {
        members = [];
        byIndex.set(plan.indexKey, members);
      }
      if (command === 'ZADD') members.push('0');
      members.push(plan.key.clientId);
    }
    await Promise.all(
      [...byIndex].map(([indexKey, members]) =>
        command === 'ZADD'
          ? this.client.zadd(indexKey, ...members)
          : this.client.zrem(indexKey, ...members),
      ),
    );
  }
}

/** Decodes what the load and outline scripts read of a session besides its messages. */
function outlineOf(
  key: SessionKey,
  record: Buffer,
  subscriptionFields: readonly Buffer[],
  lastSeq: Buffer | undefined,
  release: readonly Buffer[],
): SessionOutline {
  const subscriptions: StoredSubscription[] = [];
  for (let i = 0; i + 1 < subscriptionFields.length; i += 2) {
    const filter = (subscriptionFields[i] as Buffer).toString('utf8');
    subscriptions.push(decodeSubscription(filter, subscriptionFields[i + 1] as Buffer));
  }
  return {
    session: decodeSession(key, record),
    subscriptions,
    awaitingRelease: release.map((id) => Number(id.toString())).sort((a, b) => a - b),
    lastSeq: lastSeq === undefined ? 0 : Number(lastSeq.toString()),
  };
}

function keysOf(keys: SessionKeys): string[] {
  return [keys.record, keys.subscriptions, keys.order, keys.messages, keys.release];
}

/**
 * The most arguments (keys included) one script call carries. ioredis spreads them on the stack:
 * a batch of some 40,000 arguments overflowed it inside its auto-pipelining and left its replies
 * out of step with its callbacks, which crashed the process (ioredis issue 1931). A larger batch
 * goes in several scripts, each session's changes in order.
 */
export const MAX_SCRIPT_ARGS = 16_384;

/** Keys and arguments a session takes in a script besides its operations. */
const PLAN_OVERHEAD = 8;

function planArgCount(plan: SessionPlan): number {
  let count = PLAN_OVERHEAD;
  for (const op of plan.ops) count += op.length + 1;
  return count;
}

/** A session's plan cut into pieces of at most {@link MAX_SCRIPT_ARGS}, in order. */
function slicePlan(plan: SessionPlan): SessionPlan[] {
  if (planArgCount(plan) <= MAX_SCRIPT_ARGS) return [plan];
  const pieces: SessionPlan[] = [];
  let ops: Arg[][] = [];
  let size = PLAN_OVERHEAD;
  for (const op of plan.ops) {
    if (ops.length > 0 && size + op.length + 1 > MAX_SCRIPT_ARGS) {
      pieces.push({ ...plan, ops });
      ops = [];
      size = PLAN_OVERHEAD;
    }
    ops.push(op);
    size += op.length + 1;
  }
  if (ops.length > 0) pieces.push({ ...plan, ops });
  return pieces;
}

/** Appends operations to a script's ARGV, each with its session number after its code. */
function pushOps(args: Arg[], ops: readonly Arg[][], session: number): void {
  const number = String(session);
  for (const op of ops) {
    args.push(op[0] as Arg, number);
    for (let i = 1; i < op.length; i++) args.push(op[i] as Arg);
  }
}

function seqArg(seq: number): string {
  if (!Number.isFinite(seq)) throw new TypeError(`a message seq must be a finite number: ${seq}`);
  return String(seq);
}

function packetIdArg(packetId: number): string {
  if (!Number.isInteger(packetId) || packetId < 1 || packetId > 0xffff) {
    throw new TypeError(`a packet identifier must be an integer from 1 to 65535: ${packetId}`);
  }
  return String(packetId);
}

/**
 * Creates a {@link SessionStore} on Redis or Redis Cluster.
 *
 * @param options `client` (an ioredis `Redis` or `Cluster` you own), `url` (a `redis://` URL) or
 *   `cluster` (seed nodes of a Redis Cluster, with `clusterOptions`); for the last two the store
 *   creates the client and quits it on `close`. `keyPrefix`, default
 *   {@link DEFAULT_SESSION_KEY_PREFIX}.
 */
export function createRedisSessionStore(options: RedisSessionStoreOptions): RedisSessionStore {
  return new RedisSessionStore(options);
}

function checkedOptions(options: RedisOptions | undefined): RedisOptions {
  if (options?.keyPrefix) {
    throw new TypeError("use the store's keyPrefix option, not the ioredis client's keyPrefix");
  }
  return options ?? {};
}
