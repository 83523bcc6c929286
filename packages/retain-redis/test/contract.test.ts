import { describeRetainStore } from '@mqtt-sessions/retain/testkit';
import { Redis } from 'ioredis';
import { afterAll, expect } from 'vitest';
import { createRedisRetainStore } from '../src/index.js';
import { describeWithRedis } from './redis-for-tests.js';

await describeWithRedis('RedisRetainStore', (url) => {
  const client = new Redis(url);
  const runPrefix = `test:retain-redis:contract:${process.pid}:${Date.now()}:`;
  let stores = 0;

  afterAll(async () => {
    // The kit clears every store after its test, so anything left under this run's prefix leaked.
    const leftover = await client.keys(`${runPrefix}*`);
    if (leftover.length > 0) await client.del(...leftover);
    await client.quit();
    expect(leftover).toEqual([]);
  });

  describeRetainStore('RedisRetainStore', ({ clock }) =>
    createRedisRetainStore({ client, clock, keyPrefix: `${runPrefix}${stores++}:` }),
  );
});
