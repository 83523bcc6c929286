/**
 * The broker's cluster mode in this process, on a real Redis: what it refuses, `/healthz`, and
 * the cluster totals under `$SYS/broker/cluster/`.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { type Broker, ConfigError, createBroker } from '../src/index.js';
import { connectClient, nextMessage, startBroker } from './helpers.js';

const redisUrl = process.env.REDIS_URL;
const inCi = process.env.CI !== undefined && process.env.CI !== '';

describe('cluster options', () => {
  it('refuses --cluster and --workers without Redis, or with sessions or retained messages elsewhere', async () => {
    await expect(createBroker({ cluster: true })).rejects.toThrow(/--cluster needs --redis-url/);
    await expect(createBroker({ workers: 2 })).rejects.toThrow(/--workers needs --redis-url/);
    await expect(
      createBroker({ cluster: true, redisUrl: 'redis://127.0.0.1:1', store: 'memory' }),
    ).rejects.toThrow(ConfigError);
    await expect(
      createBroker({ cluster: true, redisUrl: 'redis://127.0.0.1:1', retainStore: 'memory' }),
    ).rejects.toThrow(/--retain-store redis/);
    await expect(createBroker({ workers: 0 })).rejects.toThrow(/--workers must be 1 or more/);
  });
});

describe.skipIf(redisUrl === undefined && !inCi)(
  redisUrl === undefined
    ? 'a broker in a cluster (REDIS_URL unset: skipped)'
    : 'a broker in a cluster',
  () => {
    let brokers: Broker[] = [];
    afterEach(async () => {
      for (const broker of brokers) await broker.close();
      brokers = [];
    });

    async function start(nodeId: string, prefix: string): Promise<Broker> {
      if (redisUrl === undefined) throw new Error('REDIS_URL is required in CI');
      const broker = await startBroker({
        cluster: true,
        redisUrl,
        redisPrefix: prefix,
        nodeId,
        store: 'redis',
        clusterLeaseMs: 1500,
      });
      brokers.push(broker);
      return broker;
    }

    it('reports its node id and peers on /healthz', async () => {
      const prefix = `hz-${randomBytes(4).toString('hex')}:`;
      const a = await start('hz-a', prefix);
      await start('hz-b', prefix);
      const url = `http://127.0.0.1:${a.addresses().metrics}/healthz`;
      let body: { status: string; cluster?: { nodeId: string; peers: number } } = { status: '' };
      for (let i = 0; i < 100 && body.cluster?.peers !== 1; i++) {
        body = (await (await fetch(url)).json()) as typeof body;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(body).toMatchObject({ status: 'ok', cluster: { nodeId: 'hz-a', peers: 1 } });
    });

    it('publishes the cluster totals under $SYS/broker/cluster/ from one broker', async () => {
      const prefix = `sys-${randomBytes(4).toString('hex')}:`;
      const a = await start('sys-a', prefix);
      const b = await start('sys-b', prefix);
      await new Promise((resolve) => setTimeout(resolve, 1200)); // both see each other
      const client = await connectClient(`mqtt://127.0.0.1:${a.addresses().tcp}`);
      try {
        await client.subscribeAsync('$SYS/broker/cluster/clients/connected');
        const next = nextMessage(client, 5000);
        // sys-a has the lower node id: its round of figures carries the totals.
        const stats = (a as unknown as { sys: { publishStats(): Promise<unknown> } }).sys;
        await (b as unknown as { sys: { publishStats(): Promise<unknown> } }).sys.publishStats();
        await stats.publishStats();
        const message = await next;
        expect(message.payload.toString()).toBe('1'); // this client, on sys-a
      } finally {
        await client.endAsync();
      }
    });
  },
);
