import { randomBytes } from 'node:crypto';
import type { Pool, PoolRelay } from '@mqtt-sessions/pool';
import { expiresAt, forwardedProperties } from '@mqtt-sessions/protocol';
import { Router, type Subscriber } from '@mqtt-sessions/router';
import type { WillMessage } from '@mqtt-sessions/will';
import { decodeForwarded, decodeWill, encodeWill } from './codec.js';
import { Forwarding } from './forwarding.js';
import { type ClusterKeys, clusterKeys, parseRouteMember, routeMember } from './keys.js';
import { NodeRelay } from './node-relay.js';
import { OwnerRegistry } from './owner-registry.js';
import {
  type BufferStreams,
  type ClusterCommands,
  openClient,
  openReader,
  type RedisClient,
  type RedisTarget,
  type StreamReply,
} from './redis.js';

/** Options of {@link createClusterNode}. */
export type ClusterNodeOptions = RedisTarget & {
  /** This node's id, unique in the cluster; default: a random one. */
  readonly nodeId?: string;
  /** Prefix of the cluster's keys; default `mqtt-sessions:`. It must not hold braces. */
  readonly keyPrefix?: string;
  /**
   * How long a node counts as alive after its last heartbeat, in ms (default 10,000); it beats
   * three times per lease. A node that misses its lease is dropped by the others.
   */
  readonly leaseMs?: number;
  /** How long a takeover of a client id held by another node may take, in ms; default 5,000. */
  readonly takeoverTimeoutMs?: number;
  /** Told about what fails in the background (a Redis that is away); default console.error. */
  readonly onError?: (error: unknown) => void;
};

/** Figures of a cluster node. */
export interface ClusterNodeStats {
  readonly nodeId: string;
  /** Other live nodes, as the last heartbeat saw them. */
  readonly peers: number;
  /** Filters of other nodes this node routes to. */
  readonly remoteRoutes: number;
  /** Filters of this node's own subscribers, announced to the others. */
  readonly localRoutes: number;
  /** Messages forwarded to other nodes, and received from them. */
  readonly forwarded: number;
  readonly received: number;
  /** Forwarded messages that found no subscriber here (it left while they travelled). */
  readonly unrouted: number;
  /** Client ids taken over from other nodes, and handed over to them. */
  readonly takeovers: number;
  readonly handovers: number;
}

/** The inbox consumer group: one consumer, the node itself. */
const GROUP = 'node';
/** Entries read from a stream at a time. */
const READ_COUNT = 500;
/** How long a blocking read waits before it looks at `closed` again, in ms. */
const BLOCK_MS = 1000;
/** Filters that stay on each node: `$SYS` topics describe one broker. */
const SYS_PREFIX = '$SYS/';

interface JoinedPool {
  readonly pool: Pool<unknown>;
  readonly registry: OwnerRegistry<unknown> | undefined;
  /** Other nodes' relays in this pool's router. */
  readonly relays: Map<string, NodeRelay>;
  /** Local route counts: member -> subscriptions of local subscribers. */
  readonly counts: Map<string, number>;
  /** Client ids whose connection's Will this node keeps in Redis (no session store keeps it). */
  readonly wills: Set<string>;
}

/**
 * One broker process's membership of a cluster over Redis (or Redis Cluster):
 *
 * - **Routes.** Each node announces the filters its own subscribers hold (as changes, to a route
 *   set per node and a change stream); every node keeps a copy as relays in its pools' routers,
 *   so a message goes only to the nodes with a matching filter.
 * - **Messages.** A message for another node is appended to that node's inbox stream; the node
 *   reads it through a consumer group and acknowledges it once its subscribers have it (and its
 *   persistent sessions have stored it). A QoS 1 or 2 publisher is acknowledged once the streams
 *   hold it.
 * - **Client ids.** One node owns a client id, cluster-wide ({@link registry}); a CONNECT on
 *   another node takes the session over: the owner stores it, sends DISCONNECT 0x8E and lets go,
 *   and the new node loads it from the shared session store.
 * - **Liveness.** Each node renews a lease; the others drop the routes of a node whose lease
 *   ran out, and its client ids become free.
 *
 * @example
 * ```ts
 * const node = createClusterNode({ url: 'redis://127.0.0.1:6379' });
 * const pool = createPool({ registry: node.registry('default'), store, sharedStore: true });
 * await node.join([pool]);
 * // ... later
 * await pool.close();
 * await node.leave();
 * ```
 */
