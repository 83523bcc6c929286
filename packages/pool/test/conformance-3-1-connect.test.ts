/**
 * MQTT 5 conformance, sections 3.1 (CONNECT) and 3.2 (CONNACK): real bytes through a pool. Each
 * test names the normative statements it proves; docs/conformance.md maps them.
 */
import type { ConnectResult } from '@mqtt-sessions/runtime-default';
import type { IConnectPacket, IPublishPacket } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import type { DeliveredMessage } from '../src/index.js';
import {
  bystander,
  bytes5,
  closedSilently,
  connectBytes,
  connected,
  disconnectedWith,
  ORDERED_USER_PROPERTIES,
  publishWithProperties,
  refusedWith,
  runtimeWith,
  setup,
  type UC,
  unaffected,
  wire,
} from './conformance-helpers.js';
import { publishPacket, sessionOf, settle, subscribe, TestClient } from './helpers.js';

/** The byte offset of the Connect Flags in the bytes of {@link connectBytes} (short packets). */
const FLAGS = 9;

function patched(bytes: Buffer, offset: number, update: (byte: number) => number): Buffer {
  const copy = Buffer.from(bytes);
  copy[offset] = update(copy[offset] as number);
  return copy;
}

const will = (topic: string, extra: Partial<NonNullable<IConnectPacket['will']>> = {}) => ({
  topic,
  payload: Buffer.from('gone'),
  qos: 0 as const,
  retain: false,
  ...extra,
});

describe('3.1 CONNECT: the first packet and the fixed parts', () => {
  it('a first packet that is not CONNECT closes the connection without an answer [MQTT-3.1.0-1]', () => {
    const { pool } = setup();
    const watcher = bystander(pool);
    const client = new TestClient(pool);
    client.send({ cmd: 'pingreq' });
    closedSilently(client, 0);
    const publisher = new TestClient(pool);
    publisher.send(publishPacket('bystander/x', 'too early', 0));
    closedSilently(publisher, 0);
    expect(watcher.received).toEqual([]);
    unaffected(pool, watcher);
  });

  it('a protocol name other than "MQTT" closes the connection without a CONNACK [MQTT-3.1.2-1] [MQTT-3.1.4-1]', () => {
    const { pool } = setup();
    const watcher = bystander(pool);
    const client = new TestClient(pool);
    client.sendBytes(patched(connectBytes(), 7, () => 0x58)); // "MQTX"
    closedSilently(client, 0);
    expect(pool.sessionCount()).toBe(1);
    unaffected(pool, watcher);
  });

  it('a protocol version other than 5 (or 4) gets CONNACK 0x84 and the connection closes [MQTT-3.1.2-2]', () => {
    const { pool } = setup();
    for (const level of [6, 2, 0x7f]) {
      const client = new TestClient(pool);
      client.sendBytes(patched(connectBytes(), 8, () => level));
      // Answered in the 3.1.1 form every client reads: return code 0x01 is 0x84's 3.1.1 name.
      expect(wire(client)).toEqual([0x20, 0x02, 0x00, 0x01]);
      expect(client.closed).toBe(true);
    }
    expect(pool.sessionCount()).toBe(0);
  });

  it('the reserved Connect Flag set to 1 is malformed: CONNACK 0x81 and the connection closes [MQTT-3.1.2-3] [MQTT-3.1.4-1]', () => {
    const { pool } = setup();
    const watcher = bystander(pool);
    const client = new TestClient(pool);
    client.sendBytes(patched(connectBytes(), FLAGS, (flags) => flags | 0x01));
    refusedWith(client, 0x81);
    unaffected(pool, watcher);
  });

  it('a malformed CONNECT is closed: a truncated protocol name, a Will Flag without a Will, a User Name or Password Flag without the field [MQTT-3.1.4-1] [MQTT-3.1.2-9] [MQTT-3.1.2-17] [MQTT-3.1.2-19]', () => {
    const { pool } = setup();
    const watcher = bystander(pool);
    // Cut short before its protocol level: nothing says it is MQTT 5, so nothing is answered.
    const truncated = new TestClient(pool);
    truncated.sendBytes(Buffer.from([0x10, 0x04, 0x00, 0x04, 0x4d, 0x51]));
    closedSilently(truncated, 0);
    const cases = [
      patched(connectBytes(), FLAGS, (flags) => flags | 0x04), // Will Flag, no Will fields
      patched(connectBytes(), FLAGS, (flags) => flags | 0x80), // User Name Flag, no User Name
      patched(connectBytes(), FLAGS, (flags) => flags | 0x40), // Password Flag, no Password
    ];
    for (const raw of cases) {
      const client = new TestClient(pool);
      client.sendBytes(raw);
      refusedWith(client, 0x81);
    }
    expect(pool.sessionCount()).toBe(1);
    unaffected(pool, watcher);
  });

  it('Will QoS or Will Retain without the Will Flag is malformed: CONNACK 0x81 and the connection closes [MQTT-3.1.2-11] [MQTT-3.1.2-13]', () => {
    const { pool } = setup();
    const watcher = bystander(pool);
    for (const bits of [0x08, 0x10, 0x20]) {
      const client = new TestClient(pool);
      client.sendBytes(patched(connectBytes(), FLAGS, (flags) => flags | bits));
      refusedWith(client, 0x81);
    }
    unaffected(pool, watcher);
  });

  it('Will QoS 3 is malformed: CONNACK 0x81 and the connection closes [MQTT-3.1.2-12]', () => {
    const { pool } = setup();
    const client = new TestClient(pool);
    const raw = connectBytes({ will: will('w') });
    client.sendBytes(patched(raw, FLAGS, (flags) => flags | 0x18));
    expect(client.next('connack').reasonCode).toBe(0x81);
    expect(client.closed).toBe(true);
    expect(pool.sessionCount()).toBe(0);
  });
});

