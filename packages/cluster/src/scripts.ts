/**
 * The Lua scripts of a cluster node. Each touches only the keys it is given, all in the cluster's
 * one hash slot (see `keys.ts`), and reads time from Redis, so that nodes on machines with
 * different clocks agree on whose lease has run out.
 */

const NOW = `
redis.replicate_commands()
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/**
 * Joins or renews: KEYS nodes; ARGV node, lease ms. Returns 1 when the node was not a member (a
 * first join, or a lease that others found run out and reaped), the nodes whose lease ran out,
 * and the live ones.
 */
export const HEARTBEAT = `${NOW}
local added = redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
return {
  added,
  redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. now),
  redis.call('ZRANGEBYSCORE', KEYS[1], now, '+inf')
}
`;

/**
 * Starts a node's route set afresh: KEYS nodes, routes, route-log; ARGV node, lease ms, then the
 * members. Logs `x` (forget the node's routes) then `+` for each member, so that others that knew
 * an earlier life of this node id drop what it no longer has.
 */
export const REJOIN = `${NOW}
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('DEL', KEYS[2])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', '100000', '*', 'n', ARGV[1], 'o', 'x', 'm', '')
for i = 3, #ARGV do
  redis.call('SADD', KEYS[2], ARGV[i])
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', '100000', '*', 'n', ARGV[1], 'o', '+', 'm', ARGV[i])
end
return #ARGV - 2
`;

/**
 * Records route changes in order: KEYS routes, route-log; ARGV node, then pairs of op (`+` or `-`)
 * and member. Only a change that changes the set is logged.
 */
export const ANNOUNCE = `
local logged = 0
for i = 2, #ARGV, 2 do
  local op, member = ARGV[i], ARGV[i + 1]
  local changed
  if op == '+' then changed = redis.call('SADD', KEYS[1], member)
  else changed = redis.call('SREM', KEYS[1], member) end
  if changed == 1 then
    redis.call('XADD', KEYS[2], 'MAXLEN', '~', '100000', '*', 'n', ARGV[1], 'o', op, 'm', member)
    logged = logged + 1
  end
end
return logged
`;

/**
 * Removes a node whose lease ran out, once its duties are done: KEYS nodes, its routes,
 * route-log, its owned set, its control stream, its Wills, the figures; ARGV node. Returns 1 when it was removed here, 0
 * when it renewed meanwhile or another node removed it first.
 */
export const REAP = `${NOW}
local lease = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not lease or tonumber(lease) >= now then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2], KEYS[4], KEYS[5], KEYS[6])
redis.call('HDEL', KEYS[7], ARGV[1])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', '100000', '*', 'n', ARGV[1], 'o', 'x', 'm', '')
return 1
`;

/** Takes a node out of the cluster as it leaves: KEYS nodes, its routes, route-log; ARGV node. */
export const LEAVE = `
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', '100000', '*', 'n', ARGV[1], 'o', 'x', 'm', '')
return 1
`;

/**
 * Claims a client id: KEYS owner, nodes, this node's owned set; ARGV node, member, and the dead
 * node whose duties this node does (or ''). Takes it when nobody holds it, this node does, or its
 * holder has left the cluster, and returns ''; otherwise returns the holder. A holder whose lease
 * ran out but that is still a member keeps it until the node doing its duties takes it: that node
 * moves the messages still on their way to its sessions first.
 */
export const CLAIM = `${NOW}
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then
  local lease = redis.call('ZSCORE', KEYS[2], holder)
  if lease and (tonumber(lease) >= now or holder ~= ARGV[3]) then return holder end
end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[2])
return ''
`;

/** The holder of a client id while it is a member of the cluster (alive or not yet reaped), or '': KEYS owner, nodes. */
export const HOLDER = `
local holder = redis.call('GET', KEYS[1])
if not holder then return '' end
if redis.call('ZSCORE', KEYS[2], holder) then return holder end
return ''
`;

/** Gives a client id up when this node holds it: KEYS owner, owned set; ARGV node, member. */
export const RELEASE = `
redis.call('SREM', KEYS[2], ARGV[2])
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/** Renews a lock this node holds: KEYS lock; ARGV node, ms. Returns 0 when it holds it no more. */
export const RENEW = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('PEXPIRE', KEYS[1], ARGV[2])
`;

/** Lets a lock go when this node holds it: KEYS lock; ARGV node. */
export const UNLOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;