export class ClusterNode {
  readonly nodeId: string;
  private readonly keys: ClusterKeys;
  private readonly leaseMs: number;
  private readonly takeoverTimeoutMs: number;
  private readonly onError: (error: unknown) => void;
  private readonly client: RedisClient & ClusterCommands;
  private readonly routeReader: RedisClient;
  private readonly inboxReader: RedisClient;
  private readonly forwarding: Forwarding;
  private readonly registries = new Map<string, OwnerRegistry<unknown>>();
  private readonly pools = new Map<string, JoinedPool>();
  private readonly peers = new Set<string>();
  private pendingAnnounce: string[] = [];
  private pendingWills = new Map<string, string | undefined>();
  private willsScheduled = false;
  private willsWritten: Promise<void> = Promise.resolve();
  private announcing: Promise<void> = Promise.resolve();
  private announceScheduled = false;
  /** The route set in Redis may differ from the local counts: write it whole on the next beat. */
  private mustRejoin = false;
  /** Dead nodes whose duties are queued or being done here. */
  private readonly duties = new Set<string>();
  private dutyChain: Promise<void> = Promise.resolve();
  /** The dead node whose duties this node does now, or ''. */
  private dutiesOf = '';
  /** The last route change applied. */
  private routeLogId = '0-0';
  private heartbeat: NodeJS.Timeout | undefined = undefined;
  private loops: Promise<void>[] = [];
  private joined = false;
  private closed = false;
  private received = 0;
  private unrouted = 0;
  private takeovers = 0;
  private handovers = 0;

  constructor(options: ClusterNodeOptions) {
    this.nodeId = options.nodeId ?? `node-${randomBytes(6).toString('hex')}`;
    if (!/^[\w.-]{1,100}$/.test(this.nodeId)) {
      throw new Error(`a node id is 1 to 100 letters, digits, '_', '.' or '-': ${this.nodeId}`);
    }
    this.keys = clusterKeys(options.keyPrefix);
    this.leaseMs = options.leaseMs ?? 10_000;
    this.takeoverTimeoutMs = options.takeoverTimeoutMs ?? 5000;
    this.onError = options.onError ?? ((error) => console.error('mqtt-sessions cluster:', error));
    this.client = openClient(options);
    this.client.on('error', (error: unknown) => this.onError(error));
    this.routeReader = openReader(this.client);
    this.routeReader.on('error', () => {}); // the command client reports the same outage
    this.inboxReader = openReader(this.client);
    this.inboxReader.on('error', () => {});
    this.forwarding = new Forwarding(this.nodeId, (node, entries) => this.append(node, entries));
  }

  /** The Redis client of the node's commands, for health checks. */
  get redis(): RedisClient {
    return this.client;
  }

  /**
   * The client id registry for a pool of this node: pass it as the pool's `registry`, with the
   * pool's `store` shared by the cluster and `sharedStore: true`.
   */
  registry<H>(pool: string): OwnerRegistry<H> {
    let registry = this.registries.get(pool);
    if (registry === undefined) {
      registry = new OwnerRegistry<unknown>(
        {
          claim: (p, clientId) =>
            this.client.claim(
              [this.keys.owner(p, clientId), this.keys.nodes, this.keys.owned(this.nodeId)],
              this.nodeId,
              routeMember(p, clientId),
              this.dutiesOf,
            ),
          release: (p, clientId) => this.releaseFor(this.nodeId, p, clientId),
          keepsOwnership: (p) => this.pools.get(p)?.pool.closing === true,
          takeOver: (p, clientId, owner) => this.takeOver(p, clientId, owner),
          flushStore: async (p) => {
            await this.pools.get(p)?.pool.flushStore();
          },
        },
        pool,
      );
      this.registries.set(pool, registry);
    }
    return registry as OwnerRegistry<H>;
  }

  /**
   * Joins the cluster with these pools, before they take connections: announces their routes,
   * learns the others', and starts reading this node's inbox and requests.
   */
  async join<UC>(pools: readonly Pool<UC>[]): Promise<void> {
    if (this.joined) throw new Error('this cluster node has joined already');
    for (const pool of pools) this.attach(pool as Pool<unknown>);
    // The sessions an earlier life of this node id owned come back first, so that the route set
    // written next holds their filters, and the inbox read after it reaches them.
    await this.adoptSessionsOf(this.nodeId);
    await this.rejoin();
    await this.resync();
    // Wills of connections an earlier life had: they go to every node, so after the resync.
    await this.publishKeptWills(this.nodeId);
    await this.createInboxGroup();
    this.joined = true;
    this.loops = [this.readRoutes(), this.readInbox()];
    this.heartbeat = setInterval(() => void this.beat(), Math.max(50, this.leaseMs / 3));
    this.heartbeat.unref();
  }