describe('3.1 CONNECT: Clean Start and the session', () => {
  function sessionWithBacklog() {
    const env = setup();
    const first = connected(env.pool, 'keep', { properties: { sessionExpiryInterval: 60 } });
    subscribe(first, 'news', 1);
    first.drop();
    void env.pool.serverPublish('news', 'while away', { qos: 1 });
    return env;
  }

  it('Clean Start 1 discards the session: Session Present 0, no subscriptions, no stored messages [MQTT-3.1.2-4] [MQTT-3.1.4-4] [MQTT-3.2.2-2]', () => {
    const { pool } = sessionWithBacklog();
    const client = new TestClient(pool);
    const connack = client.connect({ clientId: 'keep', clean: true });
    expect(connack).toMatchObject({ reasonCode: 0, sessionPresent: false });
    expect(client.received).toEqual([]);
    void pool.serverPublish('news', 'after', { qos: 1 });
    expect(client.received).toEqual([]);
  });

  it('Clean Start 0 resumes the session of the Client Identifier: Session Present 1, its subscriptions and messages [MQTT-3.1.2-5] [MQTT-3.1.3-2] [MQTT-3.2.2-3] [MQTT-3.1.2-23]', () => {
    const { pool } = sessionWithBacklog();
    const client = new TestClient(pool);
    expect(client.connect({ clientId: 'keep', clean: false })).toMatchObject({
      reasonCode: 0,
      sessionPresent: true,
    });
    expect(client.next('publish').payload.toString()).toBe('while away');
    void pool.serverPublish('news', 'after', { qos: 1 });
    expect(client.next('publish').payload.toString()).toBe('after');
    // Another client id does not see this session.
    const other = new TestClient(pool);
    expect(other.connect({ clientId: 'other', clean: false }).sessionPresent).toBe(false);
  });

  it('Clean Start 0 without a session creates one: Session Present 0 [MQTT-3.1.2-6] [MQTT-3.2.2-3]', () => {
    const { pool } = setup();
    const client = new TestClient(pool);
    expect(client.connect({ clientId: 'fresh', clean: false })).toMatchObject({
      reasonCode: 0,
      sessionPresent: false,
    });
    expect(pool.sessionCount()).toBe(1);
  });

  it('the CONNACK flags byte is 0 or 1: its reserved bits are 0 [MQTT-3.2.2-1]', () => {
    const { pool } = setup();
    const first = new TestClient(pool);
    first.connect({ clientId: 'flags', clean: false, properties: { sessionExpiryInterval: 60 } });
    expect((first.bytes[0] as Buffer)[2]).toBe(0x00);
    first.drop();
    const second = new TestClient(pool);
    second.connect({ clientId: 'flags', clean: false });
    expect((second.bytes[0] as Buffer)[2]).toBe(0x01);
  });

  it('accepting a CONNECT sends CONNACK 0x00 [MQTT-3.1.4-5]', () => {
    const { pool } = setup();
    const client = new TestClient(pool);
    client.connect({ clientId: 'ok' });
    expect((client.bytes[0] as Buffer)[0]).toBe(0x20);
    expect((client.bytes[0] as Buffer)[3]).toBe(0x00);
  });

  it('a CONNECT for a connected client id takes over: the old connection gets DISCONNECT 0x8E and closes [MQTT-3.1.4-3]', () => {
    const { pool } = setup();
    const first = connected(pool, 'twin', { properties: { sessionExpiryInterval: 60 } });
    const second = new TestClient(pool);
    expect(second.connect({ clientId: 'twin', clean: false }).sessionPresent).toBe(true);
    disconnectedWith(first, 0x8e);
    expect(second.closed).toBe(false);
  });
});

