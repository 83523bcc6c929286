import { after, type MaybePromise, ReasonCode } from '@mqtt-sessions/protocol';
import type { Runtime } from '@mqtt-sessions/runtime-default';
import type { SessionConnection } from '@mqtt-sessions/session';
import type { IConnectPacket } from 'mqtt-packet';
import {
  Connection,
  type ConnectionOptions,
  type ConnectTarget,
  type Transport,
} from './connection.js';
import { Pool, type PoolOptions, vhostOf } from './pool.js';

/** Options of {@link createSessions}: defaults for every pool, plus the runtime they share. */
export type SessionsOptions<UC> = Omit<PoolOptions<UC>, 'name'> & {
  /**
   * Options per pool name, merged over the shared ones; the default pool always exists. A
   * `retain` store or `registry` given at the top level belongs to the default pool only: every
   * other pool gets its own (in memory) unless its entry here names one, so pools never share
   * retained messages or client ids.
   */
  pools?: Record<string, Omit<PoolOptions<UC>, 'name' | 'runtime'>>;
};

/**
 * Several pools behind one entry point. A CONNECT whose username is `vhost:user` goes to the pool
 * the runtime picks for `vhost`; others go to the runtime's default pool. `$SYS/...` topics of
 * every pool are published, subscribed and retained in the default pool, so system information
 * is shared between pools.
 */
export class Sessions<UC = unknown> implements ConnectTarget {
  readonly runtime: Runtime<UC> | undefined;
  readonly defaultPool: Pool<UC>;
  private readonly pools = new Map<string, Pool<UC>>();
  private readonly shared: Omit<PoolOptions<UC>, 'name'>;

  constructor(options: SessionsOptions<UC> = {}) {
    const { pools = {}, ...shared } = options;
    this.shared = shared;
    this.runtime = shared.runtime;
    this.defaultPool = new Pool<UC>(shared);
    this.pools.set(this.defaultPool.name, this.defaultPool);
    for (const [name, own] of Object.entries(pools)) this.addPool(name, own);
  }

  get maxIncomingPacketSize(): number {
    return this.defaultPool.maxIncomingPacketSize;
  }

  get connectTimeoutMs(): number {
    return this.defaultPool.connectTimeoutMs;
  }

  get maxPendingPackets(): number {
    return this.defaultPool.maxPendingPackets;
  }

  reportError(error: unknown): void {
    this.defaultPool.reportError(error);
  }

  get timers() {
    return this.defaultPool.timers;
  }

  get metrics() {
    return this.defaultPool.metrics;
  }

  /** Starts a pool (or returns the one with that name). */
  addPool(name: string, options: Omit<PoolOptions<UC>, 'name' | 'runtime'> = {}): Pool<UC> {
    const existing = this.pools.get(name);
    if (existing !== undefined) return existing;
    const { retain: _retain, registry: _registry, ...shared } = this.shared;
    const pool = new Pool<UC>({
      ...shared,
      ...options,
      name,
      runtime: this.defaultPool.runtime,
    });
    pool.sysPool = this.defaultPool;
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
  attach(
    connection: Connection,
    packet: IConnectPacket,
  ): MaybePromise<SessionConnection | { refuse: number; reason: string }> {
    const vhost = vhostOf(packet.username);
    if (vhost === undefined) return this.defaultPool.place(connection, packet);
    return after(this.defaultPool.runtime.vhostPool(vhost), (choice) => {
      if (!choice.ok) return { refuse: ReasonCode.ServerUnavailable, reason: choice.reason };
      const pool = this.pools.get(choice.pool);
      if (pool === undefined)
        return { refuse: ReasonCode.ServerUnavailable, reason: `no pool ${choice.pool}` };
      return pool.place(connection, packet);
    });
  }

  /** Closes every pool. */
  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((pool) => pool.close()));
  }
}

/** Creates a set of pools with the default pool started. */
export function createSessions<UC = unknown>(options: SessionsOptions<UC> = {}): Sessions<UC> {
  return new Sessions<UC>(options);
}
