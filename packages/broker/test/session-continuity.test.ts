/**
 * Session continuity end to end, over real TCP, on every store: what a client left behind is
 * there when it comes back. On the durable stores (SQLite, Redis) the broker is also restarted
 * while the client is away, so the same steps prove that the state came back from the store.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Packet } from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualTimers } from '../../pool/test/helpers.js';
import type { Broker, BrokerOptions } from '../src/index.js';
import { startBroker } from './helpers.js';
import { RawClient } from './raw-client.js';

const redisUrl = process.env.REDIS_URL;
let runs = 0;

interface StoreCase {
  readonly name: string;
  /** Whether the broker is restarted while clients are away. */
  readonly durable: boolean;
  readonly skip: boolean;
  options(): Promise<Partial<BrokerOptions>>;
}

const dirs: string[] = [];
const STORES: StoreCase[] = [
  { name: 'memory', durable: false, skip: false, options: async () => ({ store: 'memory' }) },
  {
    name: 'sqlite',
    durable: true,
    skip: false,
    options: async () => {
      const dir = await mkdtemp(join(tmpdir(), 'mqtt-sessions-continuity-'));
      dirs.push(dir);
      return { store: 'sqlite', dataDir: dir };
    },
  },
  {
    name: `redis${redisUrl === undefined ? ' (skipped: REDIS_URL is unset)' : ''}`,
    durable: true,
    skip: redisUrl === undefined,
    options: async () => ({
      store: 'redis',
      redisUrl,
      redisPrefix: `mqtt-sessions-test:continuity:${process.pid}:${Date.now()}:${runs++}:`,
    }),
  },
];

/** A broker on one store, with hand-driven session timers, that can be restarted on its data. */
class Harness {
  readonly timers = new ManualTimers();
  private readonly store: StoreCase;
  private readonly options: Partial<BrokerOptions>;
  private broker: Broker | undefined;

  private constructor(store: StoreCase, options: Partial<BrokerOptions>) {
    this.store = store;
    this.options = options;
  }

  static async start(store: StoreCase): Promise<Harness> {
    const harness = new Harness(store, await store.options());
    await harness.open();
    open.push(harness);
    return harness;
  }

  private async open(): Promise<void> {
    this.broker = await startBroker({ ...this.options, wsPort: false, timers: this.timers });
  }

  get port(): number {
    return this.broker?.addresses().tcp as number;
  }

  /** On a durable store: shuts the broker down and starts a new one on the same data. */
  async restart(): Promise<void> {
    if (!this.store.durable) return;
    await this.close();
    await this.open();
  }

  async close(): Promise<void> {
    await this.broker?.close(200);
    this.broker = undefined;
  }