describe('3.1 CONNECT: the Will', () => {
  it('the Will is kept with the session and published as a non-retained message when the connection drops [MQTT-3.1.2-7] [MQTT-3.1.2-8] [MQTT-3.1.2-14]', () => {
    const { pool } = setup();
    const watcher = connected(pool, 'watcher');
    subscribe(watcher, 'lwt/#', 0, { rap: true });
    const client = connected(pool, 'mortal', { will: will('lwt/mortal') });
    expect(watcher.received).toEqual([]);
    client.drop();
    expect(watcher.next('publish')).toMatchObject({ topic: 'lwt/mortal', retain: false });
    const late = connected(pool, 'late');
    subscribe(late, 'lwt/#');
    expect(late.received).toEqual([]);
  });

  it('Will Retain 1 publishes the Will as a retained message [MQTT-3.1.2-15]', () => {
    const { pool } = setup();
    const client = connected(pool, 'mortal', { will: will('lwt/kept', { retain: true }) });
    client.drop();
    const late = connected(pool, 'late');
    subscribe(late, 'lwt/#');
    expect(late.next('publish')).toMatchObject({ topic: 'lwt/kept', retain: true });
  });

  it('the Will goes after the Will Delay Interval, or when the session ends if that is sooner [MQTT-3.1.2-8]', () => {
    const { pool, timers } = setup();
    const seen: DeliveredMessage[] = [];
    void pool.serverSubscribe('lwt/#', (message) => seen.push(message));
    const delayed = connected(pool, 'delayed', {
      will: will('lwt/delayed', { properties: { willDelayInterval: 10 } }),
      properties: { sessionExpiryInterval: 60 },
    });
    const ending = connected(pool, 'ending', {
      will: will('lwt/ending', { properties: { willDelayInterval: 100 } }),
      properties: { sessionExpiryInterval: 20 },
    });
    delayed.drop();
    ending.drop();
    timers.advance(9_999);
    expect(seen).toEqual([]);
    timers.advance(1);
    expect(seen.map((m) => m.topic)).toEqual(['lwt/delayed']);
    timers.advance(10_000);
    expect(seen.map((m) => m.topic)).toEqual(['lwt/delayed', 'lwt/ending']);
  });

  it('the Will is removed once published, and on DISCONNECT 0x00 without being published [MQTT-3.1.2-10] [MQTT-3.14.4-3]', () => {
    const { pool, timers } = setup();
    const seen: DeliveredMessage[] = [];
    void pool.serverSubscribe('lwt/#', (message) => seen.push(message));
    const once = connected(pool, 'once', {
      will: will('lwt/once'),
      properties: { sessionExpiryInterval: 60 },
    });
    once.drop();
    expect(seen.map((m) => m.topic)).toEqual(['lwt/once']);
    const back = new TestClient(pool);
    expect(back.connect({ clientId: 'once', clean: false }).sessionPresent).toBe(true);
    back.drop();
    timers.advance(60_000);
    expect(seen.map((m) => m.topic)).toEqual(['lwt/once']);

    const polite = connected(pool, 'polite', {
      will: will('lwt/polite'),
      properties: { sessionExpiryInterval: 10 },
    });
    polite.send({ cmd: 'disconnect', reasonCode: 0x00 });
    timers.advance(10_000); // the session ends, and still no Will
    expect(pool.sessionCount()).toBe(0);
    expect(seen.map((m) => m.topic)).toEqual(['lwt/once']);
  });

  it('the Will keeps the order of its User Properties (distinct names, and the values of one name) [MQTT-3.1.3-10]', () => {
    const { pool } = setup();
    const watcher = connected(pool, 'watcher');
    subscribe(watcher, 'lwt/#');
    const userProperties = { zeta: '1', alpha: ['2', '3'], mid: '4' };
    const client = connected(pool, 'ordered', {
      will: will('lwt/ordered', { properties: { userProperties } }),
    });
    client.drop();
    const got = watcher.next('publish').properties?.userProperties ?? {};
    expect(Object.entries(got)).toEqual(Object.entries(userProperties));
  });

  it('the Will keeps the order of its User Properties byte for byte: interleaved repeated names and integer-like names too [MQTT-3.1.3-10]', () => {
    const { pool } = setup();
    const watcher = connected(pool, 'watcher');
    subscribe(watcher, 'lwt/#');
    // CONNECT, MQTT 5, Will Flag, client id "w", Will Properties, Will Topic "lwt/w", payload "bye".
    const willProperties = ORDERED_USER_PROPERTIES;
    const body = Buffer.concat([
      Buffer.from([0, 4, ...Buffer.from('MQTT'), 5, 0x06, 0, 0, 0]), // Clean Start, Will; no properties
      Buffer.from([0, 1, ...Buffer.from('w')]),
      Buffer.from([willProperties.length]),
      willProperties,
      Buffer.from([0, 5, ...Buffer.from('lwt/w')]),
      Buffer.from([0, 3, ...Buffer.from('bye')]),
    ]);
    const client = new TestClient(pool);
    client.sendBytes(Buffer.concat([Buffer.from([0x10, body.length]), body]));
    expect(client.next('connack').reasonCode).toBe(0);
    const from = watcher.bytes.length;
    client.drop();
    const published = Buffer.from(wire(watcher, from));
    expect(published.equals(publishWithProperties('lwt/w', 'bye', willProperties))).toBe(true);
  });
});

