import { ConfigError } from './config.js';
import type { BrokerOptions } from './options.js';

/** Where the broker's Redis is: one server's URL, or the seed nodes of a Redis Cluster. */
export type RedisTarget = { readonly url: string } | { readonly cluster: readonly string[] };

/** The Redis of `--redis-url` or `--redis-cluster`; a ConfigError when there is none. */
export function redisTarget(options: BrokerOptions): RedisTarget {
  if (options.redisCluster !== undefined) {
    const seeds = options.redisCluster
      .split(',')
      .map((seed) => seed.trim().replace(/^redis:\/\//, ''))
      .filter((seed) => seed !== '');
    if (seeds.length === 0) throw new ConfigError('--redis-cluster needs host:port seed nodes');
    return { cluster: seeds };
  }
  if (options.redisUrl === undefined) {
    throw new ConfigError(
      'a Redis store needs --redis-url (for example redis://127.0.0.1:6379) or --redis-cluster',
    );
  }
  return { url: options.redisUrl };
}

/** Whether the options name a Redis at all. */
export function hasRedis(options: Pick<BrokerOptions, 'redisUrl' | 'redisCluster'>): boolean {
  return options.redisUrl !== undefined || options.redisCluster !== undefined;
}

/** The Redis for the log, without a password. */
export function describeRedis(options: BrokerOptions): string {
  if (options.redisCluster !== undefined) return `Redis Cluster ${options.redisCluster}`;
  const url = options.redisUrl;
  if (url === undefined) return 'none';
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'an unparsable URL';
  }
}
