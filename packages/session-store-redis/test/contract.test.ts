import type { SessionStore } from '@mqtt-sessions/session-store';
import { describeSessionStore } from '@mqtt-sessions/session-store/testkit';
import { Cluster, Redis } from 'ioredis';
import { afterAll } from 'vitest';
import { createRedisSessionStore, type RedisSessionStore } from '../src/index.js';
import { deleteKeysUnder, describeWithRedis, describeWithRedisCluster } from './redis-for-tests.js';

// Each store gets a prefix of its own under this run's; `reopen` opens a new client on the same
// server and prefix, so the kit checks that everything is in Redis, not in the store object.

await describeWithRedis('RedisSessionStore on Redis', (url) => {
  const runPrefix = `test:session-store-redis:contract:${process.pid}:${Date.now()}:`;
  let stores = 0;

  afterAll(async () => {
    const admin = new Redis(url);
    await deleteKeysUnder(admin, runPrefix);
    await admin.quit();
  });

  describeSessionStore(
    'RedisSessionStore (single Redis)',
    () => createRedisSessionStore({ url, keyPrefix: `${runPrefix}${stores++}:` }),
    {
      reopen: async (store: SessionStore) => {
        await store.close();
        return createRedisSessionStore({ url, keyPrefix: (store as RedisSessionStore).keyPrefix });
      },
    },
  );
});

describeWithRedisCluster('RedisSessionStore on Redis Cluster', (seeds) => {
  const runPrefix = `test:session-store-redis:contract:${process.pid}:${Date.now()}:`;
  let stores = 0;

  afterAll(async () => {
    const admin = new Cluster(seeds);
    await deleteKeysUnder(admin, runPrefix);
    await admin.quit();
  });

  describeSessionStore(
    'RedisSessionStore (Redis Cluster)',
    () => createRedisSessionStore({ cluster: seeds, keyPrefix: `${runPrefix}${stores++}:` }),
    {
      reopen: async (store: SessionStore) => {
        await store.close();
        return createRedisSessionStore({
          cluster: seeds,
          keyPrefix: (store as RedisSessionStore).keyPrefix,
        });
      },
    },
  );
});