describe('3.1 CONNECT: Keep Alive, limits, aliases and requests in CONNECT', () => {
  it("without a Server Keep Alive, the client's Keep Alive applies: 1.5 times it without a packet closes the connection [MQTT-3.2.2-22] [MQTT-3.1.2-22]", () => {
    const { pool, timers } = setup();
    const client = new TestClient(pool);
    expect(client.connect({ clientId: 'ka', keepalive: 4 }).properties?.serverKeepAlive).toBe(
      undefined,
    );
    timers.advance(5_999);
    expect(client.closed).toBe(false);
    timers.advance(1);
    disconnectedWith(client, 0x8d);
  });

  it("a message larger than the client's Maximum Packet Size is not sent, and counts as delivered [MQTT-3.1.2-24] [MQTT-3.1.2-25]", () => {
    const { pool } = setup();
    const client = connected(pool, 'small', {
      properties: { maximumPacketSize: 64, sessionExpiryInterval: 60 },
    });
    subscribe(client, 'big', 1);
    const from = client.bytes.length;
    void pool.serverPublish('big', Buffer.alloc(100, 0x61), { qos: 1 });
    void pool.serverPublish('big', Buffer.from('fits'), { qos: 1 });
    expect(client.bytes.slice(from).every((chunk) => chunk.length <= 64)).toBe(true);
    const [fits] = client.drain() as IPublishPacket[];
    expect(fits?.payload.toString()).toBe('fits');
    // The large one was not kept to be sent again: a resumed session resends only 'fits'.
    client.drop();
    const again = new TestClient(pool);
    again.connect({ clientId: 'small', clean: false, properties: { maximumPacketSize: 64 } });
    expect((again.drain() as IPublishPacket[]).map((p) => p.payload.toString())).toEqual(['fits']);
  });

  it("the server sends Topic Aliases no greater than the client's Topic Alias Maximum [MQTT-3.1.2-26] [MQTT-3.3.2-11] [MQTT-3.3.2-8]", () => {
    const { pool } = setup();
    const client = connected(pool, 'aliases', { properties: { topicAliasMaximum: 2 } });
    subscribe(client, 'a/+');
    for (const topic of ['a/1', 'a/2', 'a/3', 'a/1', 'a/4', 'a/2'])
      void pool.serverPublish(topic, 'x');
    const aliases = (client.drain() as IPublishPacket[]).map((p) => p.properties?.topicAlias);
    expect(aliases.every((alias) => alias !== undefined && alias >= 1 && alias <= 2)).toBe(true);
  });

  it('no Topic Alias goes to a client whose Topic Alias Maximum is absent or 0 [MQTT-3.1.2-27]', () => {
    const { pool } = setup();
    const absent = connected(pool, 'absent');
    const zero = connected(pool, 'zero', { properties: { topicAliasMaximum: 0 } });
    for (const client of [absent, zero]) subscribe(client, 'a/+');
    for (const topic of ['a/1', 'a/1', 'a/2']) void pool.serverPublish(topic, 'x');
    for (const client of [absent, zero]) {
      const got = client.drain() as IPublishPacket[];
      expect(got).toHaveLength(3);
      expect(got.every((p) => p.properties?.topicAlias === undefined && p.topic !== '')).toBe(true);
    }
  });

  it('Response Information only when the client asks for it [MQTT-3.1.2-28]', () => {
    const { pool } = setup({ runtime: runtimeWith({ responseInformation: () => 'reply/me' }) });
    const quiet = new TestClient(pool);
    expect(quiet.connect({ clientId: 'a' }).properties?.responseInformation).toBeUndefined();
    const no = new TestClient(pool);
    expect(
      no.connect({ clientId: 'b', properties: { requestResponseInformation: false } }).properties
        ?.responseInformation,
    ).toBeUndefined();
    const yes = new TestClient(pool);
    expect(
      yes.connect({ clientId: 'c', properties: { requestResponseInformation: true } }).properties
        ?.responseInformation,
    ).toBe('reply/me');
  });

  it('Request Problem Information 0: no Reason String or User Properties on AUTH; CONNACK may carry them [MQTT-3.1.2-29]', () => {
    const problem = { reasonString: 'say more', userProperties: { step: '1' } };
    const runtime = runtimeWith({
      connect: (packet, _present, _connection, userContext): ConnectResult<UC> =>
        packet.properties?.authenticationMethod === 'm'
          ? { type: 'auth', reasonCode: 0x18, properties: { ...problem }, userContext }
          : { type: 'connack', reasonCode: 0, properties: { ...problem }, userContext },
    });
    const { pool } = setup({ runtime });
    for (const requestProblemInformation of [true, false]) {
      const client = new TestClient(pool);
      client.send({
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 5,
        clientId: `auth-${requestProblemInformation}`,
        clean: true,
        keepalive: 0,
        properties: { authenticationMethod: 'm', requestProblemInformation },
      });
      const auth = client.next('auth');
      expect(auth.properties?.reasonString).toBe(
        requestProblemInformation ? 'say more' : undefined,
      );
      expect(auth.properties?.userProperties).toEqual(
        requestProblemInformation ? { step: '1' } : undefined,
      );
      const plain = new TestClient(pool);
      const connack = plain.connect({
        clientId: `plain-${requestProblemInformation}`,
        properties: { requestProblemInformation },
      });
      expect(connack.properties?.reasonString).toBe('say more');
    }
  });

  it('a Reason String or User Properties that would make CONNACK too large for the client are left out [MQTT-3.2.2-19] [MQTT-3.2.2-20]', () => {
    const long = { reasonString: 'r'.repeat(200), userProperties: { u: 'v'.repeat(200) } };
    const runtime = runtimeWith({
      connect: (_packet, _present, _connection, userContext): ConnectResult<UC> => ({
        type: 'connack',
        reasonCode: 0,
        properties: { ...long },
        userContext,
      }),
    });
    const { pool } = setup({ runtime });
    const small = new TestClient(pool);
    const connack = small.connect({ clientId: 'small', properties: { maximumPacketSize: 240 } });
    expect(connack.reasonCode).toBe(0);
    expect(connack.properties?.reasonString).toBeUndefined();
    expect(connack.properties?.userProperties).toEqual(long.userProperties);
    expect((small.bytes[0] as Buffer).length).toBeLessThanOrEqual(240);
    const tiny = new TestClient(pool);
    const bare = tiny.connect({ clientId: 'tiny', properties: { maximumPacketSize: 64 } });
    expect(bare.properties?.userProperties).toBeUndefined();
    expect((tiny.bytes[0] as Buffer).length).toBeLessThanOrEqual(64);
    const roomy = new TestClient(pool);
    expect(roomy.connect({ clientId: 'roomy' }).properties).toMatchObject(long);
  });
});

