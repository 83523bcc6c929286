import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../src/config.js';
import { createRedisRetain, RETAIN_REDIS_PACKAGE } from '../src/redis-retain.js';
import { connectClient, endClient, nextMessage, startBroker } from './helpers.js';

const brokerDir = fileURLToPath(new URL('..', import.meta.url));
const source = pathToFileURL(fileURLToPath(new URL('../src/redis-retain.ts', import.meta.url)));

describe('@mqtt-sessions/retain-redis is an optional dependency, loaded only for a Redis URL', () => {
  it('says what to install when Node cannot find the package', async () => {
    // A script outside the workspace, where Node's own resolver cannot find the package.
    const dir = await mkdtemp(join(tmpdir(), 'mqtt-sessions-no-redis-'));
    try {
      const script = join(dir, 'load.mjs');
      await writeFile(
        script,
        [
          `const { createRedisRetain } = await import(${JSON.stringify(source.href)});`,
          `await createRedisRetain({ url: 'redis://127.0.0.1:1' }, () => import('${RETAIN_REDIS_PACKAGE}'))`,
          '  .then(() => console.log("loaded"), (error) => console.log(error.name, error.message));',
        ].join('\n'),
      );
      const child = spawn(process.execPath, ['--import', 'tsx', script], {
        cwd: brokerDir,
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let stdout = '';
      child.stdout.on('data', (chunk) => {
        stdout += chunk;
      });
      const [code] = await once(child, 'exit');
      expect(code).toBe(0);
      expect(stdout).toContain('ConfigError');
      expect(stdout).toContain(`npm install ${RETAIN_REDIS_PACKAGE}`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('passes other load errors through unchanged', async () => {
    const broken = Object.assign(new Error("Cannot find package 'ioredis' imported from x"), {
      code: 'ERR_MODULE_NOT_FOUND',
    });
    const error = await createRedisRetain({ url: 'redis://127.0.0.1:1' }, () =>
      Promise.reject(broken),
    ).catch((thrown: unknown) => thrown);
    expect(error).toBe(broken);
    expect(error).not.toBeInstanceOf(ConfigError);
  });

  const url = process.env.REDIS_URL;
  it.skipIf(url === undefined)(
    `keeps retained messages in Redis when it is installed${url === undefined ? ' (skipped: REDIS_URL is unset)' : ''}`,
    async () => {
      const prefix = `mqtt-sessions-test:broker:${process.pid}:${Date.now()}:`;
      const broker = await startBroker({
        retainStore: 'redis',
        redisUrl: url,
        redisPrefix: prefix,
        wsPort: false,
      });
      const address = `mqtt://127.0.0.1:${broker.addresses().tcp}`;
      try {
        const publisher = await connectClient(address);
        await publisher.publishAsync('redis/retained', 'kept', { qos: 1, retain: true });
        await endClient(publisher);
        const subscriber = await connectClient(address);
        const message = nextMessage(subscriber);
        await subscriber.subscribeAsync('redis/#');
        expect((await message).payload.toString()).toBe('kept');
        await subscriber.publishAsync('redis/retained', '', { qos: 1, retain: true });
        await endClient(subscriber);
      } finally {
        await broker.close();
      }
    },
  );

  it.skipIf(url === undefined)(
    'keeps the $SYS figures of brokers that share a Redis apart, under their node ids',
    async () => {
      const prefix = `mqtt-sessions-test:broker-nodes:${process.pid}:${Date.now()}:`;
      const shared = { retainStore: 'redis' as const, redisUrl: url, redisPrefix: prefix };
      const a = await startBroker({ ...shared, nodeId: 'node-a', sysInterval: 3600 });
      const b = await startBroker({ ...shared, nodeId: 'node-b', sysInterval: 3600 });
      try {
        const topics = new Set<string>();
        let cursor = null;
        do {
          const page = await a.pools.defaultPool.retain.match('$SYS/#', { cursor, limit: 100 });
          for (const message of page.messages) topics.add(message.topic);
          cursor = page.cursor;
        } while (cursor !== null);
        expect(topics).toContain('$SYS/broker/nodes/node-a/uptime');
        expect(topics).toContain('$SYS/broker/nodes/node-b/uptime');
        expect(topics).not.toContain('$SYS/broker/uptime');
      } finally {
        await a.close();
        await b.close();
      }
    },
  );
});
