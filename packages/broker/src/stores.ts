import { join, resolve } from 'node:path';
import { createMemoryRetainStore, type RetainStore } from '@mqtt-sessions/retain';
import type { SessionStore } from '@mqtt-sessions/session-store';
import type * as SessionStoreRedis from '@mqtt-sessions/session-store-redis';
import type { SqliteStore } from '@mqtt-sessions/store-sqlite';
import { ConfigError } from './config.js';
import type { BrokerOptions, StoreKind } from './options.js';
import { createRedisRetain, isMissingPackage, type RedisConnection } from './redis-retain.js';
import { describeRedis, redisTarget } from './redis-target.js';

/** The package of the Redis session store, an optional dependency like the retained one. */
export const SESSION_STORE_REDIS_PACKAGE = '@mqtt-sessions/session-store-redis';

/** The stores a broker runs on, and a sentence for the start-up log saying where data lives. */
export interface BrokerStores {
  /** The session store; `undefined` keeps sessions in memory only. */
  readonly sessions: SessionStore | undefined;
  readonly retain: RetainStore;
  /** Fields for the start-up log line. */
  readonly where: Record<string, string>;
  /** The Redis connections the stores use, for `/healthz`. */
  readonly redis: readonly RedisConnection[];
}

/**
 * Opens the stores the options ask for. Failures a user can fix (a directory that cannot be
 * written, a database another broker holds, a missing optional package) become a
 * {@link ConfigError}: the CLI prints it and exits with status 2.
 */
export async function openStores(
  options: BrokerOptions,
  onRedisError: (error: Error) => void = () => {},
): Promise<BrokerStores> {
  const sqlite = usesSqlite(options) ? await openSqlite(options) : undefined;
  const redis: RedisConnection[] = [];
  try {
    const sessions = await openSessionStore(options, sqlite, redis, onRedisError);
    const retain = await openRetainStore(options, sqlite, redis, onRedisError);
    // The database closes when both of its stores have: close the one nobody will use.
    if (sqlite !== undefined && sessions !== sqlite.sessions) sqlite.sessions.close();
    if (sqlite !== undefined && retain !== sqlite.retain) sqlite.retain.close();
    return { sessions, retain, where: describe(options, sqlite), redis };
  } catch (error) {
    // Nothing half-open is left behind: the database lock goes with the error.
    sqlite?.close();
    throw error;
  }
}

function usesSqlite(options: BrokerOptions): boolean {
  return options.store === 'sqlite' || options.retainStore === 'sqlite';
}

/** Opens the SQLite database; the package (a native module) is loaded only when it is used. */
async function openSqlite(options: BrokerOptions): Promise<SqliteStore> {
  const { DEFAULT_SQLITE_FILE_NAME, openSqliteStore, SqliteStoreError } = await import(
    '@mqtt-sessions/store-sqlite'
  );
  const file = join(resolve(options.dataDir), DEFAULT_SQLITE_FILE_NAME);
  try {
    return openSqliteStore({ file, durability: options.durability });
  } catch (error) {
    if (error instanceof SqliteStoreError) throw new ConfigError(error.message);
    throw error;
  }
}

async function openSessionStore(
  options: BrokerOptions,
  sqlite: SqliteStore | undefined,
  redis: RedisConnection[],
  onRedisError: (error: Error) => void,
): Promise<SessionStore | undefined> {
  switch (options.store) {
    case 'memory':
      return undefined;
    case 'sqlite':
      return sqlite?.sessions;
    case 'redis': {
      const store = await openRedisSessionStore(options, onRedisError);
      redis.push(store.client);
      return store;
    }
  }
}

async function openRetainStore(
  options: BrokerOptions,
  sqlite: SqliteStore | undefined,
  redis: RedisConnection[],
  onRedisError: (error: Error) => void,
): Promise<RetainStore> {
  switch (options.retainStore) {
    case 'sqlite':
      if (sqlite === undefined) throw new Error('the SQLite store is not open');
      return sqlite.retain;
    case 'redis': {
      const target = redisTarget(options);
      const store = await createRedisRetain(
        {
          ...target,
          // On a Redis Cluster every key of the store shares one slot: a hash tag.
          keyPrefix: `${options.redisPrefix}${'cluster' in target ? '{retain}' : 'retain'}:`,
          commandTimeoutMs: options.redisTimeoutMs,
        },
        undefined,
        onRedisError,
      );
      redis.push(store.client);
      await reachable(
        () => store.client.ping(),
        () => store.close(),
        options,
      );
      return store;
    }
    case 'memory':
      return createMemoryRetainStore({
        ...(options.maxRetainedBytes === undefined ? {} : { maxBytes: options.maxRetainedBytes }),
        ...(options.maxRetainedMessages === undefined
          ? {}
          : { maxMessages: options.maxRetainedMessages }),
      });
  }
}

async function openRedisSessionStore(
  options: BrokerOptions,
  onRedisError: (error: Error) => void,
): Promise<SessionStore & { readonly client: RedisConnection }> {
  let module: typeof SessionStoreRedis;
  try {
    module = await import('@mqtt-sessions/session-store-redis');
  } catch (error) {
    if (isMissingPackage(error, SESSION_STORE_REDIS_PACKAGE)) {
      throw new ConfigError(
        `--store redis needs the package ${SESSION_STORE_REDIS_PACKAGE}, an optional dependency ` +
          `of @mqtt-sessions/broker that is not installed: install it next to the broker ` +
          `(npm install ${SESSION_STORE_REDIS_PACKAGE}), or choose --store sqlite`,
      );
    }
    throw error;
  }
  const target = redisTarget(options);
  const keyPrefix = `${options.redisPrefix}sessions:`;
  const redisOptions = { commandTimeout: options.redisTimeoutMs };
  const store = module.createRedisSessionStore(
    'cluster' in target
      ? { cluster: [...target.cluster], clusterOptions: { redisOptions }, keyPrefix }
      : { url: target.url, redisOptions, keyPrefix },
  );
  // ioredis reconnects by itself; the broker logs what goes wrong meanwhile.
  store.client.on('error', onRedisError);
  await reachable(
    () => store.count('default'),
    () => store.close(),
    options,
  );
  return store;
}

/** How long the broker waits for Redis at start-up before it gives up. */
const REDIS_START_TIMEOUT_MS = 10_000;

/**
 * Asks the store one question before the broker starts: a Redis that cannot be reached is a
 * clear error at start-up, not a broker that listens and then cannot acknowledge anything.
 */
async function reachable(
  ask: () => Promise<unknown>,
  close: () => unknown,
  options: BrokerOptions,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('no answer')), REDIS_START_TIMEOUT_MS);
  });
  try {
    await Promise.race([ask(), timeout]);
  } catch (error) {
    await Promise.resolve()
      .then(close)
      .catch(() => {});
    throw new ConfigError(
      `cannot reach Redis at ${describeRedis(options)} within ` +
        `${REDIS_START_TIMEOUT_MS / 1000} s: ${(error as Error).message}`,
    );
  } finally {
    clearTimeout(timer);
  }
}

function describe(options: BrokerOptions, sqlite: SqliteStore | undefined): Record<string, string> {
  const place = (kind: StoreKind): string => {
    switch (kind) {
      case 'memory':
        return 'memory (lost when the process ends)';
      case 'sqlite':
        return `${sqlite?.file} (durability ${options.durability})`;
      case 'redis':
        return `${describeRedis(options)} (key prefix ${options.redisPrefix})`;
    }
  };
  return { sessions: place(options.store), retained: place(options.retainStore) };
}