describe('3.1 CONNECT: the Client Identifier', () => {
  it('accepts client ids of 1 to 23 characters of [0-9a-zA-Z] [MQTT-3.1.3-5]', () => {
    const { pool } = setup();
    for (const id of ['a', 'Z', '0', 'abcdefghijklmnopqrstuvw', '0123456789ABCDEFGHIJKLM']) {
      const client = new TestClient(pool);
      expect(client.connect({ clientId: id }).reasonCode).toBe(0);
      expect(sessionOf(pool, id).clientId).toBe(id);
    }
  });

  it('an empty client id gets a unique one, used for the session and returned in CONNACK [MQTT-3.1.3-6] [MQTT-3.1.3-7] [MQTT-3.2.2-16]', () => {
    const { pool } = setup();
    const ids = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const client = new TestClient(pool);
      const connack = client.connect({ clientId: '' });
      const assigned = connack.properties?.assignedClientIdentifier as string;
      expect(assigned).toMatch(/^[a-zA-Z0-9]{20}$/);
      expect(sessionOf(pool, assigned).connected).toBe(true);
      ids.add(assigned);
    }
    expect(ids.size).toBe(3);
  });

  it('a client id the server refuses gets CONNACK 0x85 and the connection closes [MQTT-3.1.3-8]', () => {
    const { pool } = setup();
    const client = new TestClient(pool);
    expect(client.connect({ clientId: 'x'.repeat(300) })).toMatchObject({
      reasonCode: 0x85,
      sessionPresent: false,
    });
    expect(client.closed).toBe(true);
    expect(pool.sessionCount()).toBe(0);
  });
});

