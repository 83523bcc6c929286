import {
  createMemorySessionStore,
  type MemorySessionStore,
  type SessionChange,
  type SessionStore,
} from '@mqtt-sessions/session-store';
import type { IConnackPacket, IConnectPacket, IPublishPacket, Packet } from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import type { Pool } from '../src/index.js';
import {
  ManualTimers,
  publishPacket,
  settle,
  TestClient,
  takeErrors,
  testPool,
} from './helpers.js';

/**
 * Sessions that outlive the process, in one process: a pool on a session store is abandoned (as a
 * crash leaves it) or closed, and a new pool on the same store and clock restores what it kept.
 */

/** A store that counts its batches and can hold them back, or fail them. */
class GatedStore implements SessionStore {
  readonly inner: MemorySessionStore = createMemorySessionStore();
  batches: SessionChange[][] = [];
  private gate: Promise<void> | undefined = undefined;
  private open: (() => void) | undefined = undefined;
  failWith: Error | undefined = undefined;

  hold(): void {
    this.gate = new Promise((resolve) => {
      this.open = resolve;
    });
  }

  release(): void {
    this.open?.();
    this.gate = undefined;
  }

  apply(changes: readonly SessionChange[]): void | Promise<void> {
    if (this.failWith !== undefined) throw this.failWith;
    this.batches.push([...changes]);
    const gate = this.gate;
    if (gate === undefined) return this.inner.apply(changes);
    return gate.then(() => this.inner.apply(changes));
  }

  load = (key: Parameters<SessionStore['load']>[0]) => this.inner.load(key);
  list = (pool: string, cursor: string | null, limit: number) =>
    this.inner.list(pool, cursor, limit);
  count = (pool: string) => this.inner.count(pool);
  close(): void {}
}

const pools: Pool[] = [];

afterEach(async () => {
  for (const pool of pools.splice(0)) await pool.close();
});

function durablePool(store: SessionStore, timers = new ManualTimers()) {
  const { pool } = testPool({ store, timers });
  pools.push(pool as Pool);
  return { pool, timers };
}

/** CONNECT, then the CONNACK once the store has it. */
async function connect(
  client: TestClient,
  overrides: Partial<IConnectPacket> = {},
): Promise<IConnackPacket> {
  client.send({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: client.version,
    clientId: 'test-client',
    clean: true,
    keepalive: 0,
    ...overrides,
  });
  await settle();
  return client.next('connack');
}

const persistent = (clientId: string): Partial<IConnectPacket> => ({
  clientId,
  clean: false,
  properties: { sessionExpiryInterval: 3600 },
});

async function subscribeAsync(
  client: TestClient,
  topic: string,
  qos: 0 | 1 | 2,
  messageId = 1,
): Promise<number[]> {
  client.send({ cmd: 'subscribe', messageId, subscriptions: [{ topic, qos }] });
  await settle();
  return client.next('suback').granted as number[];
}

function publishes(packets: Packet[]): IPublishPacket[] {
  return packets.filter((p): p is IPublishPacket => p.cmd === 'publish');
}

