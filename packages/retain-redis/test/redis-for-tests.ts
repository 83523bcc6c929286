import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * The Redis the tests run against: `REDIS_URL` when set; in CI (env `CI`) a missing URL is an
 * error the suite must report; elsewhere a throwaway `redis-server` on a free loopback port when
 * the binary exists, or a reason to skip.
 */
export type RedisForTests =
  | { readonly kind: 'ready'; readonly url: string; stop(): Promise<void> }
  | { readonly kind: 'missing-in-ci'; readonly reason: string }
  | { readonly kind: 'skip'; readonly reason: string };

/**
 * Registers a suite that needs Redis: it runs `body` with the server's URL, fails with one test
 * named 'REDIS_URL is required in CI' in CI without a URL, or is skipped with the reason in its name.
 */
export async function describeWithRedis(name: string, body: (url: string) => void): Promise<void> {
  const redis = await redisForTests();
  if (redis.kind === 'missing-in-ci') {
    describe(name, () => {
      it('REDIS_URL is required in CI', () => {
        throw new Error(redis.reason);
      });
    });
  } else if (redis.kind === 'skip') {
    describe.skip(`${name} (${redis.reason})`, () => {
      it('needs a Redis server', () => {
        expect.unreachable('a skipped suite never runs');
      });
    });
  } else {
    describe(name, () => {
      afterAll(() => redis.stop()); // registered first, so it runs after the body's own hooks
      body(redis.url);
    });
  }
}

/** Finds or starts the Redis for this test file; see {@link RedisForTests}. */
export async function redisForTests(): Promise<RedisForTests> {
  const url = process.env.REDIS_URL;
  if (url !== undefined && url !== '') return { kind: 'ready', url, stop: async () => {} };
  if (process.env.CI !== undefined && process.env.CI !== '') {
    return { kind: 'missing-in-ci', reason: 'REDIS_URL is required in CI' };
  }
  if (spawnSync('redis-server', ['--version']).error !== undefined) {
    return {
      kind: 'skip',
      reason: 'skipped: REDIS_URL is unset and no redis-server binary was found',
    };
  }
  return startThrowawayRedis();
}

async function startThrowawayRedis(): Promise<RedisForTests> {
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  const kill = () => child.kill();
  process.once('exit', kill);
  const url = `redis://127.0.0.1:${port}`;
  await waitForPing(url, child);
  return {
    kind: 'ready',
    url,
    stop: async () => {
      process.off('exit', kill);
      await stopChild(child);
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitForPing(url: string, child: ChildProcess): Promise<void> {
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  // Refused connections are expected until the server listens; each attempt's failure is handled below.
  client.on('error', () => {});
  try {
    for (let attempt = 0; attempt < 100; attempt++) {
      if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
      try {
        await client.connect();
        if ((await client.ping()) === 'PONG') return;
      } catch {
        client.disconnect();
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    throw new Error(`redis-server on ${url} did not answer PING`);
  } finally {
    client.disconnect();
  }
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill();
  });
}
