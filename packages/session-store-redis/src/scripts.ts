import { createHash } from 'node:crypto';

/** A Lua script and its SHA-1, for `EVALSHA` with a fallback to `EVAL`. */
export class LuaScript {
  readonly source: string;
  readonly sha: string;

  constructor(source: string) {
    this.source = source;
    this.sha = createHash('sha1').update(source).digest('hex');
  }
}

/** The keys of one session in a script's KEYS, in this order, 5 per session. */
export const KEYS_PER_SESSION = 5;

/** Operation codes of {@link APPLY_SCRIPT}, with the arguments after the session number. */
export const OP = {
  /** record: SET the record; adds the session to its pool index when the script keeps it. */
  session: 's',
  /** DEL every key of the session; removes it from its pool index when the script keeps it. */
  delete: 'd',
  /** filter, encoded subscription */
  subscribe: 'a',
  /** filter */
  unsubscribe: 'u',
  /** seq, encoded message */
  message: 'm',
  /** seq */
  messageDone: 'x',
  /** packet id */
  releaseAdd: 'r',
  /** packet id */
  releaseRemove: 'q',
} as const;

/** How many ARGV entries each operation takes, its code and session number included. */
export const OP_ARITY: Readonly<Record<string, number>> = {
  s: 3,
  d: 2,
  a: 4,
  u: 3,
  m: 4,
  x: 3,
  r: 3,
  q: 3,
};

/**
 * Applies a batch of changes to one or more sessions, in order, in one script: Redis runs it
 * without interleaving any other command, and replicates it (and writes it to the AOF) as one
 * MULTI/EXEC, so readers, replicas and a reloaded AOF see all of it or none.
 *
 * KEYS: for session i (from 1), KEYS[5i-4 .. 5i] are its record, subscriptions, order, messages
 * and release keys; after them the pool index keys, if the script keeps them.
 * ARGV[1]: '1' when the script keeps the pool indexes (a single Redis), '0' when the caller does
 * (Redis Cluster, where an index lives in another slot). ARGV[2]: n, the number of sessions.
 * Then for each session: the position of its pool index in KEYS (0 when not kept) and its client
 * id (the index member). Then the operations, each a code of {@link OP}, a session number and its
 * arguments. A change to a session that does not exist (after the changes before it) is ignored.
 *
 * Returns, for each session, 1 when it exists after the batch and 0 when not.
 */
export const APPLY_SCRIPT = new LuaScript(`
local keepIndex = ARGV[1] == '1'
local n = tonumber(ARGV[2])
local exists = {}
local function has(s)
  local e = exists[s]
  if e == nil then
    e = redis.call('EXISTS', KEYS[5 * s - 4]) == 1
    exists[s] = e
  end
  return e
end
local i = 3 + 2 * n
local argc = #ARGV
while i <= argc do
  local op = ARGV[i]
  local s = tonumber(ARGV[i + 1])
  local k = 5 * s - 4
  if op == 's' then
    if keepIndex and not has(s) then
      redis.call('ZADD', KEYS[tonumber(ARGV[1 + 2 * s])], 0, ARGV[2 + 2 * s])
    end
    redis.call('SET', KEYS[k], ARGV[i + 2])
    exists[s] = true
    i = i + 3
  elseif op == 'd' then
    redis.call('DEL', KEYS[k], KEYS[k + 1], KEYS[k + 2], KEYS[k + 3], KEYS[k + 4])
    if keepIndex then
      redis.call('ZREM', KEYS[tonumber(ARGV[1 + 2 * s])], ARGV[2 + 2 * s])
    end
    exists[s] = false
    i = i + 2
  elseif op == 'a' then
    if has(s) then redis.call('HSET', KEYS[k + 1], ARGV[i + 2], ARGV[i + 3]) end
    i = i + 4
  elseif op == 'u' then
    if has(s) then redis.call('HDEL', KEYS[k + 1], ARGV[i + 2]) end
    i = i + 3
  elseif op == 'm' then
    if has(s) then
      redis.call('ZADD', KEYS[k + 2], ARGV[i + 2], ARGV[i + 2])
      redis.call('HSET', KEYS[k + 3], ARGV[i + 2], ARGV[i + 3])
    end
    i = i + 4
  elseif op == 'x' then
    if has(s) then
      redis.call('ZREM', KEYS[k + 2], ARGV[i + 2])
      redis.call('HDEL', KEYS[k + 3], ARGV[i + 2])
    end
    i = i + 3
  elseif op == 'r' then
    if has(s) then redis.call('SADD', KEYS[k + 4], ARGV[i + 2]) end
    i = i + 3
  elseif op == 'q' then
    if has(s) then redis.call('SREM', KEYS[k + 4], ARGV[i + 2]) end
    i = i + 3
  else
    return redis.error_reply('unknown session store operation ' .. tostring(op))
  end
end
local out = {}
for s = 1, n do
  if has(s) then out[s] = 1 else out[s] = 0 end
end
return out
`);

/**
 * Reads one session: KEYS are its record, subscriptions, order, messages and release keys.
 * Returns nil when there is no record, else {record, {filter, subscription, ...}, {seq, ...},
 * {message, ...} (in seq order, one per seq), {packet id, ...}}, all read at one instant. The
 * last seq is the highest.
 */
export const LOAD_SCRIPT = new LuaScript(`
local record = redis.call('GET', KEYS[1])
if not record then return false end
local order = redis.call('ZRANGE', KEYS[3], 0, -1)
local messages = {}
for first = 1, #order, 1000 do
  local last = math.min(first + 999, #order)
  local chunk = redis.call('HMGET', KEYS[4], unpack(order, first, last))
  for j = 1, #chunk do messages[#messages + 1] = chunk[j] end
end
return {record, redis.call('HGETALL', KEYS[2]), order, messages, redis.call('SMEMBERS', KEYS[5])}
`);

/**
 * Reads one session's outline, all but its messages: KEYS are its record, subscriptions, order
 * and release keys (not the messages hash, which it never reads). Returns nil when there is no
 * record, else {record, {filter, subscription, ...}, {highest seq} or {} when there is no
 * message, {packet id, ...}}, all read at one instant. The highest seq is the last member of the
 * order sorted set, O(log n) to find.
 */
export const OUTLINE_SCRIPT = new LuaScript(`
local record = redis.call('GET', KEYS[1])
if not record then return false end
return {
  record,
  redis.call('HGETALL', KEYS[2]),
  redis.call('ZRANGE', KEYS[3], -1, -1),
  redis.call('SMEMBERS', KEYS[4])
}
`);
