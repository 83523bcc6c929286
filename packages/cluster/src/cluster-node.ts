import { randomBytes } from 'node:crypto';
import type { Pool, PoolRelay } from '@mqtt-sessions/pool';
import type { Subscriber } from '@mqtt-sessions/router';
import { Forwarding } from './forwarding.js';
import { Inbox } from './inbox.js';
import { KeptWills } from './kept-wills.js';
import { type ClusterKeys, clusterKeys, parseRouteMember, routeMember } from './keys.js';
import {
  BLOCK_MS,
  fieldsOf,
  type JoinedPool,
  type NodeParts,
  READ_COUNT,
  sleep,
} from './node-parts.js';
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
import { RouteTable } from './route-table.js';

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
  /**
   * Called when a heartbeat finds that the other nodes counted this one dead (its lease ran out
   * while it was alive: a stalled event loop, Redis out of reach) and took over its duties: its
   * sessions live on another node now, so its own copies must go, and the safe way is to stop the
   * process and start it again. Without it the node only writes its routes again.
   */
  readonly onLeaseLost?: () => void;
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
  private readonly onLeaseLost: (() => void) | undefined;
  private readonly client: RedisClient & ClusterCommands;
  private readonly routeReader: RedisClient;
  private readonly inboxReader: RedisClient;
  private readonly pools = new Map<string, JoinedPool>();
  private readonly registries = new Map<string, OwnerRegistry<unknown>>();
  private readonly forwarding: Forwarding;
  private readonly routes: RouteTable;
  private readonly inbox: Inbox;
  private readonly wills: KeptWills;
  /** Other live nodes, as the last heartbeat saw them. */
  private readonly peers = new Set<string>();
  /** Dead nodes whose duties are queued or being done here. */
  private readonly duties = new Set<string>();
  private dutyChain: Promise<void> = Promise.resolve();
  /** The dead node whose duties this node does now, or ''. */
  private dutiesOf = '';
  private heartbeat: NodeJS.Timeout | undefined = undefined;
  private loops: Promise<void>[] = [];
  private joined = false;
  private closed = false;
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
    this.onLeaseLost = options.onLeaseLost;
    this.client = openClient(options);
    this.client.on('error', (error: unknown) => this.onError(error));
    this.routeReader = openReader(this.client);
    this.routeReader.on('error', () => {}); // the command client reports the same outage
    this.inboxReader = openReader(this.client);
    this.inboxReader.on('error', () => {});
    const parts: NodeParts = {
      nodeId: this.nodeId,
      keys: this.keys,
      client: this.client,
      pools: this.pools,
      onError: (error) => this.onError(error),
    };
    this.inbox = new Inbox(parts, this.inboxReader);
    this.forwarding = new Forwarding(this.nodeId, (node, entries) =>
      this.inbox.append(node, entries),
    );
    this.routes = new RouteTable(parts, this.forwarding);
    this.wills = new KeptWills(parts);
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
          claim: (p, clientId, adopting) => this.claim(p, clientId, adopting),
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
    // An earlier life of this node id may have left duties: no other node may do them while this
    // one takes them back, and one that is doing them finishes first.
    await this.lockDutiesOf(this.nodeId, true);
    try {
      await this.client.heartbeat(this.keys.nodes, this.nodeId, this.leaseMs);
      // Its sessions come back first, so that the route set written next holds their filters,
      // and the inbox read after it reaches them.
      await this.adoptSessionsOf(this.nodeId);
      await this.routes.rejoin(this.leaseMs);
      this.setPeers(await this.routes.resync());
      // Wills of connections an earlier life had: they go to every node, so after the resync.
      await this.wills.publishAll(this.nodeId);
      await this.inbox.create();
    } finally {
      await this.client.unlock(this.keys.duty(this.nodeId), this.nodeId);
    }
    this.joined = true;
    this.routes.live = true;
    const controlFrom = await this.answerRecentRequests();
    this.loops = [this.readRoutes(controlFrom), this.inbox.read(() => this.closed)];
    this.heartbeat = setInterval(() => void this.beat(), Math.max(50, this.leaseMs / 3));
    this.heartbeat.unref();
  }

  /**
   * Leaves the cluster. It stops reading its inbox and keeps its routes as they are, runs
   * `closePools` (close the pools there: their persistent sessions are stored and stay this
   * node's), sends what is still being forwarded, ends this node's lease at once, and closes the
   * Redis connections. Another node then takes over its duties, as for a node that died, but
   * without waiting for the lease: it takes the sessions and the messages that went on arriving
   * for them. Without another node, this node id takes them back when it starts again.
   */
  async leave(closePools?: () => Promise<void>): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // The routes of the sessions about to be stored stay: messages for them wait in the inbox.
    this.routes.live = false;
    clearInterval(this.heartbeat);
    this.inboxReader.disconnect();
    await this.loops[1];
    await closePools?.();
    await this.forwarding.flush().catch((error: unknown) => this.onError(error));
    await this.routes.flush();
    await this.wills.flush();
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
    const { local, remote } = this.routes.sizes();
    return {
      nodeId: this.nodeId,
      peers: this.peers.size,
      remoteRoutes: remote,
      localRoutes: local,
      forwarded: this.forwarding.forwarded,
      received: this.inbox.received,
      unrouted: this.inbox.unrouted,
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
    return this.routes.routesTo(node, pool, filter);
  }

  private attach(pool: Pool<unknown>): void {
    const joined: JoinedPool = { pool, relays: new Map(), counts: new Map(), wills: new Set() };
    this.pools.set(pool.name, joined);
    const relay: PoolRelay = {
      subscribed: (filter) => this.routes.count(joined, filter, 1),
      unsubscribed: (filter) => this.routes.count(joined, filter, -1),
      forwarded: () => this.forwarding.takeWait(),
      volatileWill: (clientId, will) => this.wills.keep(joined, clientId, will),
    };
    pool.host.relay = relay;
  }

  private setPeers(nodes: readonly string[]): void {
    this.peers.clear();
    for (const node of nodes) if (node !== this.nodeId) this.peers.add(node);
  }

  /** Follows the route change log, and this node's control stream from `controlFrom` on. */
  private async readRoutes(controlFrom: string): Promise<void> {
    const controlKey = this.keys.control(this.nodeId);
    let controlId = controlFrom;
    let failed = false;
    while (!this.closed) {
      try {
        if (failed) {
          // Changes may have been missed while Redis was away.
          this.setPeers(await this.routes.resync());
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
          this.routes.logId,
          controlId,
        )) as StreamReply;
        for (const [key, entries] of reply ?? []) {
          const isLog = key.toString() === this.keys.routeLog;
          for (const [id, fields] of entries) {
            const entry = fieldsOf(fields);
            if (isLog) {
              this.routes.logId = id.toString();
              this.routes.apply(entry.n ?? '', entry.o ?? '', entry.m ?? '');
            } else {
              controlId = id.toString();
              this.onControl(entry);
            }
          }
        }
      } catch (error) {
        if (this.closed) return;
        this.onError(error);
        failed = true;
        await sleep(BLOCK_MS);
      }
    }
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
      pause = Math.min(pause * 2, 250);
    }
    this.takeovers++;
  }

  private onControl(entry: Record<string, string>): void {
    if (entry.o !== 'takeover' || entry.p === undefined || entry.c === undefined) return;
    const registry = this.registries.get(entry.p);
    if (registry === undefined) return;
    const clientId = entry.c;
    this.handovers++;
    // A session taken from a dead node goes on only once that node's inbox was routed to it.
    this.dutyChain
      .then(() => registry.handOver(clientId))
      .catch((error: unknown) => this.onError(error));
  }

  /**
   * Answers the takeover requests of the last two leases, which may have come while an earlier
   * life of this node id was down; returns where the control stream is to be read from.
   */
  private async answerRecentRequests(): Promise<string> {
    const key = this.keys.control(this.nodeId);
    const since = Math.max(0, Date.now() - 2 * this.leaseMs);
    const streams = this.client as unknown as BufferStreams;
    const recent = await streams.xrangeBuffer(key, String(since), '+');
    for (const [, fields] of recent) this.onControl(fieldsOf(fields));
    const last =
      recent.at(-1)?.[0].toString() ??
      (await this.client.xrevrange(key, '+', '-', 'COUNT', 1))[0]?.[0];
    return last ?? '0-0';
  }

  private claim(pool: string, clientId: string, adopting: boolean): Promise<string> {
    return this.client.claim(
      [this.keys.owner(pool, clientId), this.keys.nodes, this.keys.owned(this.nodeId)],
      this.nodeId,
      routeMember(pool, clientId),
      adopting ? this.dutiesOf : '',
    );
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
      this.setPeers(live);
      if (added === 1 && this.onLeaseLost !== undefined) {
        // Others found this node's lease run out and took its sessions over.
        this.onError(
          new Error(`node ${this.nodeId} lost its lease: its duties went to another node`),
        );
        this.onLeaseLost();
        return;
      }
      // Others found this node's lease run out and dropped its routes: write them again.
      if (added === 1 || this.routes.mustRejoin) await this.routes.rejoin(this.leaseMs);
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
   * clients resume them from here), publishes the Wills it kept for its other connections,
   * routes the messages its inbox still holds to the sessions, and only then removes it from the
   * cluster. Messages go on to its inbox until its routes are gone, so the inbox is read again
   * after that.
   */
  private async takeDutiesOf(node: string): Promise<void> {
    if (this.closed) return;
    const keys = this.keys;
    if (!(await this.lockDutiesOf(node, false))) return;
    this.dutiesOf = node;
    try {
      const adopted = await this.adoptSessionsOf(node);
      await this.wills.publishAll(node);
      await this.routes.flush();
      const reaped = await this.client.reap(
        [
          keys.nodes,
          keys.routes(node),
          keys.routeLog,
          keys.owned(node),
          keys.control(node),
          keys.wills(node),
          keys.figures,
        ],
        node,
      );
      if (reaped === 0) return; // it is back: it reads its own inbox
      await this.inbox.drain(node, adopted);
      await sleep(Math.min(1000, this.leaseMs / 3)); // forwards made before the others saw it go
      await this.inbox.drain(node, adopted);
      await this.client.del(keys.inbox(node));
    } finally {
      this.dutiesOf = '';
      await this.client.unlock(keys.duty(node), this.nodeId).catch(() => 0);
    }
  }

  /**
   * Takes the lock on a node's duties for three leases (renewed as the work goes on). With
   * `wait`, waits for a node that holds it to finish (up to three leases); else gives up at once.
   */
  private async lockDutiesOf(node: string, wait: boolean): Promise<boolean> {
    const key = this.keys.duty(node);
    const deadline = Date.now() + this.leaseMs * 3;
    for (;;) {
      const locked = await this.client.set(key, this.nodeId, 'PX', this.leaseMs * 3, 'NX');
      if (locked === 'OK') return true;
      if (!wait || Date.now() > deadline) return false;
      await sleep(100);
    }
  }

  /**
   * Takes into this node's pools the stored sessions of the client ids `node` owns; a CONNECT for
   * one of them waits meanwhile and then finds it. A client id without a stored session (one that
   * was not persistent) is let go; one that a live node holds now is left to it.
   */
  private async adoptSessionsOf(node: string): Promise<Map<JoinedPool, Subscriber[]>> {
    const adopted = new Map<JoinedPool, Subscriber[]>();
    for (const member of await this.client.smembers(this.keys.owned(node))) {
      const { pool, filter: clientId } = parseRouteMember(member);
      const joined = this.pools.get(pool);
      const registry = this.registries.get(pool);
      if (joined === undefined || registry === undefined) continue;
      if (node !== this.nodeId) {
        await this.client.renew(this.keys.duty(node), this.nodeId, this.leaseMs * 3);
      }
      const session = await registry.adopt(clientId, () => joined.pool.takeStored(clientId));
      if (session !== undefined) {
        const sessions = adopted.get(joined) ?? [];
        sessions.push(session);
        adopted.set(joined, sessions);
      } else if (!registry.holds(clientId)) {
        // Nothing stored: the id is let go, unless a live node took it meanwhile.
        const holder = await this.claim(pool, clientId, node !== this.nodeId);
        if (holder === '') await this.releaseFor(this.nodeId, pool, clientId);
      }
    }
    return adopted;
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
