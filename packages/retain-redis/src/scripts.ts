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

/**
 * Shared by every script. KEYS[1] topics, KEYS[2] expiry, KEYS[3] sizes, KEYS[4] bytes (see
 * `RetainKeys`); ARGV[1] the message key prefix, ARGV[2] the store clock's now in ms.
 *
 * Message keys are built from ARGV[1] inside the scripts rather than passed as KEYS, because a
 * match names its topics only after reading the index: the store is for a single Redis server
 * (or a primary with replicas), or for a Redis Cluster when the key prefix holds a hash tag, which
 * keeps every key of the store in one slot.
 */
const HEADER = `
local function drop(topic)
  redis.call('DEL', ARGV[1] .. topic)
  redis.call('ZREM', KEYS[1], topic)
  redis.call('ZREM', KEYS[2], topic)
  local size = redis.call('HGET', KEYS[3], topic)
  if size then
    redis.call('HDEL', KEYS[3], topic)
    redis.call('DECRBY', KEYS[4], size)
  end
end
local function prune(limit)
  local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[2], 'LIMIT', 0, limit)
  for i = 1, #due do drop(due[i]) end
  return #due
end
`;

/**
 * Stores a message. ARGV[3] topic, [4] payload, [5] QoS, [6] storedAt, [7] deadline or '',
 * [8] properties JSON or '', [9] accounted bytes, [10] time to live in ms or '', [11] the encoded
 * properties as published or ''. Prunes a few
 * expired topics on the way, so the index stays small even when nobody reads.
 */
export const SET_SCRIPT = new LuaScript(`${HEADER}
prune(16)
local topic = ARGV[3]
local key = ARGV[1] .. topic
drop(topic)
redis.call('HSET', key, 'p', ARGV[4], 'q', ARGV[5], 't', ARGV[6], 'x', ARGV[7], 'r', ARGV[8], 'b', ARGV[11])
if ARGV[10] ~= '' then
  redis.call('PEXPIRE', key, ARGV[10])
  redis.call('ZADD', KEYS[2], ARGV[7], topic)
end
redis.call('ZADD', KEYS[1], 0, topic)
redis.call('HSET', KEYS[3], topic, ARGV[9])
redis.call('INCRBY', KEYS[4], ARGV[9])
return 1
`);

/** Deletes the message of topic ARGV[3] and its index entries. */
export const DELETE_SCRIPT = new LuaScript(`${HEADER}
prune(16)
drop(ARGV[3])
return 1
`);

/**
 * Reads the messages of topics ARGV[3..]: for each, {payload, qos, storedAt, deadline, properties,
 * encoded properties}
 * or 0 when there is no live message. A topic whose key Redis removed on its own (its PX passed,
 * or memory eviction) or whose deadline passed on the store clock is dropped from the index here,
 * so index entries never outlive their message for longer than the next read.
 */
export const FETCH_SCRIPT = new LuaScript(`${HEADER}
local now = tonumber(ARGV[2])
local out = {}
for i = 3, #ARGV do
  local topic = ARGV[i]
  local fields = redis.call('HMGET', ARGV[1] .. topic, 'p', 'q', 't', 'x', 'r', 'b')
  if not fields[6] then fields[6] = '' end
  if not fields[1] or (fields[4] ~= '' and tonumber(fields[4]) <= now) then
    drop(topic)
    out[#out + 1] = 0
  else
    out[#out + 1] = fields
  end
end
return out
`);

/** Prunes up to 1000 expired topics and returns {pruned, count, bytes}. */
export const STATS_SCRIPT = new LuaScript(`${HEADER}
local pruned = prune(1000)
return {pruned, redis.call('ZCARD', KEYS[1]), tonumber(redis.call('GET', KEYS[4]) or '0')}
`);

/** The batch {@link STATS_SCRIPT} prunes; a full batch means more may be due. */
export const PRUNE_BATCH = 1000;

/** Deletes up to 500 messages; once none is left, the index keys. Returns 1 while more remain. */
export const CLEAR_SCRIPT = new LuaScript(`${HEADER}
local topics = redis.call('ZRANGE', KEYS[1], 0, 499)
for i = 1, #topics do
  redis.call('DEL', ARGV[1] .. topics[i])
end
if #topics > 0 then
  redis.call('ZREM', KEYS[1], unpack(topics))
end
if redis.call('ZCARD', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
  return 0
end
return 1
`);
