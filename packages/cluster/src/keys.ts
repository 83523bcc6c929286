/**
 * Where a cluster keeps its state in Redis. Every key that a script or a multi-key command uses
 * together carries the same hash tag, `{<prefix>cluster}`, so that all of them live in one slot of
 * a Redis Cluster: the node leases, the route table and its change log, the client id owners and
 * the control streams. Each node's inbox of forwarded messages is only ever used alone, so it has
 * a tag of its own and the message traffic spreads over the Cluster's masters.
 */
export interface ClusterKeys {
  /** Sorted set: node id -> the time (ms, Redis clock) its lease runs out. */
  readonly nodes: string;
  /** Stream of route changes: `n` node, `o` `+` / `-` / `x` (node gone), `m` member. */
  readonly routeLog: string;
  /** Set of a node's routes, each `<pool>\n<filter>`. */
  routes(node: string): string;
  /** String: the node that owns a client id of a pool. */
  owner(pool: string, clientId: string): string;
  /** Set of the client ids a node owns, each `<pool>\n<client id>`. */
  owned(node: string): string;
  /**
   * Hash of the Wills no session store keeps (sessions with expiry 0) of a node's live
   * connections: `<pool>\n<client id>` -> the encoded Will.
   */
  wills(node: string): string;
  /** Hash: node id -> its latest figures (JSON), for cluster totals. */
  readonly figures: string;
  /** String: the node that does the duties of a dead node, while it does them. */
  duty(node: string): string;
  /** Stream of requests to a node: `o` `takeover`, `p` pool, `c` client id. */
  control(node: string): string;
  /** Stream of messages forwarded to a node, read by its consumer group. */
  inbox(node: string): string;
}

/** The key layout under `prefix` (default `mqtt-sessions:`); the prefix must not hold `{` or `}`. */
export function clusterKeys(prefix = 'mqtt-sessions:'): ClusterKeys {
  if (/[{}]/.test(prefix)) throw new Error(`a cluster key prefix must not hold braces: ${prefix}`);
  const tag = `${prefix}{cluster}`;
  return {
    nodes: `${tag}:nodes`,
    routeLog: `${tag}:route-log`,
    routes: (node) => `${tag}:routes:${node}`,
    // The pool's length first: neither a pool name nor a client id can then fake another pair.
    owner: (pool, clientId) => `${tag}:owner:${pool.length}:${pool}:${clientId}`,
    owned: (node) => `${tag}:owned:${node}`,
    wills: (node) => `${tag}:wills:${node}`,
    figures: `${tag}:figures`,
    duty: (node) => `${tag}:duty:${node}`,
    control: (node) => `${tag}:control:${node}`,
    inbox: (node) => `${prefix}{inbox:${node}}`,
  };
}

/** A route as a set member: the pool and the filter (an owned client id is kept the same way). */
export function routeMember(pool: string, filter: string): string {
  return `${pool}\n${filter}`;
}

/** The pool and filter of a route member. */
export function parseRouteMember(member: string): { pool: string; filter: string } {
  const at = member.indexOf('\n');
  return { pool: member.slice(0, at), filter: member.slice(at + 1) };
}