  /**
   * Leaves the cluster: sends what is still being forwarded, ends this node's lease at once, and
   * closes the Redis connections. Close the pools first: their persistent sessions are stored and
   * stay this node's. Another node then takes over its duties, as for a node that died, but
   * without waiting for the lease: it takes the sessions and the messages still on their way to
   * them. Without another node, this node id takes them back when it starts again.
   */
  async leave(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    await this.forwarding.flush().catch((error: unknown) => this.onError(error));
    await this.announcing;
    await this.flushWills();
    if (this.joined) {
      await this.client
        .zadd(this.keys.nodes, 'XX', 0, this.nodeId)
        .catch((error: unknown) => this.onError(error));
    }
    // The blocking reads end within BLOCK_MS; disconnecting ends them now.
    this.routeReader.disconnect();
    this.inboxReader.disconnect();
    await Promise.allSettled(this.loops);
    await this.client.quit().catch(() => this.client.disconnect());
  }

  stats(): ClusterNodeStats {
    let remoteRoutes = 0;
    let localRoutes = 0;
    for (const joined of this.pools.values()) {
      localRoutes += joined.counts.size;
      for (const relay of joined.relays.values()) remoteRoutes += relay.size;
    }
    return {
      nodeId: this.nodeId,
      peers: this.peers.size,
      remoteRoutes,
      localRoutes,
      forwarded: this.forwarding.forwarded,
      received: this.received,
      unrouted: this.unrouted,
      takeovers: this.takeovers,
      handovers: this.handovers,
    };
  }

  /**
   * Shares this node's figures (counters and gauges that add up across nodes) and returns the
   * cluster's totals over the live nodes, with `nodes`, their number. Only one node returns them,
   * the live node with the lowest id, so that nodes do not overwrite each other's totals; the
   * others get undefined.
   */
  async shareFigures(
    figures: Readonly<Record<string, number>>,
  ): Promise<Record<string, number> | undefined> {
    await this.client.hset(this.keys.figures, this.nodeId, JSON.stringify(figures));
    const live = [this.nodeId, ...this.peers];
    if (live.some((node) => node < this.nodeId)) return undefined;
    const all = await this.client.hgetall(this.keys.figures);
    const totals: Record<string, number> = { nodes: live.length };
    for (const node of live) {
      const text = all[node];
      if (text === undefined) continue;
      for (const [name, value] of Object.entries(JSON.parse(text) as Record<string, number>)) {
        totals[name] = (totals[name] ?? 0) + value;
      }
    }
    return totals;
  }

  /** Whether `node` has announced `filter` in `pool`, as this node knows it now. */
  routesTo(node: string, pool: string, filter: string): boolean {
    return this.pools.get(pool)?.relays.get(node)?.has(filter) === true;
  }

  // --- Routes ----------------------------------------------------------------------------------

  private attach(pool: Pool<unknown>): void {
    const joined: JoinedPool = {
      pool,
      registry: this.registries.get(pool.name),
      relays: new Map(),
      counts: new Map(),
      wills: new Set(),
    };
    this.pools.set(pool.name, joined);
    const relay: PoolRelay = {
      subscribed: (filter) => this.countRoute(joined, filter, 1),
      unsubscribed: (filter) => this.countRoute(joined, filter, -1),
      forwarded: () => this.forwarding.takeWait(),
      volatileWill: (clientId, will) => this.keepWill(joined, clientId, will),
    };
    pool.host.relay = relay;
  }

  private countRoute(joined: JoinedPool, filter: string, change: 1 | -1): void {
    if (isSysFilter(filter)) return;
    const member = routeMember(joined.pool.name, filter);
    const count = (joined.counts.get(member) ?? 0) + change;
    if (count < 0) return;
    if (count === 0) joined.counts.delete(member);
    else joined.counts.set(member, count);
    if (count === 0) this.queueAnnounce('-', member);
    else if (count === 1 && change === 1) this.queueAnnounce('+', member);
  }

