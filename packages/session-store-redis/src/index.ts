export {
  checkKeyPrefix,
  DEFAULT_SESSION_KEY_PREFIX,
  escapeKeyPart,
  poolIndexKey,
  type SessionKeys,
  sessionKeys,
  sessionTag,
} from './keys.js';
export {
  createRedisSessionStore,
  MAX_SCRIPT_ARGS,
  RedisSessionStore,
  type RedisSessionStoreCommonOptions,
  type RedisSessionStoreOptions,
} from './redis-session-store.js';
export type { RedisClient } from './run-script.js';