  /**
   * Drops a client's connection and waits until the broker has seen it go, so that the timers
   * it starts (Will delay, session expiry) exist before the test moves the clock.
   */
  async drop(client: RawClient): Promise<void> {
    const pool = this.broker?.pools.defaultPool;
    const before = pool?.connectedCount() ?? 0;
    await client.drop();
    while ((pool?.connectedCount() ?? 0) >= before) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /** Connects a raw v5 client: Clean Start 0 and a Session Expiry of an hour unless told. */
  connect(clientId: string, options: Record<string, unknown> = {}) {
    return RawClient.connect(this.port, {
      clientId,
      clean: false,
      properties: { sessionExpiryInterval: 3600 },
      ...options,
    });
  }

  /** Publishes from a fresh client at QoS 1 and waits for the PUBACK. */
  async publish(topic: string, payload: string, qos: 1 | 2 = 1): Promise<void> {
    const { client } = await RawClient.connect(this.port, { clientId: '', clean: true });
    client.send({ cmd: 'publish', topic, payload, qos, messageId: 1, retain: false, dup: false });
    if (qos === 1) await client.next('puback');
    else {
      await client.next('pubrec');
      client.send({ cmd: 'pubrel', messageId: 1 });
      await client.next('pubcomp');
    }
    await client.disconnect();
  }
}

const open: Harness[] = [];
afterEach(async () => {
  for (const harness of open.splice(0)) await harness.close();
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

function subscribe(client: RawClient, topic: string, qos: 0 | 1 | 2, messageId = 1) {
  client.send({ cmd: 'subscribe', messageId, subscriptions: [{ topic, qos }] });
  return client.next('suback');
}

type Publish = Extract<Packet, { cmd: 'publish' }>;

/** Acknowledges an incoming PUBLISH completely (PUBACK, or PUBREC then PUBCOMP). */
async function acknowledge(client: RawClient, publish: Publish): Promise<void> {
  const messageId = publish.messageId as number;
  if (publish.qos === 1) client.send({ cmd: 'puback', messageId });
  if (publish.qos === 2) {
    client.send({ cmd: 'pubrec', messageId });
    await client.next('pubrel');
    client.send({ cmd: 'pubcomp', messageId });
  }
}

/**
 * Receives messages, acknowledging each, until `marker` arrives; returns the payloads before it.
 * A duplicate queued before the marker would show here, so no sleeping is needed to rule it out.
 */
async function receiveUntil(client: RawClient, marker: string): Promise<string[]> {
  const payloads: string[] = [];
  for (;;) {
    const publish = await client.next('publish');
    await acknowledge(client, publish);
    const payload = publish.payload.toString();
    if (payload === marker) return payloads;
    payloads.push(payload);
  }
}

describe.each(STORES)('session continuity over TCP, store $name', (store) => {
  it.skipIf(store.skip)(
    'delivers an inbound QoS 2 message once when the publisher resends it with DUP after a reconnect',
    async () => {
      const broker = await Harness.start(store);
      const sub = await broker.connect('q2-sub');
      await subscribe(sub.client, 'in/q2', 2);
      await sub.client.disconnect();

      const first = await broker.connect('q2-pub');
      const publish = {
        cmd: 'publish',
        topic: 'in/q2',
        payload: 'once',
        qos: 2,
        messageId: 7,
        retain: false,
        dup: false,
      } as const;
      first.client.send(publish);
      await first.client.next('pubrec');
      await first.client.drop(); // before PUBREL
      await broker.restart();

      const again = await broker.connect('q2-pub');
      expect(again.connack.sessionPresent).toBe(true);
      again.client.send({ ...publish, dup: true });
      expect((await again.client.next('pubrec')).messageId).toBe(7);
      again.client.send({ cmd: 'pubrel', messageId: 7 });
      expect((await again.client.next('pubcomp')).messageId).toBe(7);
      await again.client.disconnect();
      await broker.publish('in/q2', 'marker', 2);

      const back = await broker.connect('q2-sub');
      expect(back.connack.sessionPresent).toBe(true);
      expect(await receiveUntil(back.client, 'marker')).toEqual(['once']);
      await back.client.disconnect();
    },
  );

  it.skipIf(store.skip)(
    'sends unacknowledged QoS 1 and 2 messages again with DUP, and an unfinished QoS 2 as PUBREL [MQTT-4.4.0-1]',
    async () => {
      const broker = await Harness.start(store);
      const sub = await broker.connect('redeliver');
      await subscribe(sub.client, 'out/#', 2);
      await broker.publish('out/1', 'one', 1);
      await broker.publish('out/2', 'two', 2);
      const [one, two] = [await sub.client.next('publish'), await sub.client.next('publish')];
      expect([one.payload.toString(), two.payload.toString()]).toEqual(['one', 'two']);
      await sub.client.drop(); // neither acknowledged
      await broker.restart();

      const back = await broker.connect('redeliver');
      expect(back.connack.sessionPresent).toBe(true);
      const oneAgain = await back.client.next('publish');
      const twoAgain = await back.client.next('publish');
      expect([oneAgain.payload.toString(), oneAgain.dup, oneAgain.messageId]).toEqual([
        'one',
        true,
        one.messageId,
      ]);
      expect([twoAgain.payload.toString(), twoAgain.dup, twoAgain.messageId]).toEqual([
        'two',
        true,
        two.messageId,
      ]);
      back.client.send({ cmd: 'puback', messageId: one.messageId as number });
      back.client.send({ cmd: 'pubrec', messageId: two.messageId as number });
      expect((await back.client.next('pubrel')).messageId).toBe(two.messageId);
      await back.client.drop(); // before PUBCOMP
      await broker.restart();

      const last = await broker.connect('redeliver');
      expect((await last.client.next('pubrel')).messageId).toBe(two.messageId);
      last.client.send({ cmd: 'pubcomp', messageId: two.messageId as number });
      await broker.publish('out/marker', 'marker', 1);
      expect(await receiveUntil(last.client, 'marker')).toEqual([]);
      await last.client.disconnect();
    },
  );

  it.skipIf(store.skip)(
    'hands the session to a second connection with the same client id (0x8E to the first)',
    async () => {
      const broker = await Harness.start(store);
      const first = await broker.connect('taken');
      await subscribe(first.client, 'take/#', 1);
      const second = await broker.connect('taken');
      expect(second.connack.sessionPresent).toBe(true);
      expect((await first.client.next('disconnect')).reasonCode).toBe(0x8e);
      await first.client.closed;
      await broker.publish('take/1', 'for the second', 1);
      const publish = await second.client.next('publish');
      expect(publish.payload.toString()).toBe('for the second');
      await second.client.disconnect();
    },
  );

  it.skipIf(store.skip)(
    'cancels a delayed Will when the client comes back in time, and publishes it when it does not',
    async () => {
      const broker = await Harness.start(store);
      const will = {
        topic: 'will/device',
        payload: Buffer.from('gone'),
        qos: 1,
        retain: false,
        properties: { willDelayInterval: 10 },
      };
      const watcher = await broker.connect('will-watcher');
      await subscribe(watcher.client, 'will/#', 1);
      await watcher.client.disconnect();

      const device = await broker.connect('device', { will });
      await broker.drop(device.client);
      broker.timers.advance(5_000);
      await broker.restart();
      const back = await broker.connect('device', { will });
      expect(back.connack.sessionPresent).toBe(true);
      broker.timers.advance(20_000); // past the first delay: cancelled by the reconnect
      await broker.drop(back.client);
      broker.timers.advance(9_000);
      await broker.publish('will/marker', 'marker', 1);
      broker.timers.advance(2_000); // past the second delay: the Will goes out

      const seen = await broker.connect('will-watcher');
      expect(await receiveUntil(seen.client, 'marker')).toEqual([]);
      expect((await seen.client.next('publish')).payload.toString()).toBe('gone');
      await seen.client.disconnect();
    },
  );

  it.skipIf(store.skip)(
    'keeps a session for its expiry interval and no longer [MQTT-3.1.2-23]',
    async () => {
      const broker = await Harness.start(store);
      const options = { properties: { sessionExpiryInterval: 10 } };
      const first = await broker.connect('expiring', options);
      await subscribe(first.client, 'exp/#', 1);
      await broker.drop(first.client);
      broker.timers.advance(9_000);
      await broker.restart();
      const kept = await broker.connect('expiring', options);
      expect(kept.connack.sessionPresent).toBe(true);
      await broker.drop(kept.client);
      broker.timers.advance(11_000);
      await broker.restart();
      const gone = await broker.connect('expiring', options);
      expect(gone.connack.sessionPresent).toBe(false);
      await gone.client.disconnect();
    },
  );

  it.skipIf(store.skip)(
    'sends a shared group’s messages to the member online, and keeps them for offline members once none is',
    async () => {
      const broker = await Harness.start(store);
      for (const id of ['member-a', 'member-b']) {
        const member = await broker.connect(id);
        await subscribe(member.client, '$share/g/shared/t', 1);
        await member.client.disconnect();
      }
      await broker.restart();
      const b = await broker.connect('member-b');
      for (let i = 0; i < 10; i++) await broker.publish('shared/t', `online-${i}`, 1);
      await broker.publish('shared/t', 'marker', 1);
      expect(await receiveUntil(b.client, 'marker')).toEqual(
        Array.from({ length: 10 }, (_, i) => `online-${i}`),
      );
      await b.client.disconnect();

      for (let i = 0; i < 4; i++) await broker.publish('shared/t', `offline-${i}`, 1);
      await broker.restart();
      const payloads: string[] = [];
      for (const id of ['member-a', 'member-b']) {
        const member = await broker.connect(id);
        // Nothing else is published, so a member has what it has once its queue drains.
        member.client.send({ cmd: 'pingreq' });
        await member.client.next('pingresp');
        for (const publish of member.client.take('publish')) {
          await acknowledge(member.client, publish);
          payloads.push(publish.payload.toString());
        }
        await member.client.disconnect();
      }
      expect(payloads.sort()).toEqual(['offline-0', 'offline-1', 'offline-2', 'offline-3']);
    },
  );

  it.skipIf(store.skip)(
    'resumes a 3.1.1 session when the client comes back with MQTT 5, keeping its queue',
    async () => {
      const broker = await Harness.start(store);
      const old = await RawClient.connect(broker.port, {
        clientId: 'firmware',
        protocolVersion: 4,
        clean: false,
      });
      old.client.send311({
        cmd: 'subscribe',
        messageId: 1,
        subscriptions: [{ topic: 'fw/#', qos: 1 }],
      });
      await old.client.next('suback');
      old.client.send311({ cmd: 'disconnect' });
      await old.client.closed;
      await broker.publish('fw/1', 'queued while away', 1);
      await broker.restart();

      const upgraded = await broker.connect('firmware');
      expect(upgraded.connack.sessionPresent).toBe(true);
      const publish = await upgraded.client.next('publish');
      expect(publish.payload.toString()).toBe('queued while away');
      await acknowledge(upgraded.client, publish);
      await upgraded.client.disconnect();
    },
  );
});
