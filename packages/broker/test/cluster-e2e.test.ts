/**
 * Three real broker processes (the CLI with `--cluster`) on a real Redis, as one MQTT service,
 * with MQTT.js and mosquitto-clients: publish and subscribe across brokers at every QoS with MQTT
 * 5 options, a session taken over across brokers, a shared group spread over the brokers, a
 * retained message set on one broker and read on another.
 */
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  awaitRoute,
  type BrokerProcess,
  connectV5,
  startClusterBroker,
  startWorkers,
  type TestClient,
  until,
} from './cluster-process.js';

const run = promisify(execFile);
const redisUrl = process.env.REDIS_URL;
const clusterSeeds = process.env.REDIS_CLUSTER_URLS;
const inCi = process.env.CI !== undefined && process.env.CI !== '';

/** A Redis the brokers run on, as they are told about it. */
interface RedisUnderTest {
  readonly name: string;
  readonly args: readonly string[];
}

/** Every Redis there is to test against: one server (REDIS_URL) and a Redis Cluster. */
const redisKinds: RedisUnderTest[] = [
  ...(redisUrl ? [{ name: 'one Redis', args: ['--redis-url', redisUrl] }] : []),
  ...(clusterSeeds ? [{ name: 'a Redis Cluster', args: ['--redis-cluster', clusterSeeds] }] : []),
];

if (redisKinds.length === 0) {
  describe.skipIf(!inCi)('a cluster of brokers (REDIS_URL unset: skipped)', () => {
    it('needs REDIS_URL in CI', () => {
      throw new Error('REDIS_URL is required in CI');
    });
  });
}
const mosquittoInstalled = spawnSync('mosquitto_pub', ['--help']).error === undefined;

