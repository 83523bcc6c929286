import type * as ClusterPackage from '@mqtt-sessions/cluster';
import type { Pool, PoolOptions } from '@mqtt-sessions/pool';
import { ConfigError } from './config.js';
import type { BrokerOptions } from './options.js';
import { isMissingPackage, type RedisConnection } from './redis-retain.js';
import { hasRedis, redisTarget } from './redis-target.js';
import type { ClusterFigures } from './sys-topics.js';

/** The package of cluster mode, an optional dependency like the Redis stores. */
export const CLUSTER_PACKAGE = '@mqtt-sessions/cluster';

/**
 * A broker's membership of a cluster, as the broker uses it: a `ClusterNode` of
 * `@mqtt-sessions/cluster`, an optional dependency, so its type is not named here.
 */
export interface ClusterMembership extends ClusterFigures {
  readonly nodeId: string;
  /** The node's Redis connection, for `/healthz`. */
  readonly redis: RedisConnection;
  /** The client id registry a pool of this node uses. */
  registry(pool: string): NonNullable<PoolOptions<unknown>['registry']>;
  join(pools: readonly Pool<unknown>[]): Promise<void>;
  leave(closePools?: () => Promise<void>): Promise<void>;
  stats(): { readonly nodeId: string; readonly peers: number };
}

/**
 * Refuses cluster options that cannot work, as a user would fix them: the brokers of a cluster
 * meet in Redis, and keep their sessions and retained messages there.
 */
export function checkClusterOptions(options: BrokerOptions): void {
  if (!Number.isInteger(options.workers) || options.workers < 1) {
    throw new ConfigError(`--workers must be 1 or more, not ${options.workers}`);
  }
  if (!options.cluster && options.workers === 1) return;
  const flag = options.workers > 1 ? '--workers' : '--cluster';
  if (!hasRedis(options)) {
    throw new ConfigError(
      `${flag} needs --redis-url (or --redis-cluster): the brokers of a cluster share their ` +
        'sessions, retained messages and routes through Redis',
    );
  }
  if (options.store !== 'redis') {
    throw new ConfigError(
      `${flag} keeps sessions in Redis: use --store redis, not ${options.store}`,
    );
  }
  if (options.retainStore !== 'redis') {
    throw new ConfigError(
      `${flag} keeps retained messages in Redis: use --retain-store redis, not ${options.retainStore}`,
    );
  }
}

/**
 * Connects this broker's cluster node (it joins when the broker starts). The package is loaded
 * only here: a broker that does not cluster never loads it.
 */
export async function openClusterNode(
  options: BrokerOptions,
  onError: (error: unknown) => void,
  onLeaseLost: () => void,
): Promise<ClusterMembership> {
  let cluster: typeof ClusterPackage;
  try {
    cluster = await import('@mqtt-sessions/cluster');
  } catch (error) {
    if (isMissingPackage(error, CLUSTER_PACKAGE)) {
      throw new ConfigError(
        `--cluster needs the package ${CLUSTER_PACKAGE}, an optional dependency of ` +
          `@mqtt-sessions/broker that is not installed: install it next to the broker ` +
          `(npm install ${CLUSTER_PACKAGE})`,
      );
    }
    throw error;
  }
  const target = redisTarget(options);
  return cluster.createClusterNode({
    ...('cluster' in target ? { cluster: [...target.cluster] } : { url: target.url }),
    redisOptions: { commandTimeout: options.redisTimeoutMs },
    nodeId: options.nodeId,
    keyPrefix: options.redisPrefix,
    leaseMs: options.clusterLeaseMs,
    onError,
    onLeaseLost,
  });
}
