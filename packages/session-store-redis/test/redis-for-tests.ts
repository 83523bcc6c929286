import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { Cluster, Redis } from 'ioredis';
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
    describeSkipped(name, redis.reason);
  } else {
    describe(name, () => {
      afterAll(() => redis.stop()); // registered first, so it runs after the body's own hooks
      body(redis.url);
    });
  }
}

/**
 * The seed nodes of the Redis Cluster to test against, from `REDIS_CLUSTER_URLS`
 * (comma-separated `host:port`), or undefined when it is unset.
 */
export function clusterSeeds(): { host: string; port: number }[] | undefined {
  const urls = process.env.REDIS_CLUSTER_URLS;
  if (urls === undefined || urls.trim() === '') return undefined;
  return urls.split(',').map((seed) => {
    const trimmed = seed.trim().replace(/^redis:\/\//, '');
    const colon = trimmed.lastIndexOf(':');
    return { host: trimmed.slice(0, colon), port: Number(trimmed.slice(colon + 1)) };
  });
}

/**
 * Registers a suite that needs a Redis Cluster: it runs `body` with the seed nodes of
 * `REDIS_CLUSTER_URLS`, or is skipped when that is unset (`ci/redis-cluster.sh` starts one).
 */
export function describeWithRedisCluster(
  name: string,
  body: (seeds: { host: string; port: number }[]) => void,
): void {
  const seeds = clusterSeeds();
  if (seeds === undefined) {
    describeSkipped(name, 'skipped: REDIS_CLUSTER_URLS is unset');
  } else {
    describe(name, () => body(seeds));
  }
}

function describeSkipped(name: string, reason: string): void {
  describe.skip(`${name} (${reason})`, () => {
    it('needs a Redis server', () => {
      expect.unreachable('a skipped suite never runs');
    });
  });
}

/** The client itself, or every master of a Cluster (once it knows them). */
async function nodesOf(client: Redis | Cluster): Promise<Redis[]> {
  if (!(client instanceof Cluster)) return [client];
  await client.ping(); // a new Cluster client knows no node until it has connected
  return client.nodes('master');
}

/** Deletes every key that starts with `prefix`, on a Redis or on every master of a Cluster. */
export async function deleteKeysUnder(client: Redis | Cluster, prefix: string): Promise<number> {
  const nodes = await nodesOf(client);
  let deleted = 0;
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      // One key per DEL: on a Cluster node, a multi-key DEL must stay in one slot.
      for (const key of keys) deleted += await node.del(key);
    } while (cursor !== '0');
  }
  return deleted;
}

/** Every key that starts with `prefix`, sorted, on a Redis or on every master of a Cluster. */
export async function keysUnder(client: Redis | Cluster, prefix: string): Promise<string[]> {
  const nodes = await nodesOf(client);
  const found: string[] = [];
  for (const node of nodes) found.push(...(await node.keys(`${prefix}*`)));
  return found.sort();
}

/** Finds or starts the Redis for this test file; see {@link RedisForTests}. */
export async function redisForTests(): Promise<RedisForTests> {
  const url = process.env.REDIS_URL;
  if (url !== undefined && url !== '') return { kind: 'ready', url, stop: async () => {} };
  if (process.env.CI !== undefined && process.env.CI !== '') {
    return { kind: 'missing-in-ci', reason: 'REDIS_URL is required in CI' };
  }
  if (!hasRedisServer()) {
    return {
      kind: 'skip',
      reason: 'skipped: REDIS_URL is unset and no redis-server binary was found',
    };
  }
  return startRedisServer();
}

/** Whether a `redis-server` binary is on the PATH. */
export function hasRedisServer(): boolean {
  return spawnSync('redis-server', ['--version']).error === undefined;
}

/** A `redis-server` this test started: its URL, and ways to kill and stop it. */
export interface OwnRedis {
  readonly kind: 'ready';
  readonly url: string;
  readonly port: number;
  /** Sends SIGKILL and waits for the exit: no shutdown, no final save. */
  kill(): Promise<void>;
  /** Stops it with SIGTERM (a normal shutdown). */
  stop(): Promise<void>;
}

/**
 * Starts a `redis-server` on a free loopback port, with no persistence unless `args` say
 * otherwise (e.g. `['--appendonly', 'yes', '--dir', dir]`), and waits until it answers PING.
 */
export async function startRedisServer(
  args: readonly string[] = [],
  port?: number,
): Promise<OwnRedis> {
  const chosen = port ?? (await freePort());
  const child = spawn(
    'redis-server',
    ['--port', String(chosen), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...args],
    { stdio: 'ignore' },
  );
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  const url = `redis://127.0.0.1:${chosen}`;
  await waitForPing(url, child);
  return {
    kind: 'ready',
    url,
    port: chosen,
    kill: async () => {
      process.off('exit', kill);
      await stopChild(child, 'SIGKILL');
    },
    stop: async () => {
      process.off('exit', kill);
      await stopChild(child, 'SIGTERM');
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
    for (let attempt = 0; attempt < 200; attempt++) {
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

function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}
