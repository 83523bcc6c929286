/**
 * The defects of the original library (reference section 15, items 1-23), one test each, showing
 * the behaviour of the port. Where a defect cannot happen in a JavaScript port, the test name says
 * why and the test asserts the nearest behaviour.
 */
import { createMemoryRegistry, type SessionRegistry } from '@mqtt-sessions/registry';
import { MemoryRetainStore } from '@mqtt-sessions/retain';
import {
  createDefaultRuntime,
  type DefaultUserContext,
  type Runtime,
} from '@mqtt-sessions/runtime-default';
import type { Session } from '@mqtt-sessions/session';
import { generate, type IConnectPacket, type IPublishPacket } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import {
  createPool,
  createPoolSet,
  type DeliveredMessage,
  type Pool,
  type PoolOptions,
  type Transport,
} from '../src/index.js';
import {
  ManualTimers,
  publishPacket,
  sessionOf,
  settle,
  subscribe,
  TestClient,
  testPool,
} from './helpers.js';

type UC = DefaultUserContext;

function setup(options: PoolOptions<UC> = {}) {
  return testPool<UC>(options);
}

function payloads(packets: { payload: Buffer | string }[]): string[] {
  return packets.map((p) => p.payload.toString());
}

const session = sessionOf<UC>;

/**
 * A runtime with enhanced authentication: method `token`; the CONNECT gets a challenge (AUTH
 * 0x18), and AUTH with data `secret` passes, during CONNECT and on re-authentication.
 * `reauthAnswer` picks how a successful re-authentication is answered.
 */
function authRuntime(reauthAnswer: 'auth' | 'connack' = 'auth'): Runtime<UC> {
  const base = createDefaultRuntime();
  return {
    ...base,
    connect(packet, sessionPresent, connection, userContext) {
      if (packet.properties?.authenticationMethod !== 'token') {
        return base.connect(packet, sessionPresent, connection, userContext);
      }
      return {
        type: 'auth',
        reasonCode: 0x18,
        properties: { authenticationData: Buffer.from('challenge') },
        userContext,
      };
    },
    reauth(packet, phase, userContext) {
      if (packet.properties?.authenticationData?.toString() !== 'secret') {
        return { type: 'connack', reasonCode: 0x87, userContext };
      }
      const next = { ...userContext, user: 'alice' };
      if (phase === 'connect' || reauthAnswer === 'connack') {
        return { type: 'connack', reasonCode: 0, userContext: next };
      }
      return { type: 'auth', reasonCode: 0, properties: {}, userContext: next };
    },
  };
}

function tokenConnect(clientId: string): IConnectPacket {
  return {
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 5,
    clientId,
    clean: true,
    keepalive: 0,
    properties: { authenticationMethod: 'token' },
  };
}