for (const redis of redisKinds)
  describe(`a cluster of three brokers on ${redis.name}`, () => {
    let brokers: BrokerProcess[] = [];
    const clients: TestClient[] = [];

    beforeAll(async () => {
      const prefix = `e2e-${randomBytes(4).toString('hex')}:`;
      brokers = await Promise.all(
        ['a', 'b', 'c'].map((name) => startClusterBroker(redis.args, prefix, `node-${name}`)),
      );
    }, 30_000);

    afterAll(async () => {
      await Promise.all(clients.map(({ client }) => client.endAsync(true).catch(() => undefined)));
      await Promise.all(brokers.map((broker) => broker.stop()));
    });

    async function client(on: number, id: string, options = {}): Promise<TestClient> {
      const connected = await connectV5(brokers[on] as BrokerProcess, id, options);
      clients.push(connected);
      return connected;
    }

    it('delivers across brokers at QoS 0, 1 and 2 with Subscription Identifiers and User Properties', async () => {
      const subscriber = await client(1, 'x-sub');
      await subscriber.client.subscribeAsync('x/#', {
        qos: 2,
        properties: { subscriptionIdentifier: 42 },
      });
      const publisher = await client(0, 'x-pub');
      await awaitRoute(publisher, subscriber, 'x/probe');
      for (const qos of [0, 1, 2] as const) {
        await publisher.client.publishAsync(`x/q${qos}`, `m${qos}`, {
          qos,
          properties: { userProperties: { b: '2', a: '1' }, contentType: 'text/plain' },
        });
      }
      const real = () => subscriber.received.filter((m) => m.topic !== 'x/probe');
      await until(() => real().length === 3, 10_000, 'three messages');
      expect(real().map((m) => [m.topic, m.payload, m.packet.qos])).toEqual([
        ['x/q0', 'm0', 0],
        ['x/q1', 'm1', 1],
        ['x/q2', 'm2', 2],
      ]);
      for (const message of real()) {
        expect(message.packet.properties?.subscriptionIdentifier).toBe(42);
        expect(message.packet.properties?.userProperties).toEqual({ b: '2', a: '1' });
        expect(message.packet.properties?.contentType).toBe('text/plain');
      }
    });

    it.skipIf(!mosquittoInstalled && !inCi)(
      'passes messages between mosquitto_pub on one broker and mosquitto_sub on another',
      async () => {
        if (!mosquittoInstalled) throw new Error('mosquitto-clients are required in CI');
        const [a, , c] = brokers as [BrokerProcess, BrokerProcess, BrokerProcess];
        // A QoS 1 persistent session on C, made and left by mosquitto_sub itself.
        const common = ['-h', '127.0.0.1', '-V', 'mqttv5', '-q', '1'];
        const subscribe = [...common, '-p', String(c.port), '-i', 'mosq-sub', '-c', '-x', '600'];
        await run('mosquitto_sub', [...subscribe, '-t', 'mosq/data/#', '-W', '1']).catch(
          () => undefined, // -W ends it with a timeout status once its subscription is made
        );
        const probe = await client(0, 'mosq-probe');
        const watcher = await client(2, 'mosq-watch');
        // Routes travel in order: once A routes the watcher's filter to C, it routes the older one.
        await watcher.client.subscribeAsync('mosq/#', { qos: 1 });
        await awaitRoute(probe, watcher, 'mosq/probe');
        for (let i = 0; i < 3; i++) {
          await run('mosquitto_pub', [
            ...common,
            '-p',
            String(a.port),
            '-t',
            `mosq/data/${i}`,
            '-m',
            `hello ${i}`,
          ]);
        }
        // The offline session on C queued the three: collect them.
        const { stdout } = await run('mosquitto_sub', [
          ...subscribe,
          '-t',
          'mosq/data/#',
          '-C',
          '3',
          '-W',
          '10',
        ]);
        expect(stdout.trim().split('\n')).toEqual(['hello 0', 'hello 1', 'hello 2']);
      },
    );

    it('takes a session over across brokers: DISCONNECT 0x8E on the old one, Session Present on the new', async () => {
      const options = { clean: false, properties: { sessionExpiryInterval: 600 } };
      const first = await client(0, 'mover', options);
      await first.client.subscribeAsync('move/#', { qos: 1 });
      const disconnected = new Promise<number | undefined>((resolve) =>
        first.client.once('disconnect', (packet) => resolve(packet.reasonCode)),
      );
      const second = await client(2, 'mover', options);
      expect(await disconnected).toBe(0x8e);
      expect(second.connack.sessionPresent).toBe(true);
      const publisher = await client(1, 'move-pub');
      await awaitRoute(publisher, second, 'move/probe');
      await publisher.client.publishAsync('move/now', 'here', { qos: 1 });
      await until(() => second.received.some((m) => m.topic === 'move/now'), 10_000, 'the message');
    });

    it('gives each message of a shared group over three brokers to exactly one member', async () => {
      const members = [await client(0, 'g-0'), await client(1, 'g-1'), await client(2, 'g-2')];
      for (const member of members)
        await member.client.subscribeAsync('$share/work/jobs/#', { qos: 1 });
      // Plain watchers on every broker see when each broker has the routes of the others.
      const watchers = [await client(0, 'w-0'), await client(1, 'w-1'), await client(2, 'w-2')];
      for (const watcher of watchers) await watcher.client.subscribeAsync('jobs/#', { qos: 1 });
      const publisher = await client(0, 'g-pub');
      for (const watcher of watchers) await awaitRoute(publisher, watcher, 'jobs/probe');
      // Routes of the shared subscriptions went out before the watchers': they are known too.
      const count = 60;
      for (let i = 0; i < count; i++)
        await publisher.client.publishAsync('jobs/run', `j${i}`, { qos: 1 });
      const jobs = (c: TestClient) => c.received.filter((m) => m.topic === 'jobs/run');
      await until(
        () => members.reduce((n, m) => n + jobs(m).length, 0) >= count,
        10_000,
        'the jobs',
      );
      await until(() => watchers.every((w) => jobs(w).length === count), 10_000, 'the watchers');
      await new Promise((resolve) => setTimeout(resolve, 200)); // a duplicate would be here by now
      const got = members.flatMap((m) => jobs(m).map((message) => message.payload)).sort();
      expect(got).toEqual(Array.from({ length: count }, (_, i) => `j${i}`).sort());
      for (const member of members) expect(jobs(member).length).toBeGreaterThan(0);
    });

    it('gives a retained message set on one broker to a subscriber on another', async () => {
      const publisher = await client(0, 'r-pub');
      await publisher.client.publishAsync('status/door', 'open', { qos: 1, retain: true });
      const late = await client(2, 'r-sub');
      await late.client.subscribeAsync('status/+', { qos: 1 });
      await until(() => late.received.length === 1, 10_000, 'the retained message');
      expect(late.received[0]?.payload).toBe('open');
      expect(late.received[0]?.packet.retain).toBe(true);
    });
  });

