export { DEFAULT_RETAIN_KEY_PREFIX, type RetainKeys, retainKeys } from './keys.js';
export {
  createRedisRetainStore,
  RedisRetainStore,
  type RedisRetainStoreCommonOptions,
  type RedisRetainStoreOptions,
} from './redis-retain-store.js';