  /**
   * Keeps the Will of a live connection whose session no store keeps, so that the node that does
   * this one's duties publishes it if this process dies; writes are gathered per turn.
   */
  private keepWill(joined: JoinedPool, clientId: string, will: WillMessage | undefined): void {
    if (will === undefined && !joined.wills.delete(clientId)) return;
    if (will !== undefined) joined.wills.add(clientId);
    this.pendingWills.set(
      routeMember(joined.pool.name, clientId),
      will === undefined ? undefined : encodeWill(will),
    );
    if (this.willsScheduled) return;
    this.willsScheduled = true;
    setImmediate(() => void this.flushWills());
  }

  private flushWills(): Promise<void> {
    this.willsScheduled = false;
    const pending = this.pendingWills;
    if (pending.size === 0) return this.willsWritten;
    this.pendingWills = new Map();
    const key = this.keys.wills(this.nodeId);
    const set: string[] = [];
    const gone: string[] = [];
    for (const [member, will] of pending) {
      if (will === undefined) gone.push(member);
      else set.push(member, will);
    }
    this.willsWritten = this.willsWritten.then(async () => {
      try {
        if (set.length > 0) await this.client.hset(key, ...set);
        if (gone.length > 0) await this.client.hdel(key, ...gone);
      } catch (error) {
        this.onError(error);
      }
    });
    return this.willsWritten;
  }

  /**
   * Publishes the Wills a node kept for its connections whose sessions no store keeps: that node
   * is gone, and so are their connections and sessions (expiry 0: the Will Delay ends with the
   * session). Each is removed once published, so a node that takes over after this one publishes
   * the rest, not these again.
   */
  private async publishKeptWills(node: string): Promise<void> {
    const key = this.keys.wills(node);
    const kept = await (this.client as unknown as BufferStreams).hgetallBuffer(key);
    for (const [member, bytes] of Object.entries(kept)) {
      const { pool, filter: clientId } = parseRouteMember(member);
      const joined = this.pools.get(pool);
      if (joined === undefined) continue;
      let will: ReturnType<typeof decodeWill>;
      try {
        will = decodeWill(bytes.toString());
      } catch (error) {
        this.onError(error);
        continue;
      }
      await joined.pool.host.publish(
        {
          topic: will.topic,
          payload: will.payload,
          qos: will.qos,
          retain: will.retain,
          properties: forwardedProperties(will.properties),
          propertyBytes: will.propertyBytes,
          expiresAt: expiresAt(will.properties.messageExpiryInterval, Date.now()),
          sender: undefined,
          senderContext: undefined,
          wireCache: undefined,
        },
        clientId,
      );
      await this.client.hdel(key, member);
    }
  }

  private queueAnnounce(op: '+' | '-', member: string): void {
    if (!this.joined || this.closed) return; // join() writes the whole set
    this.pendingAnnounce.push(op, member);
    if (this.announceScheduled) return;
    this.announceScheduled = true;
    setImmediate(() => void this.flushAnnouncements());
  }

  /** Writes the route changes gathered so far, in order after the ones before. */
  private flushAnnouncements(): Promise<void> {
    this.announceScheduled = false;
    const ops = this.pendingAnnounce;
    this.pendingAnnounce = [];
    if (ops.length === 0) return this.announcing;
    this.announcing = this.announcing.then(() =>
      this.client
        .announce(this.keys.routes(this.nodeId), this.keys.routeLog, this.nodeId, ...ops)
        .then(
          () => undefined,
          (error: unknown) => {
            this.mustRejoin = true;
            this.onError(error);
          },
        ),
    );
    return this.announcing;
  }

  /** Writes this node's lease and its whole route set, replacing what Redis had of it. */
  private async rejoin(): Promise<void> {
    const members: string[] = [];
    for (const joined of this.pools.values()) members.push(...joined.counts.keys());
    this.mustRejoin = false;
    await this.client.rejoin(
      [this.keys.nodes, this.keys.routes(this.nodeId), this.keys.routeLog],
      this.nodeId,
      this.leaseMs,
      ...members,
    );
  }