describe('persistent sessions across a restart', () => {
  it('keeps subscriptions and every acknowledged QoS 1 and 2 message, in order, with Session Present', async () => {
    const store = createMemorySessionStore();
    const timers = new ManualTimers();
    const before = durablePool(store, timers).pool;
    const subscriber = new TestClient(before);
    expect(await connect(subscriber, persistent('sub'))).toMatchObject({ reasonCode: 0 });
    expect(await subscribeAsync(subscriber, 'jobs/#', 2)).toEqual([2]);
    subscriber.drop();

    const publisher = new TestClient(before);
    await connect(publisher, { clientId: 'pub' });
    for (let i = 1; i <= 6; i++) {
      publisher.send(publishPacket('jobs/a', `m${i}`, i % 2 === 0 ? 2 : 1, { messageId: i }));
    }
    await settle();
    const acks = publisher.drain().map((p) => p.cmd);
    expect(acks).toEqual(['puback', 'pubrec', 'puback', 'pubrec', 'puback', 'pubrec']);

    // The process dies: the pool is simply abandoned, its store remains.
    pools.splice(pools.indexOf(before as Pool), 1);
    timers.advance(60_000);
    const after = durablePool(store, timers).pool;
    expect(await after.restore()).toBe(1);
    const back = new TestClient(after);
    expect(await connect(back, persistent('sub'))).toMatchObject({
      reasonCode: 0,
      sessionPresent: true,
    });
    const got = publishes(back.drain());
    expect(got.map((p) => p.payload.toString())).toEqual(['m1', 'm2', 'm3', 'm4', 'm5', 'm6']);
    expect(got.map((p) => p.qos)).toEqual([1, 2, 1, 2, 1, 2]);
    // The subscription came back too.
    await after.serverPublish('jobs/b', 'new', { qos: 1 });
    await settle();
    expect(publishes(back.drain()).map((p) => p.payload.toString())).toEqual(['new']);
  });

  it('sends in-flight messages again with DUP, and PUBREL for those the client received', async () => {
    const store = createMemorySessionStore();
    const timers = new ManualTimers();
    const before = durablePool(store, timers).pool;
    const client = new TestClient(before);
    await connect(client, persistent('inflight'));
    await subscribeAsync(client, 't', 2);
    await before.serverPublish('t', 'one', { qos: 1 });
    await before.serverPublish('t', 'two', { qos: 2 });
    await before.serverPublish('t', 'three', { qos: 2 });
    await settle();
    const [one, two, three] = publishes(client.drain());
    expect(one?.dup).toBe(false);
    client.send({ cmd: 'pubrec', messageId: three?.messageId as number });
    await settle();
    expect(client.next('pubrel').messageId).toBe(three?.messageId);
    await settle();

    pools.splice(pools.indexOf(before as Pool), 1);
    const after = durablePool(store, timers).pool;
    await after.restore();
    const back = new TestClient(after);
    expect((await connect(back, persistent('inflight'))).sessionPresent).toBe(true);
    const again = back.drain();
    expect(again).toMatchObject([
      { cmd: 'publish', messageId: one?.messageId, dup: true, qos: 1 },
      { cmd: 'publish', messageId: two?.messageId, dup: true, qos: 2 },
      { cmd: 'pubrel', messageId: three?.messageId },
    ]);
  });

  it('delivers an incoming QoS 2 message once across a restart: the resent PUBLISH is only acknowledged', async () => {
    const store = createMemorySessionStore();
    const timers = new ManualTimers();
    const before = durablePool(store, timers).pool;
    const listener = new TestClient(before);
    await connect(listener, persistent('listener'));
    await subscribeAsync(listener, 'once', 1);
    const sender = new TestClient(before);
    await connect(sender, persistent('sender'));
    sender.send(publishPacket('once', 'exactly', 2, { messageId: 42 }));
    await settle();
    expect(sender.next('pubrec')).toMatchObject({ messageId: 42, reasonCode: 0 });

    pools.splice(pools.indexOf(before as Pool), 1);
    const after = durablePool(store, timers).pool;
    await after.restore();
    const listenerBack = new TestClient(after);
    await connect(listenerBack, persistent('listener'));
    const senderBack = new TestClient(after);
    await connect(senderBack, persistent('sender'));
    senderBack.send(publishPacket('once', 'exactly', 2, { messageId: 42, dup: true }));
    await settle();
    expect(senderBack.next('pubrec')).toMatchObject({ messageId: 42 });
    senderBack.send({ cmd: 'pubrel', messageId: 42 });
    await settle();
    expect(senderBack.next('pubcomp')).toMatchObject({ messageId: 42, reasonCode: 0 });
    expect(publishes(listenerBack.drain()).map((p) => p.payload.toString())).toEqual(['exactly']);
    expect((await store.load({ pool: after.name, clientId: 'sender' }))?.awaitingRelease).toEqual(
      [],
    );
  });

  it('drops a session whose expiry passed during the downtime, and publishes its Will once', async () => {
    const store = createMemorySessionStore();
    const timers = new ManualTimers();
    const before = durablePool(store, timers).pool;
    const watcher = new TestClient(before);
    await connect(watcher, persistent('watcher'));
    await subscribeAsync(watcher, 'wills/#', 1);
    const short = new TestClient(before);
    await connect(short, {
      clientId: 'short',
      clean: false,
      properties: { sessionExpiryInterval: 30 },
      will: {
        topic: 'wills/short',
        payload: Buffer.from('gone'),
        qos: 1,
        retain: false,
        properties: { willDelayInterval: 20 },
      },
    });
    const delayed = new TestClient(before);
    await connect(delayed, {
      clientId: 'delayed',
      clean: false,
      properties: { sessionExpiryInterval: 3600 },
      will: {
        topic: 'wills/delayed',
        payload: Buffer.from('later'),
        qos: 1,
        retain: false,
        properties: { willDelayInterval: 300 },
      },
    });
    short.drop();
    delayed.drop();
    await settle();

    // Down for a minute: the first session expired, its Will came due; the second's Will not yet.
    pools.splice(pools.indexOf(before as Pool), 1);
    timers.advance(60_000);
    const after = durablePool(store, timers).pool;
    expect(await after.restore()).toBe(3);
    await settle();
    expect(await store.load({ pool: after.name, clientId: 'short' })).toBeUndefined();
    expect(after.sessionCount()).toBe(2);

    const back = new TestClient(after);
    await connect(back, persistent('watcher'));
    const first = publishes(back.drain());
    expect(first.map((p) => p.topic)).toEqual(['wills/short']);
    timers.advance(240_000 + 1000);
    await settle();
    const second = publishes(back.drain());
    expect(second.map((p) => p.topic)).toEqual(['wills/delayed']);
    for (const will of [...first, ...second]) {
      back.send({ cmd: 'puback', messageId: will.messageId as number });
    }
    await settle();

    // A second restart publishes neither again.
    pools.splice(pools.indexOf(after as Pool), 1);
    const again = durablePool(store, timers).pool;
    await again.restore();
    timers.advance(600_000);
    const third = new TestClient(again);
    await connect(third, persistent('watcher'));
    await settle();
    expect(publishes(third.drain())).toEqual([]);
  });

  it('keeps a pending Will across a clean shutdown and resumes its delay after the restart', async () => {
    const store = new GatedStore(); // survives its close, as a file does
    const timers = new ManualTimers();
    const before = durablePool(store, timers).pool;
    const watcher = new TestClient(before);
    await connect(watcher, persistent('watcher'));
    await subscribeAsync(watcher, 'wills/#', 1);
    const device = new TestClient(before);
    await connect(device, {
      clientId: 'device',
      clean: false,
      properties: { sessionExpiryInterval: 3600 },
      will: {
        topic: 'wills/device',
        payload: Buffer.from('offline'),
        qos: 1,
        retain: false,
        properties: { willDelayInterval: 120 },
      },
    });
    pools.splice(pools.indexOf(before as Pool), 1);
    await before.close();
    expect(device.next('disconnect').reasonCode).toBe(0x8b);
    expect(publishes(watcher.drain())).toEqual([]);

    timers.advance(60_000);
    const after = durablePool(store, timers).pool;
    await after.restore();
    const back = new TestClient(after);
    await connect(back, persistent('watcher'));
    timers.advance(59_000);
    await settle();
    expect(publishes(back.drain())).toEqual([]);
    timers.advance(2_000);
    await settle();
    expect(publishes(back.drain()).map((p) => p.payload.toString())).toEqual(['offline']);
  });

  it('cancels a stored pending Will when the client comes back in time', async () => {
    const store = createMemorySessionStore();
    const timers = new ManualTimers();
    const before = durablePool(store, timers).pool;
    const watcher = new TestClient(before);
    await connect(watcher, persistent('watcher'));
    await subscribeAsync(watcher, 'wills/#', 1);
    const device = new TestClient(before);
    const deviceConnect = {
      clientId: 'device',
      clean: false,
      properties: { sessionExpiryInterval: 3600 },
      will: {
        topic: 'wills/device',
        payload: Buffer.from('offline'),
        qos: 1 as const,
        retain: false,
        properties: { willDelayInterval: 120 },
      },
    };
    await connect(device, deviceConnect);
    device.drop();
    await settle();
    pools.splice(pools.indexOf(before as Pool), 1);
    const after = durablePool(store, timers).pool;
    await after.restore();
    const deviceBack = new TestClient(after);
    expect((await connect(deviceBack, deviceConnect)).sessionPresent).toBe(true);
    const back = new TestClient(after);
    await connect(back, persistent('watcher'));
    timers.advance(600_000);
    await settle();
    expect(publishes(back.drain())).toEqual([]);
  });

  it('restores the logged-in user: another user cannot take the session over (default runtime)', async () => {
    const store = createMemorySessionStore();
    const timers = new ManualTimers();
    const before = durablePool(store, timers).pool;
    const alice = new TestClient(before);
    await connect(alice, { ...persistent('owned'), username: 'alice', password: Buffer.from('x') });
    alice.drop();
    await settle();
    pools.splice(pools.indexOf(before as Pool), 1);
    const after = durablePool(store, timers).pool;
    await after.restore();
    const mallory = new TestClient(after);
    const refused = await connect(mallory, {
      ...persistent('owned'),
      username: 'mallory',
      password: Buffer.from('x'),
    });
    expect(refused.reasonCode).toBe(0x87);
    const aliceBack = new TestClient(after);
    const accepted = await connect(aliceBack, {
      ...persistent('owned'),
      username: 'alice',
      password: Buffer.from('x'),
    });
    expect(accepted).toMatchObject({ reasonCode: 0, sessionPresent: true });
  });

  it('stores nothing for a session with expiry 0, and deletes a session on clean start or expiry', async () => {
    const store = createMemorySessionStore();
    const { pool, timers } = durablePool(store);
    const passing = new TestClient(pool);
    await connect(passing, { clientId: 'passing' });
    await subscribeAsync(passing, 'x', 1);
    expect(await store.count(pool.name)).toBe(0);

    const kept = new TestClient(pool);
    await connect(kept, { ...persistent('kept'), properties: { sessionExpiryInterval: 10 } });
    await subscribeAsync(kept, 'x', 1);
    expect(await store.count(pool.name)).toBe(1);
    kept.drop();
    await settle();
    expect((await store.load({ pool: pool.name, clientId: 'kept' }))?.session.expiresAt).toBe(
      timers.now() + 10_000,
    );
    timers.advance(10_000);
    await settle();
    expect(await store.count(pool.name)).toBe(0);

    const again = new TestClient(pool);
    await connect(again, persistent('again'));
    await subscribeAsync(again, 'x', 1);
    again.drop();
    const fresh = new TestClient(pool);
    expect(await connect(fresh, { clientId: 'again', clean: true })).toMatchObject({
      sessionPresent: false,
    });
    await settle();
    expect(await store.count(pool.name)).toBe(0);
  });

  it('resumes a stored 3.1.1 session over MQTT 5', async () => {
    const store = createMemorySessionStore();
    const timers = new ManualTimers();
    const before = durablePool(store, timers).pool;
    const old = new TestClient(before, 4);
    await connect(old, { clientId: 'firmware', clean: false });
    await subscribeAsync(old, 'fw/#', 1);
    old.drop();
    await before.serverPublish('fw/v2', 'image', { qos: 1 });
    await settle();
    pools.splice(pools.indexOf(before as Pool), 1);
    const after = durablePool(store, timers).pool;
    await after.restore();
    const upgraded = new TestClient(after, 5);
    expect(await connect(upgraded, persistent('firmware'))).toMatchObject({
      reasonCode: 0,
      sessionPresent: true,
    });
    expect(publishes(upgraded.drain()).map((p) => p.topic)).toEqual(['fw/v2']);
  });
});

