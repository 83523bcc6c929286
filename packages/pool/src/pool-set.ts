import type { Socket } from 'node:net';
import type { MaybePromise } from '@mqtt-sessions/protocol';
import type { Runtime } from '@mqtt-sessions/runtime-default';
import { QueueBudget } from '@mqtt-sessions/session';
import type { SessionStore } from '@mqtt-sessions/session-store';
import type { IConnectPacket } from 'mqtt-packet';
import {
  Connection,
  type ConnectionOptions,
  type ConnectTarget,
  type Placement,
  type Transport,
} from './connection.js';
import { placeByVhost, placeConnect } from './placement.js';
import { DEFAULT_QUEUE_BUDGET, Pool, type PoolOptions } from './pool.js';
import { attachSocket } from './transports.js';

/** Options of {@link createPoolSet}: defaults for every pool, plus the runtime they share. */
export type PoolSetOptions<UC> = Omit<PoolOptions<UC>, 'name'> & {
  /**
   * Options per pool name, merged over the shared ones; the default pool always exists. A
   * `retain` store or `registry` given at the top level belongs to the default pool only: every
   * other pool gets its own (in memory) unless its entry here names one, so pools never share
   * retained messages or client ids. A session `store` is shared: it keys sessions by pool.
   */
  pools?: Record<string, Omit<PoolOptions<UC>, 'name' | 'runtime'>>;
};

/**
 * Several pools behind one entry point. A CONNECT whose username is `vhost:user` goes to the pool
 * the runtime picks for `vhost`; others go to the runtime's default pool. `$SYS/...` topics of
 * every pool are published, subscribed and retained in the default pool, so system information
 * is shared between pools.
 */
export class PoolSet<UC = unknown> implements ConnectTarget {
  readonly defaultPool: Pool<UC>;
  private readonly pools = new Map<string, Pool<UC>>();
  private readonly shared: Omit<PoolOptions<UC>, 'name'>;
  private readonly store: SessionStore | undefined;

  /** Connects a TCP or TLS socket; hand it to `net.createServer` or `tls.createServer`. */
  readonly handle = (socket: Socket): Connection => attachSocket(this, socket);

  constructor(options: PoolSetOptions<UC> = {}) {
    const { pools = {}, store, ...rest } = options;
    // One budget of queued bytes for every pool of the set.
    const budget = rest.queueBudget ?? DEFAULT_QUEUE_BUDGET;
    this.store = store;
    const shared = {
      ...rest,
      queueBudget: typeof budget === 'number' ? new QueueBudget(budget) : budget,
      // Every pool uses the store; the set closes it once, after them all.
      ...(store === undefined ? {} : { store: unclosable(store) }),
    };
    this.shared = shared;
    this.defaultPool = new Pool<UC>(shared);
    this.pools.set(this.defaultPool.name, this.defaultPool);
    for (const [name, own] of Object.entries(pools)) this.addPool(name, own);
  }

  /** The runtime every pool shares. */
  get runtime(): Runtime<UC> {
    return this.defaultPool.runtime;
  }

  /** A set's connections keep to its default pool's limits until their CONNECT chose a pool. */
  get entry(): Pool<UC> {
    return this.defaultPool;
  }

  /** Starts a pool (or returns the one with that name). */
  addPool(name: string, options: Omit<PoolOptions<UC>, 'name' | 'runtime'> = {}): Pool<UC> {
    const existing = this.pools.get(name);
    if (existing !== undefined) return existing;
    const { retain: _retain, registry: _registry, ...shared } = this.shared;
    const pool = new Pool<UC>({ ...shared, ...options, name, runtime: this.defaultPool.runtime });
    pool.useSysTopicsOf(this.defaultPool);
    this.pools.set(name, pool);
    return pool;
  }

  /** The pool with that name, if started. */
  pool(name: string): Pool<UC> | undefined {
    return this.pools.get(name);
  }

  /** Every started pool. */
  allPools(): Pool<UC>[] {
    return [...this.pools.values()];
  }

  /** Connects a transport; its CONNECT decides the pool. */
  connect(transport: Transport, options: ConnectionOptions = {}): Connection {
    return new Connection(transport, this, options);
  }

  /** Picks the pool of a CONNECT by its vhost and places it there. */
  attach(connection: Connection, packet: IConnectPacket): MaybePromise<Placement> {
    return placeByVhost(
      this.runtime as Runtime<unknown>,
      packet,
      () => placeConnect(this.defaultPool, connection, packet),
      (name) => {
        const pool = this.pools.get(name);
        return pool === undefined ? undefined : placeConnect(pool, connection, packet);
      },
    );
  }

  /**
   * Takes back the stored sessions of every started pool (see {@link Pool.restore}); a pool added
   * later restores its own with `pool.restore()`. Returns how many sessions came back.
   */
  async restore(): Promise<number> {
    let count = 0;
    for (const pool of this.pools.values()) count += await pool.restore();
    return count;
  }

  /** Closes every pool, then the session store. */
  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((pool) => pool.close()));
    await this.store?.close();
  }
}

/** The store as the pools of a set see it: closing it is the set's job. */
function unclosable(store: SessionStore): SessionStore {
  return {
    apply: (changes) => store.apply(changes),
    load: (key) => store.load(key),
    list: (pool, cursor, limit) => store.list(pool, cursor, limit),
    count: (pool) => store.count(pool),
    close: () => undefined,
  };
}

/** Creates a set of pools with the default pool started. */
export function createPoolSet<UC = unknown>(options: PoolSetOptions<UC> = {}): PoolSet<UC> {
  return new PoolSet<UC>(options);
}