for (const redis of redisKinds)
  describe(`a broker of a cluster killed under load, on ${redis.name}`, () => {
    let brokers: BrokerProcess[] = [];
    const clients: TestClient[] = [];

    afterAll(async () => {
      await Promise.all(clients.map(({ client }) => client.endAsync(true).catch(() => undefined)));
      await Promise.all(brokers.map((broker) => broker.stop()));
    });

    async function client(broker: BrokerProcess, id: string, options = {}): Promise<TestClient> {
      const connected = await connectV5(broker, id, options);
      clients.push(connected);
      return connected;
    }

    it('delivers every acknowledged QoS 1 message to persistent subscribers that move to another broker, and publishes the Wills once', async () => {
      const prefix = `kill-${randomBytes(4).toString('hex')}:`;
      brokers = await Promise.all(
        ['a', 'b', 'c'].map((name) => startClusterBroker(redis.args, prefix, `kill-${name}`)),
      );
      const [a, b, c] = brokers as [BrokerProcess, BrokerProcess, BrokerProcess];
      const watcher = await client(a, 'will-watch');
      await watcher.client.subscribeAsync('wills/#', { qos: 1 });
      const persistent = (id: string) => ({
        clean: false,
        properties: { sessionExpiryInterval: 600 },
        will: {
          topic: `wills/${id}`,
          payload: Buffer.from(`${id} gone`),
          qos: 1 as const,
          retain: false,
        },
      });
      const ids = ['s1', 's2'];
      const before: TestClient[] = [];
      for (const id of ids) {
        const subscriber = await client(c, id, persistent(id));
        await subscriber.client.subscribeAsync('load/#', { qos: 1 });
        before.push(subscriber);
      }
      // A session with expiry 0 on C, with a Will: C keeps it where the others find it.
      await client(c, 'fleeting', {
        will: {
          topic: 'wills/fleeting',
          payload: Buffer.from('fleeting gone'),
          qos: 1,
          retain: false,
        },
      });
      const publisher = await client(a, 'loader');
      for (const subscriber of before) await awaitRoute(publisher, subscriber, 'load/probe');

      const total = 600;
      const killAt = 200;
      const acked: string[] = [];
      for (let n = 0; n < total; n++) {
        if (n === killAt) await c.kill();
        await publisher.client.publishAsync(`load/${n}`, String(n), { qos: 1 });
        acked.push(String(n));
      }

      const after: TestClient[] = [];
      for (const id of ids) {
        const back = await client(b, id, { ...persistent(id), connectTimeout: 20_000 });
        expect(back.connack.sessionPresent, id).toBe(true);
        after.push(back);
      }
      const got = (i: number) =>
        new Set(
          [...(before[i] as TestClient).received, ...(after[i] as TestClient).received]
            .filter((m) => m.topic !== 'load/probe')
            .map((m) => m.payload),
        );
      for (let i = 0; i < ids.length; i++) {
        await until(() => acked.every((n) => got(i).has(n)), 20_000, `every message for ${ids[i]}`);
      }
      // Each Will once: give a second publication the time to show.
      await until(() => watcher.received.length >= ids.length + 1, 10_000, 'the Wills');
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(watcher.received.map((m) => m.payload).sort()).toEqual([
        'fleeting gone',
        's1 gone',
        's2 gone',
      ]);
    }, 90_000);
  });

for (const redis of redisKinds)
  describe(`--workers on ${redis.name}`, () => {
    it('serves one port from two worker processes as one service, and stops them all on SIGTERM', async () => {
      const { port, stop, log } = await startWorkers(redis.args, 2);
      try {
        const probe = await connectV5({ port } as BrokerProcess, 'probe');
        const subscribers: TestClient[] = [];
        for (let i = 0; i < 6; i++) {
          const subscriber = await connectV5({ port } as BrokerProcess, `w-sub-${i}`);
          await subscriber.client.subscribeAsync('w/#', { qos: 1 });
          subscribers.push(subscriber);
        }
        for (const subscriber of subscribers) await awaitRoute(probe, subscriber, 'w/probe');
        await probe.client.publishAsync('w/hello', 'to all', { qos: 1 });
        for (const subscriber of subscribers) {
          await until(
            () => subscriber.received.some((m) => m.topic === 'w/hello'),
            10_000,
            'hello',
          );
        }
        // Both workers joined, under their own node ids.
        expect(log()).toMatch(/"nodeId":"w-1","msg":"joined the cluster"/);
        expect(log()).toMatch(/"nodeId":"w-2","msg":"joined the cluster"/);
        await Promise.all([probe, ...subscribers].map(({ client }) => client.endAsync(true)));
      } finally {
        expect(await stop()).toBe(0);
      }
    }, 60_000);
  });