  /**
   * Reads every other node's route set afresh, starting from the change log's last entry, which
   * the route reader then follows (changes read twice do no harm: a set is kept either way).
   */
  private async resync(): Promise<string> {
    const last = await this.client.xrevrange(this.keys.routeLog, '+', '-', 'COUNT', 1);
    const nodes = await this.client.zrange(this.keys.nodes, 0, -1);
    const wanted = new Map<string, Map<string, Set<string>>>(); // node -> pool -> filters
    for (const node of nodes) {
      if (node === this.nodeId) continue;
      const byPool = new Map<string, Set<string>>();
      for (const member of await this.client.smembers(this.keys.routes(node))) {
        const { pool, filter } = parseRouteMember(member);
        const filters = byPool.get(pool) ?? new Set<string>();
        byPool.set(pool, filters);
        filters.add(filter);
      }
      wanted.set(node, byPool);
    }
    for (const [name, joined] of this.pools) {
      for (const [node, relay] of joined.relays) {
        relay.removeAllBut(wanted.get(node)?.get(name) ?? new Set());
        if (relay.size === 0) joined.relays.delete(node);
      }
      for (const [node, byPool] of wanted) {
        for (const filter of byPool.get(name) ?? []) this.relayOf(joined, node).add(filter);
      }
    }
    this.peers.clear();
    for (const node of nodes) if (node !== this.nodeId) this.peers.add(node);
    this.routeLogId = last[0]?.[0] ?? '0-0';
    return this.routeLogId;
  }

  private relayOf(joined: JoinedPool, node: string): NodeRelay {
    let relay = joined.relays.get(node);
    if (relay === undefined) {
      relay = new NodeRelay(node, joined.pool.name, joined.pool.router, this.forwarding);
      joined.relays.set(node, relay);
    }
    return relay;
  }

  private applyRouteChange(node: string, op: string, member: string): void {
    if (node === this.nodeId) return;
    if (op === 'x') {
      for (const joined of this.pools.values()) {
        joined.relays.get(node)?.clear();
        joined.relays.delete(node);
      }
      return;
    }
    const { pool, filter } = parseRouteMember(member);
    const joined = this.pools.get(pool);
    if (joined === undefined) return; // a pool this node does not have
    if (op === '+') this.relayOf(joined, node).add(filter);
    else if (op === '-') joined.relays.get(node)?.remove(filter);
  }

  /** Follows the route change log and this node's control stream. */
  private async readRoutes(): Promise<void> {
    const controlKey = this.keys.control(this.nodeId);
    const lastControl = await this.client.xrevrange(controlKey, '+', '-', 'COUNT', 1);
    let controlId = lastControl[0]?.[0] ?? '0-0';
    let failed = false;
    while (!this.closed) {
      try {
        if (failed) {
          await this.resync();
          failed = false;
        }
        const reply = (await (this.routeReader as unknown as BufferStreams).xreadBuffer(
          'COUNT',
          READ_COUNT,
          'BLOCK',
          BLOCK_MS,
          'STREAMS',
          this.keys.routeLog,
          controlKey,
          this.routeLogId,
          controlId,
        )) as StreamReply;
        for (const [key, entries] of reply ?? []) {
          const isLog = key.toString() === this.keys.routeLog;
          for (const [id, fields] of entries) {
            const entry = fieldsOf(fields);
            if (isLog) {
              this.routeLogId = id.toString();
              this.applyRouteChange(entry.n ?? '', entry.o ?? '', entry.m ?? '');
            } else {
              controlId = id.toString();
              this.onControl(entry);
            }
          }
        }
      } catch (error) {
        if (this.closed) return;
        this.onError(error);
        failed = true; // changes may have been missed while Redis was away
        await sleep(BLOCK_MS);
      }
    }
  }

  // --- Messages --------------------------------------------------------------------------------

  private async createInboxGroup(): Promise<void> {
    await this.inboxReader
      .xgroup('CREATE', this.keys.inbox(this.nodeId), GROUP, '$', 'MKSTREAM')
      .catch((error: unknown) => {
        if (!String(error).includes('BUSYGROUP')) throw error;
      });
  }

  private async append(node: string, entries: readonly Buffer[]): Promise<void> {
    const key = this.keys.inbox(node);
    await Promise.all(entries.map((entry) => this.client.xadd(key, '*', 'm', entry)));
  }