describe('acknowledged only once stored', () => {
  it('holds PUBACK and PUBREC until the batch is stored, in order, without holding up the connection', async () => {
    const store = new GatedStore();
    const { pool } = durablePool(store);
    const subscriber = new TestClient(pool);
    await connect(subscriber, persistent('sub'));
    await subscribeAsync(subscriber, 'a', 2);
    subscriber.drop();
    const publisher = new TestClient(pool);
    await connect(publisher, { clientId: 'pub' });
    store.hold();
    publisher.send(publishPacket('a', '1', 1, { messageId: 1 }));
    publisher.send(publishPacket('nobody', 'x', 1, { messageId: 2 }));
    publisher.send(publishPacket('a', '2', 2, { messageId: 3 }));
    publisher.send({ cmd: 'pingreq' });
    await settle();
    // The connection went on (PINGRESP) while the acknowledgements wait for the store.
    expect(publisher.drain().map((p) => p.cmd)).toEqual(['pingresp']);
    store.release();
    await settle();
    expect(publisher.drain()).toMatchObject([
      { cmd: 'puback', messageId: 1 },
      { cmd: 'puback', messageId: 2, reasonCode: 0x10 },
      { cmd: 'pubrec', messageId: 3 },
    ]);
  });

  it('commits one batch per turn, not one per message', async () => {
    const store = new GatedStore();
    const { pool } = durablePool(store);
    const subscriber = new TestClient(pool);
    await connect(subscriber, persistent('sub'));
    await subscribeAsync(subscriber, 'a', 1);
    subscriber.drop();
    await settle();
    const publisher = new TestClient(pool);
    await connect(publisher, { clientId: 'pub' });
    const batchesBefore = store.batches.length;
    for (let i = 1; i <= 50; i++) publisher.send(publishPacket('a', `${i}`, 1, { messageId: i }));
    await settle();
    expect(publisher.drain()).toHaveLength(50);
    expect(store.batches.length - batchesBefore).toBe(1);
    expect(store.batches.at(-1)).toHaveLength(50);
  });

  it('holds SUBACK and CONNACK until stored', async () => {
    const store = new GatedStore();
    const { pool } = durablePool(store);
    const client = new TestClient(pool);
    store.hold();
    client.send({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 5,
      clientId: 'slow',
      clean: false,
      keepalive: 0,
      properties: { sessionExpiryInterval: 60 },
    });
    client.send({ cmd: 'subscribe', messageId: 7, subscriptions: [{ topic: 's', qos: 1 }] });
    await settle();
    expect(client.received).toEqual([]);
    store.release();
    await settle();
    expect(client.drain().map((p) => p.cmd)).toEqual(['connack', 'suback']);
    store.hold();
    client.send({ cmd: 'subscribe', messageId: 8, subscriptions: [{ topic: 't', qos: 1 }] });
    await settle();
    expect(client.received).toEqual([]);
    store.release();
    await settle();
    expect(client.drain().map((p) => p.cmd)).toEqual(['suback']);
  });

  it('does not acknowledge what the store failed to keep: the publisher is disconnected with 0x80', async () => {
    const store = new GatedStore();
    const { pool } = durablePool(store);
    const subscriber = new TestClient(pool);
    await connect(subscriber, persistent('sub'));
    await subscribeAsync(subscriber, 'a', 1);
    subscriber.drop();
    const publisher = new TestClient(pool);
    await connect(publisher, { clientId: 'pub' });
    store.failWith = new Error('disk full');
    publisher.send(publishPacket('a', 'lost?', 1, { messageId: 9 }));
    await settle();
    expect(publisher.drain()).toMatchObject([{ cmd: 'disconnect', reasonCode: 0x80 }]);
    expect(publisher.closed).toBe(true);
    const errors = takeErrors();
    expect(errors.length).toBeGreaterThan(0);
    expect(String(errors[0])).toContain('disk full');
    store.failWith = undefined;
  });
});
