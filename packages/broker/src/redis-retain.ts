import type { RetainStore } from '@mqtt-sessions/retain';
import type * as RetainRedis from '@mqtt-sessions/retain-redis';
import { ConfigError } from './config.js';
import type { RedisTarget } from './redis-target.js';

/**
 * The package that keeps retained messages in Redis. It is an optional dependency of the broker,
 * loaded only when a Redis URL is given: a broker that keeps its retained messages in memory never
 * loads a Redis client, and one installed without optional dependencies (`npm install
 * --omit=optional`) has none.
 */
export const RETAIN_REDIS_PACKAGE = '@mqtt-sessions/retain-redis';

/** What the broker watches of a Redis connection: ioredis's `status` (`ready` when usable). */
export interface RedisConnection {
  readonly status: string;
  ping(): Promise<unknown>;
}

/** Where the broker keeps retained messages in Redis. */
export type RedisRetainOptions = RedisTarget & {
  readonly keyPrefix?: string | undefined;
  /** How long a command may take before it fails, in ms. */
  readonly commandTimeoutMs?: number | undefined;
};

/**
 * Loads `@mqtt-sessions/retain-redis` and creates its store. When the package is not installed,
 * rejects with a {@link ConfigError} that says what to install. `load` is for tests; `onError` hears
 * the client's connection errors.
 */
export async function createRedisRetain(
  options: RedisRetainOptions,
  load: () => Promise<unknown> = () => import('@mqtt-sessions/retain-redis'),
  onError: (error: Error) => void = () => {},
): Promise<RetainStore & { readonly client: RedisConnection }> {
  let retainRedis: typeof RetainRedis;
  try {
    retainRedis = (await load()) as typeof RetainRedis;
  } catch (error) {
    if (isMissingPackage(error, RETAIN_REDIS_PACKAGE)) {
      throw new ConfigError(
        `retained messages in Redis need the package ${RETAIN_REDIS_PACKAGE}, an optional ` +
          `dependency of @mqtt-sessions/broker that is not installed: install it next to the ` +
          `broker (npm install ${RETAIN_REDIS_PACKAGE}), or choose --retain-store sqlite`,
      );
    }
    throw error;
  }
  const store = retainRedis.createRedisRetainStore({
    ...('cluster' in options ? { cluster: options.cluster } : { url: options.url }),
    ...(options.keyPrefix === undefined ? {} : { keyPrefix: options.keyPrefix }),
    ...(options.commandTimeoutMs === undefined
      ? {}
      : { redisOptions: { commandTimeout: options.commandTimeoutMs } }),
  });
  // ioredis reconnects by itself; the caller logs what goes wrong meanwhile.
  store.client.on('error', onError);
  return store;
}

/** Whether `error` is Node's "Cannot find package 'name'" from an import. */
export function isMissingPackage(error: unknown, name: string): boolean {
  return (
    error instanceof Error &&
    (error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' &&
    error.message.includes(`'${name}'`)
  );
}
