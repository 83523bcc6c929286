import { describeRetainStore } from '@mqtt-sessions/retain/testkit';
import { Cluster, Redis } from 'ioredis';
import { afterAll, expect, it } from 'vitest';
import { describeWithRedisCluster } from '../../session-store-redis/test/redis-for-tests.js';
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

describeWithRedisCluster('RedisRetainStore on a Redis Cluster', (seeds) => {
  const client = new Cluster(seeds);
  const runPrefix = `test:retain-redis:cluster:${process.pid}:${Date.now()}:`;
  let stores = 0;

  afterAll(() => client.quit());

  // One hash tag per store: all its keys in one slot, which the scripts need.
  describeRetainStore('RedisRetainStore on a Redis Cluster', ({ clock }) =>
    createRedisRetainStore({ client, clock, keyPrefix: `${runPrefix}{s${stores++}}:` }),
  );

  it('refuses a key prefix without a hash tag on a Cluster', () => {
    expect(() => createRedisRetainStore({ client, keyPrefix: 'no-tag:' })).toThrow(/hash tag/);
  });
});