describe('defects of the original, fixed', () => {
  it('defect 1: a CONNECT and a PUBLISH fed one byte at a time work', () => {
    const { pool } = setup();
    const watcher = new TestClient(pool);
    watcher.connect({ clientId: 'watcher' });
    subscribe(watcher, 'bytes/#', 1);

    const client = new TestClient(pool);
    const connect = generate({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 5,
      clientId: 'one-byte',
      clean: true,
      keepalive: 0,
      properties: { sessionExpiryInterval: 60 },
    });
    for (const byte of connect) client.sendBytes([byte]);
    expect(client.next('connack')).toMatchObject({ reasonCode: 0 });
    const publish = generate(publishPacket('bytes/1', 'slow', 1, { messageId: 5 }), {
      protocolVersion: 5,
    });
    for (const byte of publish.subarray(0, -1)) client.sendBytes([byte]);
    expect(client.received).toEqual([]);
    client.sendBytes(publish.subarray(-1));
    expect(client.next('puback')).toMatchObject({ messageId: 5, reasonCode: 0 });
    expect(watcher.next('publish').payload.toString()).toBe('slow');
  });

  it('defect 1: an oversized packet whose fixed header straddles two chunks is refused, not routed', () => {
    const { pool } = setup({ session: { maxIncomingPacketSize: 100 } });
    const watcher = new TestClient(pool);
    watcher.connect({ clientId: 'watcher' });
    subscribe(watcher, 't');
    const client = new TestClient(pool);
    client.connect({ clientId: 'chunky' });
    // Chunk one: ten small PUBLISH packets and the first byte of one that is too large.
    const small = generate(publishPacket('t', 'x'.repeat(14)), { protocolVersion: 5 });
    const big = generate(publishPacket('t', 'y'.repeat(110)), { protocolVersion: 5 });
    expect(big.length).toBeGreaterThan(100);
    const first = Buffer.concat([...Array<Buffer>(10).fill(small), big.subarray(0, 1)]);
    client.sendBytes(first);
    expect(watcher.drain()).toHaveLength(10);
    // Chunk two: the rest of the large packet. Its declared size is over the limit, so it must
    // not reach the subscribers.
    client.sendBytes(big.subarray(1));
    expect(watcher.drain()).toEqual([]);
    expect(client.next('disconnect').reasonCode).toBe(0x95);
    expect(client.closed).toBe(true);
  });

  it('defect 2: QoS 1 with an id awaiting PUBREL gets PUBACK 0x91; a QoS 2 resend is acknowledged again but routed once [MQTT-4.3.3-10]', () => {
    const { pool, errors } = setup();
    const watcher = new TestClient(pool);
    watcher.connect({ clientId: 'watcher' });
    subscribe(watcher, 'q');
    const client = new TestClient(pool);
    client.connect({ clientId: 'ids' });

    client.send(publishPacket('q', 'two', 2, { messageId: 7 }));
    expect(client.next('pubrec')).toMatchObject({ messageId: 7, reasonCode: 0 });
    expect(payloads(watcher.drain() as IPublishPacket[])).toEqual(['two']);

    client.send(publishPacket('q', 'one', 1, { messageId: 7 }));
    expect(client.next('puback')).toMatchObject({ messageId: 7, reasonCode: 0x91 });
    client.send(publishPacket('q', 'two', 2, { messageId: 7, dup: true }));
    expect(client.next('pubrec')).toMatchObject({ messageId: 7, reasonCode: 0 });
    client.send(publishPacket('q', 'two', 2, { messageId: 7, dup: false }));
    expect(client.next('pubrec')).toMatchObject({ messageId: 7, reasonCode: 0 });
    expect(watcher.drain()).toEqual([]);

    client.send({ cmd: 'pubrel', messageId: 7, reasonCode: 0 });
    expect(client.next('pubcomp')).toMatchObject({ messageId: 7, reasonCode: 0 });
    // After PUBCOMP the id names a new message [MQTT-4.3.3-12].
    client.send(publishPacket('q', 'again', 1, { messageId: 7 }));
    expect(client.next('puback')).toMatchObject({ messageId: 7, reasonCode: 0 });
    expect(payloads(watcher.drain() as IPublishPacket[])).toEqual(['again']);
    expect(client.closed).toBe(false);
    expect(errors).toEqual([]);
  });

  it('defect 3: router overload answers PUBACK 0x97 (PUBREC 0x97 for QoS 2) and the session lives', () => {
    const later: (() => void)[] = [];
    const { pool, errors } = setup({
      router: { sliceSize: 1, maxBacklog: 1, schedule: (run) => later.push(run) },
    });
    const watchers = ['w1', 'w2', 'w3'].map((id) => {
      const watcher = new TestClient(pool);
      watcher.connect({ clientId: id });
      subscribe(watcher, 'busy');
      return watcher;
    });
    const client = new TestClient(pool);
    client.connect({ clientId: 'publisher' });
    // Three deliveries: one now, two would wait in a backlog that holds one.
    client.send(publishPacket('busy', 'm1', 1, { messageId: 1 }));
    expect(client.next('puback')).toMatchObject({ messageId: 1, reasonCode: 0x97 });
    client.send(publishPacket('busy', 'm2', 2, { messageId: 2 }));
    expect(client.next('pubrec')).toMatchObject({ messageId: 2, reasonCode: 0x97 });
    client.send(publishPacket('busy', 'm3', 0));
    expect(watchers.flatMap((w) => w.drain())).toEqual([]);
    expect(pool.routerInfo().overloads).toBe(3);
    expect(later).toEqual([]);
    // A refused QoS 2 message holds no packet id: the same id is a new message.
    client.send({ cmd: 'pubrel', messageId: 2, reasonCode: 0 });
    expect(client.next('pubcomp')).toMatchObject({ messageId: 2, reasonCode: 0x92 });

    client.send({ cmd: 'pingreq' });
    expect(client.next('pingresp')).toBeDefined();
    subscribe(client, 'quiet', 1);
    client.send(publishPacket('quiet', 'fine', 1, { messageId: 3 }));
    expect(client.next('publish').payload.toString()).toBe('fine');
    expect(client.next('puback')).toMatchObject({ messageId: 3, reasonCode: 0 });
    expect(client.closed).toBe(false);
    expect(errors).toEqual([]);
  });

  it('defect 4: a second CONNECT gets DISCONNECT 0x82 and the session survives [MQTT-3.1.0-2]', () => {
    const { pool, errors } = setup();
    const client = new TestClient(pool);
    client.connect({ clientId: 'twice', properties: { sessionExpiryInterval: 60 } });
    subscribe(client, 'keep', 1);
    client.send({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 5,
      clientId: 'twice',
      clean: false,
      keepalive: 0,
    });
    expect(client.next('disconnect').reasonCode).toBe(0x82);
    expect(client.closed).toBe(true);
    expect(errors).toEqual([]);
    const again = new TestClient(pool);
    expect(again.connect({ clientId: 'twice', clean: false }).sessionPresent).toBe(true);
    void pool.serverPublish('keep', 'still here', { qos: 1 });
    expect(again.next('publish').payload.toString()).toBe('still here');
  });

  it('defect 5: a PUBLISH during enhanced authentication closes the connection without a crash (MQTT 5 section 4.12)', () => {
    const { pool, errors } = setup({ runtime: authRuntime() });
    const client = new TestClient(pool);
    client.send(tokenConnect('midauth'));
    const challenge = client.next('auth');
    expect(challenge.reasonCode).toBe(0x18);
    expect(challenge.properties?.authenticationMethod).toBe('token');
    client.send(publishPacket('t', 'too early', 1, { messageId: 1 }));
    // No DISCONNECT before a successful CONNACK [MQTT-3.14.0-1]: the connection just closes.
    expect(client.received).toEqual([]);
    expect(client.closed).toBe(true);
    expect(pool.sessionCount()).toBe(0);
    expect(errors).toEqual([]);
  });

  it('defect 6: a successful re-authentication answers AUTH 0x00 and keeps the connection (MQTT 5 section 4.12.1)', () => {
    for (const answer of ['auth', 'connack'] as const) {
      const { pool, errors } = setup({ runtime: authRuntime(answer) });
      const client = new TestClient(pool);
      client.send(tokenConnect('reauth'));
      expect(client.next('auth').reasonCode).toBe(0x18);
      client.send({
        cmd: 'auth',
        reasonCode: 0x18,
        properties: { authenticationMethod: 'token', authenticationData: Buffer.from('secret') },
      });
      expect(client.next('connack').reasonCode).toBe(0);
      client.send({
        cmd: 'auth',
        reasonCode: 0x19,
        properties: { authenticationMethod: 'token', authenticationData: Buffer.from('secret') },
      });
      const done = client.next('auth');
      expect(done.reasonCode).toBe(0);
      expect(done.properties?.authenticationMethod).toBe('token');
      client.send({ cmd: 'pingreq' });
      expect(client.next('pingresp')).toBeDefined();
      expect(client.closed).toBe(false);
      expect(session(pool, 'reauth').userContext.user).toBe('alice');
      // A failed re-authentication ends the connection with the runtime's reason.
      client.send({
        cmd: 'auth',
        reasonCode: 0x19,
        properties: { authenticationMethod: 'token', authenticationData: Buffer.from('wrong') },
      });
      expect(client.next('disconnect').reasonCode).toBe(0x87);
      expect(client.closed).toBe(true);
      expect(errors).toEqual([]);
    }
  });

  it('defect 7: a reconnect while awaiting PUBCOMP resends PUBREL, not PUBREC [MQTT-4.4.0-1]', () => {
    const { pool } = setup();
    const first = new TestClient(pool);
    first.connect({ clientId: 'q2', properties: { sessionExpiryInterval: 60 } });
    subscribe(first, 'q2', 2);
    void pool.serverPublish('q2', 'exactly once', { qos: 2 });
    const message = first.next('publish');
    first.send({ cmd: 'pubrec', messageId: message.messageId as number, reasonCode: 0 });
    expect(first.next('pubrel').messageId).toBe(message.messageId);
    first.drop();

    const second = new TestClient(pool);
    expect(second.connect({ clientId: 'q2', clean: false }).sessionPresent).toBe(true);
    expect(second.next('pubrel')).toMatchObject({ messageId: message.messageId, reasonCode: 0 });
    expect(second.received).toEqual([]);
    second.send({ cmd: 'pubcomp', messageId: message.messageId as number, reasonCode: 0 });
    expect(session(pool, 'q2').stats().inflight).toBe(0);
  });

  it('defect 8: Retain As Published keeps RETAIN, else it is cleared [MQTT-3.3.1-12] [MQTT-3.3.1-13]; retained messages sent on subscribe have RETAIN=1 [MQTT-3.3.1-9]', () => {
    const { pool } = setup();
    const asPublished = new TestClient(pool);
    asPublished.connect({ clientId: 'rap' });
    subscribe(asPublished, 'r/#', 0, { rap: true });
    const plain = new TestClient(pool);
    plain.connect({ clientId: 'plain' });
    subscribe(plain, 'r/#', 0);
    const publisher = new TestClient(pool);
    publisher.connect({ clientId: 'pub' });
    publisher.send(publishPacket('r/1', 'kept', 0, { retain: true }));
    expect(asPublished.next('publish')).toMatchObject({ topic: 'r/1', retain: true });
    expect(plain.next('publish')).toMatchObject({ topic: 'r/1', retain: false });

    // A new subscription gets the stored message with RETAIN set (MQTT 5 section 3.3.1.3),
    // whatever its Retain As Published.
    const late = new TestClient(pool);
    late.connect({ clientId: 'late' });
    subscribe(late, 'r/+', 1);
    expect(late.next('publish')).toMatchObject({ topic: 'r/1', retain: true, qos: 0 });
    // Retain Handling 2 sends none [MQTT-3.3.1-11].
    const none = new TestClient(pool);
    none.connect({ clientId: 'none' });
    subscribe(none, 'r/#', 0, { rh: 2 });
    expect(none.received).toEqual([]);
  });

  it('defect 9: keep-alive 0 never disconnects; keep-alive 10 disconnects after 15 s with DISCONNECT 0x8D [MQTT-3.1.2-22]', () => {
    const { pool, timers } = setup();
    const idle = new TestClient(pool);
    idle.connect({ clientId: 'idle', keepalive: 0 });
    timers.advance(6 * 3600 * 1000);
    expect(idle.closed).toBe(false);
    idle.send({ cmd: 'pingreq' });
    expect(idle.next('pingresp')).toBeDefined();

    const ten = new TestClient(pool);
    ten.connect({ clientId: 'ten', keepalive: 10 });
    timers.advance(10_000);
    ten.send({ cmd: 'pingreq' }); // activity restarts the 15 s
    expect(ten.next('pingresp')).toBeDefined();
    timers.advance(14_999);
    expect(ten.closed).toBe(false);
    timers.advance(1);
    expect(ten.next('disconnect').reasonCode).toBe(0x8d);
    expect(ten.closed).toBe(true);
    expect(idle.closed).toBe(false);
  });

  it('defect 10: an oversized message is dropped for the client (see original-protocol outgoing_packet_too_large_v5), and a reconnect does not loop', () => {
    const { pool } = setup();
    const first = new TestClient(pool);
    first.connect({ clientId: 'small', properties: { sessionExpiryInterval: 60 } });
    subscribe(first, 'big', 1);
    // One message in flight when the connection drops, one queued while it is away.
    void pool.serverPublish('big', 'x'.repeat(200), { qos: 1 });
    expect(first.next('publish').payload.length).toBe(200);
    first.drop();
    void pool.serverPublish('big', 'y'.repeat(200), { qos: 1 });
    void pool.serverPublish('big', 'fits', { qos: 1 });

    // The client comes back with a limit both large messages break [MQTT-3.1.2-25].
    for (let round = 0; round < 2; round++) {
      const again = new TestClient(pool);
      again.connect({
        clientId: 'small',
        clean: false,
        properties: { maximumPacketSize: 100, sessionExpiryInterval: 60 },
      });
      const got = again.drain();
      expect(again.closed).toBe(false);
      if (round === 0) {
        expect(got).toHaveLength(1);
        const fits = got[0] as IPublishPacket;
        expect(fits.payload.toString()).toBe('fits');
        again.send({ cmd: 'puback', messageId: fits.messageId as number, reasonCode: 0 });
      } else {
        expect(got).toEqual([]);
      }
      again.drop();
    }
    expect(session(pool, 'small').stats()).toMatchObject({ inflight: 0, queued: 0, dropped: 2 });
  });

  it('defect 11: the Will Delay Interval is honoured and the Will keeps its Message Expiry Interval [MQTT-3.1.3-9] [MQTT-3.3.2-6]', () => {
    const { pool, timers } = setup();
    const watcher = new TestClient(pool);
    watcher.connect({ clientId: 'watcher', properties: { sessionExpiryInterval: 3600 } });
    subscribe(watcher, 'wills/#', 1);
    const will = {
      topic: 'wills/a',
      payload: Buffer.from('gone'),
      qos: 1 as const,
      retain: false,
      properties: { willDelayInterval: 5, messageExpiryInterval: 60, contentType: 'text/plain' },
    };
    const client = new TestClient(pool);
    client.connect({ clientId: 'a', will, properties: { sessionExpiryInterval: 100 } });
    client.drop();
    timers.advance(4999);
    expect(watcher.received).toEqual([]);
    // Back within the delay: no Will [MQTT-3.1.3-9].
    const back = new TestClient(pool);
    back.connect({ clientId: 'a', clean: false, will, properties: { sessionExpiryInterval: 100 } });
    timers.advance(10_000);
    expect(watcher.received).toEqual([]);
    back.drop();
    timers.advance(5000);
    const published = watcher.next('publish');
    expect(published.payload.toString()).toBe('gone');
    expect(published.properties?.messageExpiryInterval).toBe(60);
    expect(published.properties?.contentType).toBe('text/plain');
    expect(published.properties).not.toHaveProperty('willDelayInterval');

    // A subscriber that was away gets it with the time it waited taken off [MQTT-3.3.2-6].
    watcher.send({ cmd: 'puback', messageId: published.messageId as number, reasonCode: 0 });
    watcher.drop();
    const other = new TestClient(pool);
    other.connect({ clientId: 'b', will: { ...will, topic: 'wills/b' } });
    other.drop();
    timers.advance(20_000);
    const resumed = new TestClient(pool);
    resumed.connect({ clientId: 'watcher', clean: false });
    const late = resumed.next('publish');
    expect(late.topic).toBe('wills/b');
    expect(late.properties?.messageExpiryInterval).toBe(40);
  });

  it('defect 12: an absent CONNECT Session Expiry Interval means 0, and a DISCONNECT expiry applies, but not from 0 (MQTT 5 sections 3.1.2.11.2 and 3.14.2.2.2)', () => {
    const { pool, timers } = setup();
    const brief = new TestClient(pool);
    expect(brief.connect({ clientId: 'brief' }).properties?.sessionExpiryInterval).toBe(0);
    brief.drop();
    expect(pool.sessionCount()).toBe(0);

    const longer = new TestClient(pool);
    longer.connect({ clientId: 'longer', properties: { sessionExpiryInterval: 10 } });
    longer.send({ cmd: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 100 } });
    expect(session(pool, 'longer').remainingExpiryMs()).toBe(100_000);
    timers.advance(99_999);
    expect(pool.sessionCount()).toBe(1);
    timers.advance(1);
    expect(pool.sessionCount()).toBe(0);

    // From 0 to more than 0 is a protocol error: DISCONNECT 0x82 and the session still ends.
    const zero = new TestClient(pool);
    zero.connect({ clientId: 'zero' });
    zero.send({ cmd: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 100 } });
    expect(zero.next('disconnect').reasonCode).toBe(0x82);
    expect(pool.sessionCount()).toBe(0);
  });

  it('defect 13: a refused takeover leaves the legitimate connection connected', () => {
    const { pool } = setup();
    const alice = new TestClient(pool);
    alice.connect({
      clientId: 'desk',
      username: 'alice',
      password: Buffer.from('pw'),
      properties: { sessionExpiryInterval: 60 },
    });
    subscribe(alice, 'mail', 1);
    for (const credentials of [
      { username: 'mallory', password: Buffer.from('pw') },
      {}, // anonymous
    ]) {
      const mallory = new TestClient(pool);
      expect(mallory.connect({ clientId: 'desk', clean: false, ...credentials })).toMatchObject({
        reasonCode: 0x87,
        sessionPresent: false,
      });
      expect(mallory.closed).toBe(true);
    }
    expect(alice.received).toEqual([]);
    expect(alice.closed).toBe(false);
    expect(session(pool, 'desk').connected).toBe(true);
    void pool.serverPublish('mail', 'for alice', { qos: 1 });
    expect(alice.next('publish').payload.toString()).toBe('for alice');
  });

  it('defect 14: refusals before a session exists still answer over any transport (no MFA crash in JS)', () => {
    // The original crashed on {M, F, A} transports here. A transport is any object with `send`
    // and `close`; this one is a class instance whose methods need `this`.
    class RecordingTransport implements Transport {
      readonly sent: Buffer[] = [];
      closes = 0;
      send(bytes: Buffer): boolean {
        this.sent.push(bytes);
        return true;
      }
      close(): void {
        this.closes++;
      }
    }
    const sessions = createPoolSet<UC>({
      timers: new ManualTimers(),
      runtime: createDefaultRuntime({ vhosts: { known: 'default' } }),
      session: { maxIncomingPacketSize: 200 },
    });
    const base = {
      cmd: 'connect' as const,
      protocolId: 'MQTT' as const,
      protocolVersion: 5 as const,
      clientId: 'ok',
      clean: true,
      keepalive: 0,
    };
    const cases: [Buffer, number[]][] = [
      // A client id with U+0000 is a Malformed Packet [MQTT-1.5.4-2]: CONNACK 0x81.
      [generate({ ...base, clientId: 'a\u0000b' }, { protocolVersion: 5 }), [0x20, 3, 0, 0x81, 0]],
      // An unknown vhost: CONNACK 0x88 Server unavailable.
      [
        generate({ ...base, username: 'other:bob', password: Buffer.from('x') }),
        [0x20, 3, 0, 0x88, 0],
      ],
      // Too large before any session exists: CONNACK 0x95.
      [generate({ ...base, clientId: 'x'.repeat(300) }), [0x20, 3, 0, 0x95, 0]],
      // MQTT 3.1.1 with an empty client id and no clean session: return code 0x02.
      // (mqtt-packet will not encode that CONNECT, so here are its bytes.)
      [Buffer.from([0x10, 12, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0, 0, 0, 0, 0]), [0x20, 2, 0, 0x02]],
      // MQTT 3.1 (MQIsdp, level 3) with a client id over 23 characters: return code 0x02.
      [
        generate({ ...base, clientId: 'x'.repeat(24), protocolId: 'MQIsdp', protocolVersion: 3 }, {
          protocolVersion: 3,
        } as never),
        [0x20, 2, 0, 0x02],
      ],
    ];
    for (const [bytes, connack] of cases) {
      const transport = new RecordingTransport();
      const connection = sessions.connect(transport);
      connection.receive(bytes);
      expect([...Buffer.concat(transport.sent)]).toEqual(connack);
      expect(transport.closes).toBe(1);
      expect(connection.isClosed).toBe(true);
    }
    expect(sessions.defaultPool.sessionCount()).toBe(0);
  });

  it('defect 15: an expired retained message is never delivered [MQTT-3.3.2-5]', () => {
    // The pool's default retain store runs on the pool's clock.
    const { pool, timers } = setup();
    const publisher = new TestClient(pool);
    publisher.connect({ clientId: 'pub' });
    publisher.send(
      publishPacket('status', 'short-lived', 0, {
        retain: true,
        properties: { messageExpiryInterval: 10 },
      }),
    );
    timers.advance(9000);
    const early = new TestClient(pool);
    early.connect({ clientId: 'early' });
    subscribe(early, 'status');
    const got = early.next('publish');
    expect(got.retain).toBe(true);
    expect(got.properties?.messageExpiryInterval).toBe(1);

    timers.advance(1000);
    const late = new TestClient(pool);
    late.connect({ clientId: 'late' });
    subscribe(late, 'status');
    expect(late.received).toEqual([]);
    const server: DeliveredMessage[] = [];
    void pool.serverSubscribe('status', (message) => server.push(message));
    expect(server).toEqual([]);
  });

  it('defect 16: a full queue drops expired messages, then the oldest QoS 0, before refusing QoS 1', () => {
    const { pool, timers } = setup({ session: { maxQueued: 3 } });
    const first = new TestClient(pool);
    first.connect({ clientId: 'q', properties: { sessionExpiryInterval: 600 } });
    subscribe(first, 'q', 1);
    first.drop();
    void pool.serverPublish('q', 'short', { qos: 1, properties: { messageExpiryInterval: 1 } });
    void pool.serverPublish('q', 'zero-a', { qos: 0 });
    void pool.serverPublish('q', 'one-a', { qos: 1 });
    timers.advance(2000); // 'short' has expired
    void pool.serverPublish('q', 'one-b', { qos: 1 }); // room made by dropping 'short'
    void pool.serverPublish('q', 'one-c', { qos: 1 }); // full: the oldest QoS 0 goes
    void pool.serverPublish('q', 'zero-b', { qos: 0 }); // full of QoS 1: this QoS 0 is dropped
    void pool.serverPublish('q', 'one-d', { qos: 1 }); // full of QoS 1: refused
    const again = new TestClient(pool);
    again.connect({ clientId: 'q', clean: false });
    expect(payloads(again.drain() as IPublishPacket[])).toEqual(['one-a', 'one-b', 'one-c']);
    expect(session(pool, 'q').stats().dropped).toBe(4);
  });

  it('defect 17: response topic keys use the whole [a-zA-Z0-9] alphabet', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 300; i++) {
      const made = createPool({ timers: new ManualTimers() }).tempResponseTopic();
      if (!('ok' in made) || !made.ok) throw new Error('no response topic');
      const key = /^reply\/call-([^/]+)\/1$/.exec(made.topic)?.[1] as string;
      expect(key).toMatch(/^[a-zA-Z0-9]{20}$/);
      for (const char of key) seen.add(char);
    }
    // The original never produced `a` and could produce `:`; 6000 draws see every character.
    expect(seen.has('a')).toBe(true);
    expect([...seen].sort().join('')).toBe(
      [...'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'].sort().join(''),
    );
  });

  it('defect 18: the Will is published with the latest user context', () => {
    const base = createDefaultRuntime();
    const checked: UC[] = [];
    const runtime: Runtime<UC> = {
      ...base,
      isAllowed(request, userContext) {
        if (request.action === 'publish' && request.topic === 'wills/x') checked.push(userContext);
        return true;
      },
    };
    const { pool } = setup({ runtime });
    const seen: DeliveredMessage[] = [];
    void pool.serverSubscribe('wills/#', (message) => seen.push(message));
    const client = new TestClient(pool);
    client.connect({
      clientId: 'x',
      will: { topic: 'wills/x', payload: Buffer.from('bye'), qos: 0, retain: false },
    });
    void pool.updateUserContext('x', (context) => ({ ...context, user: 'promoted' }));
    client.drop();
    expect(checked.map((context) => context.user)).toEqual(['promoted']);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.publisherContext).toMatchObject({ user: 'promoted' });
  });

  it('defect 19: $SYS subscriptions of a non-default pool go away with a clean start', () => {
    const timers = new ManualTimers();
    const sessions = createPoolSet<UC>({
      timers,
      runtime: createDefaultRuntime({ vhosts: { tenant: 'second' } }),
      pools: { second: {} },
    });
    const second = sessions.pool('second') as Pool<UC>;
    const credentials = { username: 'tenant:bob', password: Buffer.from('pw') };
    const first = new TestClient(sessions);
    first.connect({ clientId: 'sys', ...credentials, properties: { sessionExpiryInterval: 60 } });
    expect(second.sessionCount()).toBe(1);
    subscribe(first, '$SYS/broker/uptime');
    subscribe(first, 'local', 0, {}, 2);
    // $SYS lives in the default pool, shared by every pool.
    expect(sessions.defaultPool.routerInfo().subscriptions).toBe(1);
    void sessions.defaultPool.serverPublish('$SYS/broker/uptime', '1');
    expect(first.next('publish').payload.toString()).toBe('1');

    const again = new TestClient(sessions);
    again.connect({ clientId: 'sys', clean: true, ...credentials });
    expect(sessions.defaultPool.routerInfo().subscriptions).toBe(0);
    expect(second.routerInfo().subscriptions).toBe(0);
    void sessions.defaultPool.serverPublish('$SYS/broker/uptime', '2');
    expect(again.received).toEqual([]);
  });

  it('defect 20: a registration race ends on the existing session', async () => {
    // A registry that answers asynchronously, like one shared between processes.
    const memory = createMemoryRegistry<Session<UC>>();
    const registry: SessionRegistry<Session<UC>> = {
      register: async (id, handle) => memory.register(id, handle),
      unregister: async (id, handle) => memory.unregister(id, handle),
      find: async (id) => memory.find(id),
      whois: async (handle) => memory.whois(handle),
      count: async () => memory.count(),
      handles: () => memory.handles(),
    };
    const { pool, errors } = setup({ registry });
    const a = new TestClient(pool);
    const b = new TestClient(pool);
    const connect: IConnectPacket = {
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 5,
      clientId: 'raced',
      clean: false,
      keepalive: 0,
      properties: { sessionExpiryInterval: 60 },
    };
    a.send(connect);
    b.send(connect); // both look the id up before either registers it
    await settle();
    expect(a.next('connack').reasonCode).toBe(0);
    expect(a.next('disconnect').reasonCode).toBe(0x8e); // taken over by b
    expect(b.next('connack').reasonCode).toBe(0);
    expect(pool.sessionCount()).toBe(1);
    const held = memory.find('raced') as Session<UC>;
    expect(held.connected).toBe(true);
    subscribe(b, 'race', 1);
    void pool.serverPublish('race', 'one session', { qos: 1 });
    expect(b.next('publish').payload.toString()).toBe('one session');
    expect(errors).toEqual([]);
  });

  it('defect 21: a queued QoS 1 message waits past 10 minutes when its expiry allows', () => {
    const { pool, timers } = setup();
    const first = new TestClient(pool);
    first.connect({ clientId: 'patient', properties: { sessionExpiryInterval: 7200 } });
    subscribe(first, 'slow', 1);
    first.drop();
    void pool.serverPublish('slow', 'no expiry', { qos: 1 });
    void pool.serverPublish('slow', 'one hour', {
      qos: 1,
      properties: { messageExpiryInterval: 3600 },
    });
    void pool.serverPublish('slow', 'five minutes', {
      qos: 1,
      properties: { messageExpiryInterval: 300 },
    });
    timers.advance(11 * 60 * 1000);
    const again = new TestClient(pool);
    again.connect({ clientId: 'patient', clean: false });
    const got = again.drain() as IPublishPacket[];
    expect(payloads(got)).toEqual(['no expiry', 'one hour']);
    expect(got[0]?.properties?.messageExpiryInterval).toBeUndefined();
    expect(got[1]?.properties?.messageExpiryInterval).toBe(3600 - 660);
  });

  it('defect 22: an empty payload with content type application/json deletes the retained message [MQTT-3.3.1-6]', () => {
    const retain = new MemoryRetainStore();
    const { pool } = setup({ retain });
    const publisher = new TestClient(pool);
    publisher.connect({ clientId: 'json' });
    const json = { contentType: 'application/json' };
    publisher.send(
      publishPacket('cfg', JSON.stringify({ a: 1 }), 0, { retain: true, properties: json }),
    );
    void pool.serverPublish('cfg2', { b: 2 }, { retain: true });
    expect(retain.count()).toBe(2);
    publisher.send(publishPacket('cfg', '', 0, { retain: true, properties: json }));
    void pool.serverPublish('cfg2', null, { retain: true, properties: json });
    expect(retain.count()).toBe(0);
    const seen: DeliveredMessage[] = [];
    void pool.serverSubscribe('#', (message) => seen.push(message));
    expect(seen).toEqual([]);
    // Live, the empty JSON message decodes to undefined, not {}.
    publisher.send(publishPacket('cfg', '', 0, { properties: json }));
    expect(seen[0]?.decode()).toEqual({ ok: true, value: undefined });
  });

  it('defect 23: invalid JSON is routed, and decode() gives an error value', () => {
    const { pool, errors } = setup();
    const seen: DeliveredMessage[] = [];
    void pool.serverSubscribe('data/#', (message) => seen.push(message));
    const reader = new TestClient(pool);
    reader.connect({ clientId: 'reader' });
    subscribe(reader, 'data/#');
    const writer = new TestClient(pool);
    writer.connect({ clientId: 'writer' });
    writer.send(
      publishPacket('data/1', '{"not json', 1, {
        messageId: 1,
        properties: { contentType: 'application/json' },
      }),
    );
    expect(writer.next('puback').reasonCode).toBe(0);
    expect(reader.next('publish').payload.toString()).toBe('{"not json');
    expect(seen).toHaveLength(1);
    expect(seen[0]?.decode()).toMatchObject({ ok: false, reason: expect.stringMatching(/JSON/) });
    writer.send(
      publishPacket('data/2', '{"ok":true}', 0, {
        properties: { contentType: 'application/json' },
      }),
    );
    expect(seen[1]?.decode()).toEqual({ ok: true, value: { ok: true } });
    expect(writer.closed).toBe(false);
    expect(errors).toEqual([]);
  });
});
