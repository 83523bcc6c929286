import { parseRouteMember, routeMember } from './keys.js';
import type { JoinedPool, NodeParts } from './node-parts.js';
import type { Forwarder } from './node-relay.js';
import { NodeRelay } from './node-relay.js';

/** Filters that stay on each node: `$SYS` topics describe one broker. */
const SYS_PREFIX = '$SYS/';

/**
 * The cluster's routes as one node sees them. Its own: the filters of its pools' own subscribers,
 * counted here and announced to Redis as changes (a set per node, and a change log every node
 * follows). The others': one {@link NodeRelay} per other node and pool, subscribed in the pool's
 * router to that node's filters.
 */
export class RouteTable {
  /** The last change of the log applied here. */
  logId = '0-0';
  /** Announcements are written once the node has joined; `rejoin` writes the whole set first. */
  live = false;
  /** The route set in Redis may differ from the counts here: write it whole on the next beat. */
  mustRejoin = false;
  private readonly parts: NodeParts;
  private readonly forwarder: Forwarder;
  private pending: string[] = [];
  private scheduled = false;
  private written: Promise<void> = Promise.resolve();

  constructor(parts: NodeParts, forwarder: Forwarder) {
    this.parts = parts;
    this.forwarder = forwarder;
  }

  /** A subscription of a pool's own subscriber came (`1`) or went (`-1`). */
  count(joined: JoinedPool, filter: string, change: 1 | -1): void {
    if (filter.startsWith(SYS_PREFIX) || filter === '$SYS') return;
    const member = routeMember(joined.pool.name, filter);
    const count = (joined.counts.get(member) ?? 0) + change;
    if (count < 0) return;
    if (count === 0) joined.counts.delete(member);
    else joined.counts.set(member, count);
    if (count === 0) this.announce('-', member);
    else if (count === 1 && change === 1) this.announce('+', member);
  }

  /** Writes the route changes gathered so far, in order after the ones before. */
  flush(): Promise<void> {
    this.scheduled = false;
    const ops = this.pending;
    this.pending = [];
    if (ops.length === 0) return this.written;
    const { client, keys, nodeId } = this.parts;
    this.written = this.written.then(() =>
      client.announce(keys.routes(nodeId), keys.routeLog, nodeId, ...ops).then(
        () => undefined,
        (error: unknown) => {
          this.mustRejoin = true;
          this.parts.onError(error);
        },
      ),
    );
    return this.written;
  }

  /** Writes this node's lease and its whole route set, replacing what Redis had of it. */
  async rejoin(leaseMs: number): Promise<void> {
    const { client, keys, nodeId, pools } = this.parts;
    const members: string[] = [];
    for (const joined of pools.values()) members.push(...joined.counts.keys());
    this.mustRejoin = false;
    await client.rejoin(
      [keys.nodes, keys.routes(nodeId), keys.routeLog],
      nodeId,
      leaseMs,
      ...members,
    );
  }

  /**
   * Reads every other node's route set afresh, from the change log's last entry on, which the
   * node then follows (a change read twice does no harm: a set is kept either way).
   *
   * @returns The other nodes that are members of the cluster.
   */
  async resync(): Promise<string[]> {
    const { client, keys, nodeId, pools } = this.parts;
    const last = await client.xrevrange(keys.routeLog, '+', '-', 'COUNT', 1);
    const nodes = (await client.zrange(keys.nodes, 0, -1)).filter((node) => node !== nodeId);
    const wanted = new Map<string, Map<string, Set<string>>>(); // node -> pool -> filters
    for (const node of nodes) {
      const byPool = new Map<string, Set<string>>();
      for (const member of await client.smembers(keys.routes(node))) {
        const { pool, filter } = parseRouteMember(member);
        const filters = byPool.get(pool) ?? new Set<string>();
        byPool.set(pool, filters);
        filters.add(filter);
      }
      wanted.set(node, byPool);
    }
    for (const [name, joined] of pools) {
      for (const [node, relay] of joined.relays) {
        relay.removeAllBut(wanted.get(node)?.get(name) ?? new Set());
        if (relay.size === 0) joined.relays.delete(node);
      }
      for (const [node, byPool] of wanted) {
        for (const filter of byPool.get(name) ?? []) this.relayOf(joined, node).add(filter);
      }
    }
    this.logId = last[0]?.[0] ?? '0-0';
    return nodes;
  }

  /** Applies one entry of the change log: `+` and `-` a route, `x` every route of a node. */
  apply(node: string, op: string, member: string): void {
    if (node === this.parts.nodeId) return;
    const pools = this.parts.pools;
    if (op === 'x') {
      for (const joined of pools.values()) {
        joined.relays.get(node)?.clear();
        joined.relays.delete(node);
      }
      return;
    }
    const { pool, filter } = parseRouteMember(member);
    const joined = pools.get(pool);
    if (joined === undefined) return; // a pool this node does not have
    if (op === '+') this.relayOf(joined, node).add(filter);
    else if (op === '-') joined.relays.get(node)?.remove(filter);
  }

  /** Whether `node` has announced `filter` in `pool`, as this node knows it now. */
  routesTo(node: string, pool: string, filter: string): boolean {
    return this.parts.pools.get(pool)?.relays.get(node)?.has(filter) === true;
  }

  /** Routes of this node's own, and of the others that it routes to. */
  sizes(): { local: number; remote: number } {
    let local = 0;
    let remote = 0;
    for (const joined of this.parts.pools.values()) {
      local += joined.counts.size;
      for (const relay of joined.relays.values()) remote += relay.size;
    }
    return { local, remote };
  }

  private announce(op: '+' | '-', member: string): void {
    if (!this.live) return;
    this.pending.push(op, member);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => void this.flush());
  }

  private relayOf(joined: JoinedPool, node: string): NodeRelay {
    let relay = joined.relays.get(node);
    if (relay === undefined) {
      relay = new NodeRelay(node, joined.pool.name, joined.pool.router, this.forwarder);
      joined.relays.set(node, relay);
    }
    return relay;
  }
}