  /**
   * Reads this node's inbox: first what an earlier life of this node id read and did not
   * acknowledge, then new entries. A batch is acknowledged (and deleted) once its messages are
   * routed here and what persistent sessions recorded of them is stored.
   */
  private async readInbox(): Promise<void> {
    const key = this.keys.inbox(this.nodeId);
    let from = '0';
    while (!this.closed) {
      try {
        const reply = (await (this.inboxReader as unknown as BufferStreams).xreadgroupBuffer(
          'GROUP',
          GROUP,
          this.nodeId,
          'COUNT',
          READ_COUNT,
          'BLOCK',
          BLOCK_MS,
          'STREAMS',
          key,
          from,
        )) as StreamReply;
        const entries = reply?.[0]?.[1] ?? [];
        if (from === '0' && entries.length === 0) from = '>';
        if (entries.length === 0) continue;
        const ids: string[] = [];
        for (const [id, fields] of entries) {
          ids.push(id.toString());
          const value = fields[1];
          if (value !== undefined) this.deliverForwarded(value);
        }
        await Promise.all([...this.pools.values()].map((joined) => joined.pool.flushStore()));
        await this.client.xack(key, GROUP, ...ids);
        await this.client.xdel(key, ...ids);
      } catch (error) {
        if (this.closed) return;
        if (String(error).includes('NOGROUP')) {
          // The inbox was deleted (by a node that took this one for dead): start it again.
          await this.createInboxGroup().catch(() => undefined);
        } else {
          this.onError(error);
          await sleep(BLOCK_MS);
        }
        from = '0'; // read again what was not acknowledged
      }
    }
  }

  /** Routes a forwarded message in its pool, or with `routers` (by pool name) when given. */
  private deliverForwarded(bytes: Buffer, routers?: ReadonlyMap<string, Router>): void {
    let forwarded: ReturnType<typeof decodeForwarded>;
    try {
      forwarded = decodeForwarded(bytes);
    } catch (error) {
      this.onError(error);
      return;
    }
    this.received++;
    const router =
      routers === undefined
        ? this.pools.get(forwarded.pool)?.pool.router
        : routers.get(forwarded.pool);
    if (router === undefined) {
      this.unrouted++;
      return;
    }
    if (forwarded.shared !== undefined) {
      if (!router.routeShared(forwarded.shared, forwarded.message)) this.unrouted++;
      return;
    }
    const result = router.publish(forwarded.message, undefined);
    if (!result.ok || result.deliveries === 0) this.unrouted++;
  }

  // --- Client ids ------------------------------------------------------------------------------

  private async takeOver(pool: string, clientId: string, owner: string): Promise<void> {
    const ownerKey = this.keys.owner(pool, clientId);
    await this.client.xadd(
      this.keys.control(owner),
      'MAXLEN',
      '~',
      '10000',
      '*',
      'o',
      'takeover',
      'p',
      pool,
      'c',
      clientId,
    );
    // A holder that died answers nothing: the node doing its duties takes the id over once its
    // lease has run out, and then hands it on.
    const deadline = Date.now() + this.takeoverTimeoutMs + this.leaseMs;
    let pause = 5;
    for (;;) {
      const holder = await this.client.holder(ownerKey, this.keys.nodes);
      if (holder !== owner) break;
      if (Date.now() >= deadline) {
        throw new Error(`node ${owner} did not hand over client id ${clientId} in time`);
      }
      await sleep(pause);
      pause = Math.min(pause * 2, 100);
    }
    this.takeovers++;
  }

  private onControl(entry: Record<string, string>): void {
    if (entry.o !== 'takeover' || entry.p === undefined || entry.c === undefined) return;
    const registry = this.registries.get(entry.p);
    if (registry === undefined) return;
    this.handovers++;
    registry.handOver(entry.c).catch((error: unknown) => this.onError(error));
  }

  // --- Liveness --------------------------------------------------------------------------------

  private async beat(): Promise<void> {
    if (this.closed) return;
    try {
      const [added, dead, live] = await this.client.heartbeat(
        this.keys.nodes,
        this.nodeId,
        this.leaseMs,
      );
      this.peers.clear();
      for (const node of live) if (node !== this.nodeId) this.peers.add(node);
      // Others found this node's lease run out and dropped its routes: write them again.
      if (added === 1 || this.mustRejoin) await this.rejoin();
      for (const node of dead) {
        if (node !== this.nodeId && !this.duties.has(node)) this.queueDuties(node);
      }
    } catch (error) {
      this.onError(error);
    }
  }

  // --- Duties of a node that is gone -----------------------------------------------------------

  private queueDuties(node: string): void {
    this.duties.add(node);
    // One dead node at a time: claims carry the node whose duties this node does.
    this.dutyChain = this.dutyChain
      .then(() => this.takeDutiesOf(node))
      .catch((error: unknown) => this.onError(error))
      .finally(() => this.duties.delete(node));
  }