describe('3.1.4 and 3.2 CONNECT actions and CONNACK', () => {
  const refusing = runtimeWith({
    connect: (packet, _present, _connection, userContext): ConnectResult<UC> =>
      packet.username === 'mallory'
        ? { type: 'connack', reasonCode: 0x87, userContext }
        : { type: 'connack', reasonCode: 0, userContext },
  });

  it('a CONNECT the runtime refuses gets CONNACK 0x87 with Session Present 0 and the connection closes [MQTT-3.1.4-2] [MQTT-3.2.2-6] [MQTT-3.2.2-7] [MQTT-4.13.2-1]', () => {
    const { pool } = setup({ runtime: refusing });
    const owner = connected(pool, 'desk', { properties: { sessionExpiryInterval: 60 } });
    owner.drop();
    const mallory = new TestClient(pool);
    const connack = mallory.connect({
      clientId: 'desk',
      clean: false,
      username: 'mallory',
      password: Buffer.from('x'),
    });
    expect(connack).toMatchObject({ reasonCode: 0x87, sessionPresent: false });
    expect(mallory.closed).toBe(true);
    expect(wire(mallory)[2]).toBe(0x00);
  });

  it('after a refused CONNECT nothing the client sent after it is processed [MQTT-3.1.4-6]', async () => {
    for (const slow of [false, true]) {
      const runtime = runtimeWith({
        connect: (packet, present, connection, userContext) => {
          const answer = refusing.connect(packet, present, connection, userContext);
          return slow && packet.username === 'mallory' ? Promise.resolve(answer) : answer;
        },
      });
      const { pool } = setup({ runtime });
      const watcher = connected(pool, 'watcher');
      subscribe(watcher, 'after/#');
      const mallory = new TestClient(pool);
      mallory.sendBytes(
        Buffer.concat([
          connectBytes({ clientId: 'm', username: 'mallory', password: Buffer.from('x') }),
          bytes5(publishPacket('after/connect', 'sneaky', 0)),
          bytes5({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'after/#', qos: 0 }] }),
        ]),
      );
      await settle();
      expect(mallory.drain().map((p) => p.cmd)).toEqual(['connack']);
      expect(mallory.closed).toBe(true);
      expect(watcher.received).toEqual([]);
    }
  });

  it('CONNACK 0x00 comes before any other packet, also with a slow runtime and stored messages [MQTT-3.2.0-1]', async () => {
    const slow = runtimeWith({
      connect: (packet, present, connection, userContext) =>
        Promise.resolve(refusing.connect(packet, present, connection, userContext)),
    });
    const { pool } = setup({ runtime: slow });
    const first = new TestClient(pool);
    first.send({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 5,
      clientId: 'queued',
      clean: true,
      keepalive: 0,
      properties: { sessionExpiryInterval: 60 },
    });
    await settle();
    first.next('connack');
    subscribe(first, 'q', 1);
    first.drop();
    void pool.serverPublish('q', 'stored', { qos: 1 });
    const client = new TestClient(pool);
    client.sendBytes(
      Buffer.concat([
        connectBytes({ clientId: 'queued', clean: false }),
        bytes5({ cmd: 'pingreq' }),
        bytes5({ cmd: 'subscribe', messageId: 2, subscriptions: [{ topic: 'r', qos: 0 }] }),
      ]),
    );
    expect(client.received).toEqual([]);
    await settle();
    expect(client.drain().map((p) => p.cmd)).toEqual(['connack', 'publish', 'pingresp', 'suback']);
  });

  it('a connection gets at most one CONNACK: a second CONNECT gets DISCONNECT 0x82 [MQTT-3.2.0-2] [MQTT-3.1.0-2]', () => {
    const { pool } = setup();
    const client = connected(pool, 'once');
    client.send({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 5,
      clientId: 'once',
      clean: true,
      keepalive: 0,
    });
    disconnectedWith(client, 0x82);
    expect(client.bytes.filter((chunk) => chunk[0] === 0x20)).toHaveLength(1);
  });

  it('CONNACK carries only CONNACK reason codes, whatever the runtime answers [MQTT-3.2.2-8]', () => {
    const runtime = runtimeWith({
      connect: (packet, _present, _connection, userContext): ConnectResult<UC> => ({
        type: 'connack',
        reasonCode: Number(packet.username),
        userContext,
      }),
    });
    const { pool } = setup({ runtime });
    const cases: [number, number][] = [
      [0x86, 0x86],
      [0x8c, 0x8c],
      [0x9f, 0x9f],
      [0x8e, 0x80], // Session taken over is a DISCONNECT code: Unspecified error instead
      [0xa2, 0x80],
    ];
    for (const [given, sent] of cases) {
      const client = new TestClient(pool);
      const connack = client.connect({
        clientId: `c${given}`,
        username: String(given),
        password: Buffer.from('x'),
      });
      expect(connack.reasonCode).toBe(sent);
      expect(client.closed).toBe(true);
    }
  });

  it('a Will QoS above Maximum QoS is refused with CONNACK 0x9B, a retained Will without retain support with 0x9A [MQTT-3.2.2-12] [MQTT-3.2.2-13]', () => {
    const { pool } = setup({ session: { maximumQoS: 1, retainAvailable: false } });
    const watcher = bystander(pool);
    const qos = new TestClient(pool);
    expect(qos.connect({ clientId: 'q', will: will('w', { qos: 2 }) }).reasonCode).toBe(0x9b);
    expect(qos.closed).toBe(true);
    const retain = new TestClient(pool);
    expect(retain.connect({ clientId: 'r', will: will('w', { retain: true }) }).reasonCode).toBe(
      0x9a,
    );
    expect(retain.closed).toBe(true);
    unaffected(pool, watcher);
  });

  it('the server enforces what CONNACK told the client: RETAIN without Retain Available gets DISCONNECT 0x9A; a Topic Alias when the maximum is 0 gets 0x94 [MQTT-3.2.2-14] [MQTT-3.2.2-17] [MQTT-3.2.2-18]', () => {
    const { pool } = setup({ session: { retainAvailable: false, topicAliasMaximum: 0 } });
    const retain = new TestClient(pool);
    expect(retain.connect({ clientId: 'r' }).properties).toMatchObject({ retainAvailable: false });
    retain.send(publishPacket('t', 'x', 0, { retain: true }));
    disconnectedWith(retain, 0x9a);
    const alias = new TestClient(pool);
    expect(alias.connect({ clientId: 'a' }).properties?.topicAliasMaximum).toBeUndefined();
    alias.send(publishPacket('t', 'x', 0, { properties: { topicAlias: 1 } }));
    disconnectedWith(alias, 0x94);
  });
});
