export {
  ClusterNode,
  type ClusterNodeOptions,
  type ClusterNodeStats,
  createClusterNode,
} from './cluster-node.js';
export { type ClusterKeys, clusterKeys } from './keys.js';
export { OwnerRegistry } from './owner-registry.js';
export type { RedisClient, RedisTarget } from './redis.js';