  /**
   * Does the duties of a node whose lease ran out, when no other node does them (a lock in
   * Redis): takes its persistent sessions (their Wills and expiry then run here, and their
   * clients resume them from here), routes the messages its inbox still holds to them, and only
   * then removes it from the cluster. Messages go on to its inbox until its routes are gone, so
   * the inbox is read again after that.
   */
  private async takeDutiesOf(node: string): Promise<void> {
    if (this.closed) return;
    const locked = await this.client.set(
      this.keys.duty(node),
      this.nodeId,
      'PX',
      this.leaseMs * 3,
      'NX',
    );
    if (locked !== 'OK') return;
    this.dutiesOf = node;
    try {
      const adopted = await this.adoptSessionsOf(node);
      await this.publishKeptWills(node);
      await this.flushAnnouncements();
      const reaped = await this.client.reap(
        [
          this.keys.nodes,
          this.keys.routes(node),
          this.keys.routeLog,
          this.keys.owned(node),
          this.keys.control(node),
          this.keys.wills(node),
          this.keys.figures,
        ],
        node,
      );
      if (reaped === 0) return; // it is back: it reads its own inbox
      await this.drainInbox(node, adopted);
      await sleep(Math.min(1000, this.leaseMs / 3)); // forwards made before the others saw it go
      await this.drainInbox(node, adopted);
      await this.client.del(this.keys.inbox(node));
    } finally {
      this.dutiesOf = '';
      await this.client.del(this.keys.duty(node)).catch(() => 0);
    }
  }

  /**
   * Takes into this node's pools the stored sessions of the client ids `node` owns. A client id
   * without a stored session (one that was not persistent) is let go.
   */
  private async adoptSessionsOf(node: string): Promise<Map<JoinedPool, Subscriber[]>> {
    const adopted = new Map<JoinedPool, Subscriber[]>();
    for (const member of await this.client.smembers(this.keys.owned(node))) {
      const { pool, filter: clientId } = parseRouteMember(member);
      const joined = this.pools.get(pool);
      if (joined === undefined) continue;
      const session = await joined.pool.takeStored(clientId);
      if (session === undefined) {
        await this.releaseFor(node, pool, clientId);
        continue;
      }
      const sessions = adopted.get(joined) ?? [];
      sessions.push(session);
      adopted.set(joined, sessions);
    }
    return adopted;
  }

  /**
   * Routes what a dead node's inbox holds to the sessions taken from it, and to no one else: the
   * other subscribers had their own copies sent to their own nodes.
   */
  private async drainInbox(node: string, adopted: Map<JoinedPool, Subscriber[]>): Promise<void> {
    const routers = new Map<string, Router>();
    for (const [joined, sessions] of adopted) {
      const router = new Router();
      for (const session of sessions) {
        for (const { filter, options } of joined.pool.router.subscriptionsOf(session)) {
          router.subscribe(session, filter, options);
        }
      }
      routers.set(joined.pool.name, router);
    }
    const key = this.keys.inbox(node);
    for (;;) {
      const entries = await (this.client as unknown as BufferStreams).xrangeBuffer(
        key,
        '-',
        '+',
        'COUNT',
        READ_COUNT,
      );
      if (entries.length === 0) return;
      const ids: string[] = [];
      for (const [id, fields] of entries) {
        ids.push(id.toString());
        const value = fields[1];
        if (value !== undefined) this.deliverForwarded(value, routers);
      }
      await Promise.all([...adopted.keys()].map((joined) => joined.pool.flushStore()));
      await this.client.xdel(key, ...ids);
    }
  }

  private async releaseFor(node: string, pool: string, clientId: string): Promise<void> {
    await this.client.release(
      this.keys.owner(pool, clientId),
      this.keys.owned(node),
      node,
      routeMember(pool, clientId),
    );
  }
}

/** Creates a {@link ClusterNode}; it connects to Redis at once and joins with {@link ClusterNode.join}. */
export function createClusterNode(options: ClusterNodeOptions): ClusterNode {
  return new ClusterNode(options);
}

function isSysFilter(filter: string): boolean {
  return filter.startsWith(SYS_PREFIX) || filter === '$SYS';
}

function fieldsOf(fields: Buffer[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) {
    out[(fields[i] as Buffer).toString()] = (fields[i + 1] as Buffer).toString();
  }
  return out;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
