/**
 * Robustness: races between handshakes, takeovers and asynchronous runtime answers; runtimes that
 * throw; queues that stay bounded. Each test once failed on a defect found in review.
 */
import {
  createDefaultRuntime,
  type DefaultUserContext,
  type Runtime,
} from '@mqtt-sessions/runtime-default';
import type { Session } from '@mqtt-sessions/session';
import { generate, type IPublishPacket } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import type { DeliveredMessage } from '../src/index.js';
import {
  publishPacket,
  sessionOf,
  settle,
  subscribe,
  TestClient,
  takeErrors,
  testPool,
} from './helpers.js';

type UC = DefaultUserContext;

const will = {
  topic: 'wills/a',
  payload: Buffer.from('gone'),
  qos: 0 as const,
  retain: false,
  properties: { willDelayInterval: 30 },
};

describe('robustness', () => {
  it('connections reading in turn keep their partial packets apart (one spare reader between them)', () => {
    const { pool } = testPool<UC>();
    const watcher = new TestClient(pool);
    watcher.connect({ clientId: 'watcher' });
    subscribe(watcher, 'parts/#');
    const a = new TestClient(pool);
    a.connect({ clientId: 'a' });
    const b = new TestClient(pool);
    b.connect({ clientId: 'b' });
    const bytesOf = (topic: string, text: string) =>
      generate(publishPacket(topic, text), { protocolVersion: 5 });
    const fromA = bytesOf('parts/a', 'a'.repeat(300)); // a two-byte remaining length
    const fromB1 = bytesOf('parts/b', 'first');
    const fromB2 = bytesOf('parts/b', 'b'.repeat(200));
    // A stops inside its fixed header, B inside its second packet's body; then both finish.
    a.sendBytes(fromA.subarray(0, 2));
    b.sendBytes(Buffer.concat([fromB1, fromB2.subarray(0, 20)]));
    a.sendBytes(fromA.subarray(2));
    b.sendBytes(fromB2.subarray(20));
    const got = (watcher.drain() as IPublishPacket[]).map((p) => `${p.topic}:${p.payload}`);
    expect(got).toEqual([
      'parts/b:first',
      `parts/a:${'a'.repeat(300)}`,
      `parts/b:${'b'.repeat(200)}`,
    ]);
    expect(a.closed || b.closed).toBe(false);
  });

  it('a clean-start reconnect ends the old session, so its pending delayed Will is published [MQTT-3.1.2-4] [MQTT-3.1.2-8]', () => {
    const { pool, timers, errors } = testPool<UC>();
    const seen: DeliveredMessage[] = [];
    void pool.serverSubscribe('wills/#', (message) => seen.push(message));
    const first = new TestClient(pool);
    first.connect({ clientId: 'a', will, properties: { sessionExpiryInterval: 300 } });
    first.drop(); // Will pending for 30 s
    timers.advance(1000);
    const again = new TestClient(pool);
    again.connect({ clientId: 'a', clean: true, properties: { sessionExpiryInterval: 300 } });
    // The old session was discarded: it ended, and its Will goes now (or at the latest when its delay passes).
    timers.advance(60_000);
    expect(seen.map((m) => m.payload.toString())).toEqual(['gone']);
    expect(errors).toEqual([]);
  });

  it('a clean-start takeover ends the old session, so its delayed Will is published [MQTT-3.1.2-4] [MQTT-3.1.2-8]', () => {
    const { pool, timers } = testPool<UC>();
    const seen: DeliveredMessage[] = [];
    void pool.serverSubscribe('wills/#', (message) => seen.push(message));
    const first = new TestClient(pool);
    first.connect({ clientId: 'a', will, properties: { sessionExpiryInterval: 300 } });
    const again = new TestClient(pool);
    again.connect({ clientId: 'a', clean: true, properties: { sessionExpiryInterval: 300 } });
    timers.advance(60_000);
    expect(seen.map((m) => m.payload.toString())).toEqual(['gone']);
  });

  it('a SUBSCRIBE whose async ACL answers after the session ended adds no subscription (no leak)', async () => {
    const base = createDefaultRuntime();
    const runtime: Runtime<UC> = {
      ...base,
      isAllowed: async () => {
        await new Promise((resolve) => setImmediate(resolve));
        return true;
      },
    };
    const { pool } = testPool<UC>({ runtime });
    const client = new TestClient(pool, 4);
    client.connect({ clientId: 'gone', clean: true });
    client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'x/#', qos: 1 }] });
    client.drop(); // clean session: the session ends now
    expect(pool.sessionCount()).toBe(0);
    await settle();
    expect(pool.routerInfo()).toMatchObject({ subscriptions: 0, subscribers: 0 });
  });

  it('a late SUBSCRIBE of a taken-over connection does not land in the new clean-start session [MQTT-3.1.2-4]', async () => {
    const base = createDefaultRuntime();
    const runtime: Runtime<UC> = {
      ...base,
      isAllowed: async () => {
        await new Promise((resolve) => setImmediate(resolve));
        return true;
      },
    };
    const { pool } = testPool<UC>({ runtime });
    const old = new TestClient(pool);
    old.connect({ clientId: 'c', properties: { sessionExpiryInterval: 60 } });
    old.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'secret/#', qos: 0 }] });
    const fresh = new TestClient(pool);
    fresh.connect({ clientId: 'c', clean: true, properties: { sessionExpiryInterval: 60 } });
    await settle();
    void pool.serverPublish('secret/1', 'not for you');
    await settle();
    expect(fresh.drain().filter((p) => p.cmd === 'publish')).toEqual([]);
  });

  it('a runtime callback that throws when a connection drops stays inside Connection.end() and the session still expires', () => {
    const base = createDefaultRuntime();
    const runtime: Runtime<UC> = {
      ...base,
      isWebsocketOrigin: () => {
        throw new Error('runtime bug');
      },
    };
    const { pool } = testPool<UC>({ runtime });
    const client = new TestClient(pool);
    client.connect({ clientId: 'x' }); // expiry 0: must end with its connection
    expect(() => client.drop()).not.toThrow(); // in the broker this is a socket 'close' handler
    expect(pool.sessionCount()).toBe(0);
    // The runtime's failure was reported, not lost.
    expect(takeErrors().map((error) => (error as Error).message)).toContain('runtime bug');
  });

  it('a runtime isAllowed that throws while retained delivery resumes on drain stays inside Connection.drained()', () => {
    const base = createDefaultRuntime();
    let broken = false;
    const runtime: Runtime<UC> = {
      ...base,
      isAllowed: (request, context) => {
        if (broken && request.action === 'deliver-retained') throw new Error('runtime bug');
        return base.isAllowed(request, context);
      },
    };
    const { pool } = testPool<UC>({ runtime });
    void pool.serverPublish('r/1', 'kept', { retain: true });
    const client = new TestClient(pool);
    client.connect({ clientId: 'slow' });
    client.writable = false; // the SUBACK fills the transport
    subscribe(client, 'r/#');
    broken = true;
    client.writable = true;
    // In the broker this is the socket 'drain' handler: a throw there is an uncaught exception.
    expect(() => client.connection.drained()).not.toThrow();
    // The runtime's failure was reported, not lost.
    expect(takeErrors().map((error) => (error as Error).message)).toContain('runtime bug');
  });

  it('with maxQueued below retainedPageSize, retained messages are still delivered [MQTT-3.3.1-9]', () => {
    const { pool } = testPool<UC>({ session: { maxQueued: 100 } });
    void pool.serverPublish('r/1', 'kept', { retain: true });
    const client = new TestClient(pool);
    client.connect({ clientId: 'small' });
    subscribe(client, 'r/#');
    const publish = client.received.find((p) => p.cmd === 'publish');
    expect(publish).toBeDefined();
  });

  it('the outbox queue array does not grow while a backlog persists behind a full window', () => {
    const { pool } = testPool<UC>();
    const sub = new TestClient(pool);
    sub.connect({ clientId: 'sub', properties: { receiveMaximum: 1, sessionExpiryInterval: 60 } });
    subscribe(sub, 't', 1);
    const pub = new TestClient(pool);
    pub.connect({ clientId: 'pub' });
    // Keep ~10 messages waiting; ack one, publish one, for a long time.
    for (let i = 0; i < 10; i++) pub.send(publishPacket('t', `m${i}`, 0, {}));
    for (let i = 0; i < 10; i++) void pool.serverPublish('t', `q${i}`, { qos: 1 });
    for (let i = 0; i < 5000; i++) {
      const got = sub.drain().filter((p) => p.cmd === 'publish');
      for (const p of got) {
        if (p.qos > 0) sub.send({ cmd: 'puback', messageId: p.messageId as number, reasonCode: 0 });
      }
      void pool.serverPublish('t', `n${i}`, { qos: 1 });
    }
    const session = sessionOf(pool, 'sub') as Session<UC>;
    // White-box: the outbox's array itself must not keep what was sent.
    const outbox = (session as unknown as { outbox: { queue: unknown[] } }).outbox;
    const queue = outbox.queue;
    expect(session.stats().queued).toBeLessThan(50);
    expect(queue.length).toBeLessThan(2048); // bounded by queued + the compaction threshold
  });

  it('after a runtime callback threw in detached(), the session still expires and its Will goes', () => {
    const base = createDefaultRuntime();
    const runtime: Runtime<UC> = {
      ...base,
      isWebsocketOrigin: () => {
        throw new Error('runtime bug');
      },
    };
    const { pool, timers } = testPool<UC>({ runtime });
    const client = new TestClient(pool);
    client.connect({ clientId: 'x', properties: { sessionExpiryInterval: 10 } });
    client.send({ cmd: 'disconnect', reasonCode: 4 }); // caught by Attachment.run this time
    timers.advance(3_600_000);
    expect(pool.sessionCount()).toBe(0);
    // The runtime's failure was reported, not lost.
    expect(takeErrors().map((error) => (error as Error).message)).toContain('runtime bug');
  });

  it('a refused CONNECT racing a valid one for a new client id does not end the session the valid client gets', async () => {
    const base = createDefaultRuntime();
    const runtime: Runtime<UC> = {
      ...base,
      connect: async (packet, _present, _connection, context) => {
        await new Promise((resolve) => setImmediate(resolve));
        if (packet.username === 'mallory')
          return { type: 'connack', reasonCode: 0x87, userContext: context };
        return { type: 'connack', reasonCode: 0, userContext: context };
      },
    };
    const { pool } = testPool<UC>({ runtime });
    const bad = new TestClient(pool);
    const good = new TestClient(pool);
    const connect = (username: string) => ({
      cmd: 'connect' as const,
      protocolId: 'MQTT' as const,
      protocolVersion: 5 as const,
      clientId: 'device-1',
      clean: true,
      keepalive: 0,
      username,
      password: Buffer.from('pw'),
    });
    bad.send(connect('mallory'));
    good.send(connect('alice'));
    await settle();
    expect(bad.next('connack').reasonCode).toBe(0x87);
    expect(good.received.map((p) => p.cmd)).toEqual(['connack']);
  });

  it('a full offline queue refuses a new delivery without rescanning every queued message', () => {
    const { pool } = testPool<UC>();
    const sub = new TestClient(pool);
    sub.connect({ clientId: 'away', properties: { sessionExpiryInterval: 3600 } });
    subscribe(sub, 't', 1);
    sub.drop();
    const session = sessionOf(pool, 'away') as Session<UC>;
    let reads = 0;
    const message = (i: number) => {
      const m = {
        topic: 't',
        payload: Buffer.from(String(i)),
        qos: 1 as const,
        retain: false,
        properties: {},
        sender: undefined,
        senderContext: undefined,
        wireCache: undefined,
      };
      Object.defineProperty(m, 'expiresAt', {
        get: () => {
          reads++;
          return undefined;
        },
      });
      return m as never;
    };
    for (let i = 0; i < 1000; i++) session.deliver(message(i), 1, false, undefined, undefined);
    reads = 0;
    for (let i = 0; i < 100; i++) session.deliver(message(i), 1, false, undefined, undefined);
    expect(session.stats().queued).toBe(1000);
    // 100 refused deliveries should not cost 100 x 1000 reads.
    expect(reads).toBeLessThan(1000);
  });

  it('a failure while sending to one subscriber ends that connection with DISCONNECT 0x80, reports it, and leaves the others served', () => {
    const { pool } = testPool<UC>();
    const v5 = new TestClient(pool);
    v5.connect({ clientId: 'v5' });
    subscribe(v5, 'bug/#', 0);
    const v311 = new TestClient(pool, 4);
    v311.connect({ clientId: 'v311' });
    subscribe(v311, 'bug/#', 0);
    // Server code that breaks the types: a User Property that is not a string cannot be encoded.
    const userProperties = { n: 5 } as unknown as Record<string, string>;
    void pool.serverPublish('bug/x', 'p', { properties: { userProperties } });
    expect(v5.next('disconnect').reasonCode).toBe(0x80);
    expect(v5.closed).toBe(true);
    expect(v311.next('publish').payload.toString()).toBe('p');
    expect(v311.closed).toBe(false);
    const errors = takeErrors();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(TypeError);
    expect(pool.host.metrics.internalErrors).toBe(1);
  });
});
