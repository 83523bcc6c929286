/**
 * MQTT 3.1.1 sessions, as thoroughly as MQTT 5: CONNACK return codes, Clean Session, QoS 0/1/2 in
 * both directions, retained messages, the Will, and packets without properties on the wire.
 * Statement numbers marked (3.1.1) are those of the MQTT 3.1.1 specification.
 */
import {
  createDefaultRuntime,
  type DefaultUserContext,
  type Runtime,
} from '@mqtt-sessions/runtime-default';
import { generate, type IPublishPacket } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import type { DeliveredMessage, PoolOptions } from '../src/index.js';
import { publishPacket, sessionOf, subscribe, TestClient, testPool } from './helpers.js';

type UC = DefaultUserContext;

function setup(options: PoolOptions<UC> = {}) {
  return testPool<UC>(options);
}

/** A 3.1.1 client. */
function client311(pool: ReturnType<typeof setup>['pool']): TestClient {
  return new TestClient(pool, 4);
}

/** The raw bytes the pool sent to a client, from `from` on. */
function wire(client: TestClient, from = 0): number[] {
  return [...Buffer.concat(client.bytes.slice(from))];
}

/** A runtime that refuses CONNECTs by username with the given MQTT 5 reason codes. */
function refusingRuntime(codes: Record<string, number>): Runtime<UC> {
  const base = createDefaultRuntime();
  return {
    ...base,
    connect(packet, sessionPresent, connection, userContext) {
      const code = codes[packet.username ?? ''];
      if (code !== undefined) return { type: 'connack', reasonCode: code, userContext };
      return base.connect(packet, sessionPresent, connection, userContext);
    },
    isAllowed(request, userContext) {
      if (request.action === 'subscribe') return !request.topic.startsWith('secret');
      return base.isAllowed(request, userContext);
    },
  };
}

describe('MQTT 3.1.1: CONNECT and CONNACK', () => {
  it('accepts a 3.1.1 CONNECT with a four-byte CONNACK (no properties), Session Present 0 [MQTT-3.2.2-1] (3.1.1)', () => {
    const { pool } = setup();
    const client = client311(pool);
    expect(client.connect({ clientId: 'c311' })).toMatchObject({
      sessionPresent: false,
      returnCode: 0,
    });
    expect(wire(client)).toEqual([0x20, 0x02, 0x00, 0x00]);
    expect(sessionOf(pool, 'c311').stats().protocolVersion).toBe(4);
  });

  it('answers an unsupported protocol level (6) with return code 0x01 and closes [MQTT-3.1.2-2] (3.1.1)', () => {
    const { pool } = setup();
    const client = client311(pool);
    // CONNECT, "MQTT", level 6, clean session, keep-alive 0, empty client id.
    client.sendBytes([0x10, 12, 0, 4, 0x4d, 0x51, 0x54, 0x54, 6, 0x02, 0, 0, 0, 0]);
    expect(wire(client)).toEqual([0x20, 0x02, 0x00, 0x01]);
    expect(client.closed).toBe(true);
    expect(pool.sessionCount()).toBe(0);
  });

  it('accepts MQTT 3.1 (MQIsdp, level 3), and refuses it with 0x01 when switched off', () => {
    const mqtt31 = (clientId: string) =>
      generate(
        {
          cmd: 'connect',
          protocolId: 'MQIsdp',
          protocolVersion: 3,
          clientId,
          clean: true,
          keepalive: 0,
        },
        { protocolVersion: 3 } as never,
      );
    const { pool } = setup();
    const client = client311(pool);
    client.sendBytes(mqtt31('old'));
    expect(wire(client)).toEqual([0x20, 0x02, 0x00, 0x00]);
    client.next('connack');
    subscribe(client, 'legacy/#', 1);
    void pool.serverPublish('legacy/x', 'still spoken', { qos: 1 });
    expect(client.next('publish').payload.toString()).toBe('still spoken');
    // MQTT 3.1 section 3.1: a client id of 1 to 23 characters, else return code 2.
    // (mqtt-packet will not encode an empty one, so here are its bytes.)
    const empty = [0x10, 14, 0, 6, ...Buffer.from('MQIsdp'), 3, 0x02, 0, 0, 0, 0];
    for (const bytes of [Buffer.from(empty), mqtt31('x'.repeat(24))]) {
      const refused = client311(pool);
      refused.sendBytes(bytes);
      expect(wire(refused)).toEqual([0x20, 0x02, 0x00, 0x02]);
      expect(refused.closed).toBe(true);
    }
    const strict = setup({ session: { acceptMqtt31: false } }).pool;
    const refused = client311(strict);
    refused.sendBytes(mqtt31('old'));
    expect(wire(refused)).toEqual([0x20, 0x02, 0x00, 0x01]);
    expect(refused.closed).toBe(true);
  });

  it('closes a connection whose protocol name is not MQTT without a CONNACK [MQTT-3.1.2-1] (3.1.1)', () => {
    const { pool } = setup();
    const client = client311(pool);
    client.sendBytes([0x10, 12, 0, 4, 0x4d, 0x51, 0x54, 0x58, 4, 0x02, 0, 0, 0, 0]);
    expect(client.bytes).toEqual([]);
    expect(client.closed).toBe(true);
  });

  it('rejects an empty client id without clean session with 0x02 [MQTT-3.1.3-8] (3.1.1)', () => {
    const { pool } = setup();
    const client = client311(pool);
    client.sendBytes([0x10, 12, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x00, 0, 0, 0, 0]);
    expect(wire(client)).toEqual([0x20, 0x02, 0x00, 0x02]);
    expect(client.closed).toBe(true);
    expect(pool.sessionCount()).toBe(0);
  });

  it('gives an empty client id with clean session a server-made one [MQTT-3.1.3-6] (3.1.1)', () => {
    const { pool } = setup();
    const client = client311(pool);
    expect(client.connect({ clientId: '', clean: true }).returnCode).toBe(0);
    expect(pool.sessionCount()).toBe(1);
    expect(pool.sessionStats()[0]?.clientId).toMatch(/^[a-zA-Z0-9]{20}$/);
  });

  it('maps runtime refusals to 3.1.1 return codes (0x05, 0x04, 0x03), with Session Present 0, and closes [MQTT-3.2.2-4] [MQTT-3.2.2-5] (3.1.1)', () => {
    const { pool } = setup({
      runtime: refusingRuntime({ nobody: 0x87, wrongpw: 0x86, later: 0x88, banned: 0x8a }),
    });
    const cases: [string, number][] = [
      ['nobody', 0x05],
      ['wrongpw', 0x04],
      ['later', 0x03],
      ['banned', 0x05],
    ];
    for (const [username, code] of cases) {
      const client = client311(pool);
      client.connect({ clientId: username, username, password: Buffer.from('pw') });
      expect(wire(client)).toEqual([0x20, 0x02, 0x00, code]);
      expect(client.closed).toBe(true);
    }
    expect(pool.sessionCount()).toBe(0);
  });

  it('the default runtime refuses a username without a password with 0x05', () => {
    const { pool } = setup();
    const client = client311(pool);
    expect(client.connect({ clientId: 'half', username: 'bob' }).returnCode).toBe(0x05);
    expect(client.closed).toBe(true);
  });

  it('closes the connection on a second CONNECT, without a packet [MQTT-3.1.0-2] (3.1.1)', () => {
    const { pool, errors } = setup();
    const client = client311(pool);
    client.connect({ clientId: 'twice', clean: false });
    const sent = client.bytes.length;
    client.send({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clientId: 'twice',
      clean: false,
      keepalive: 0,
    });
    expect(client.bytes.length).toBe(sent);
    expect(client.closed).toBe(true);
    expect(pool.sessionCount()).toBe(1); // clean session 0: the session stays
    expect(errors).toEqual([]);
  });

  it('resumes a session across protocol versions (3.1.1 to 5 and back), keeping subscriptions and queued messages', () => {
    const { pool } = setup();
    const old = client311(pool);
    old.connect({ clientId: 'mixed', clean: false });
    expect(subscribe(old, 'fw/+', 1)).toEqual([1]);
    old.drop();
    void pool.serverPublish('fw/update', 'while away', { qos: 1 });
    const v5 = new TestClient(pool, 5);
    expect(
      v5.connect({ clientId: 'mixed', clean: false, properties: { sessionExpiryInterval: 60 } }),
    ).toMatchObject({ reasonCode: 0, sessionPresent: true });
    const [queued] = v5.drain() as IPublishPacket[];
    expect(queued).toMatchObject({ topic: 'fw/update', qos: 1 });
    expect(queued?.payload.toString()).toBe('while away');
    v5.drop();
    void pool.serverPublish('fw/next', 'back to 3.1.1', { qos: 1 });
    const back = client311(pool);
    // The unacknowledged message comes again with DUP, then the new one.
    expect(back.connect({ clientId: 'mixed', clean: false }).sessionPresent).toBe(true);
    const again = back.drain() as IPublishPacket[];
    expect(again.map((p) => [p.topic, p.dup])).toEqual([
      ['fw/update', true],
      ['fw/next', false],
    ]);
    const fresh = new TestClient(pool, 5);
    expect(fresh.connect({ clientId: 'mixed', clean: true })).toMatchObject({
      reasonCode: 0,
      sessionPresent: false,
    });
  });
});

describe('MQTT 3.1.1: Clean Session', () => {
  it('clean session 0 resumes the session: Session Present 1, subscriptions kept, messages stored [MQTT-3.1.2-4] [MQTT-3.1.2-5] [MQTT-3.2.2-2] (3.1.1)', () => {
    const { pool } = setup();
    const first = client311(pool);
    expect(first.connect({ clientId: 'keep', clean: false }).sessionPresent).toBe(false);
    expect(subscribe(first, 'news/+', 1)).toEqual([1]);
    first.send({ cmd: 'disconnect' });
    expect(first.closed).toBe(true);
    expect(pool.sessionCount()).toBe(1);

    void pool.serverPublish('news/a', 'while away', { qos: 1 });
    void pool.serverPublish('news/b', 'best effort', { qos: 0 });
    const second = client311(pool);
    expect(second.connect({ clientId: 'keep', clean: false }).sessionPresent).toBe(true);
    const [one, zero] = second.drain() as IPublishPacket[];
    expect(one).toMatchObject({ topic: 'news/a', qos: 1 });
    expect(zero).toMatchObject({ topic: 'news/b', qos: 0 });
    second.send({ cmd: 'puback', messageId: one?.messageId as number });
    expect(sessionOf(pool, 'keep').stats().inflight).toBe(0);
  });

  it('a clean session 0 session never expires by default', () => {
    const { pool, timers } = setup();
    const client = client311(pool);
    client.connect({ clientId: 'forever', clean: false });
    subscribe(client, 'later', 1);
    client.drop();
    expect(sessionOf(pool, 'forever').remainingExpiryMs()).toBe(Number.POSITIVE_INFINITY);
    timers.advance(400 * 24 * 3600 * 1000);
    void pool.serverPublish('later', 'a year on', { qos: 1 });
    const back = client311(pool);
    expect(back.connect({ clientId: 'forever', clean: false }).sessionPresent).toBe(true);
    expect(back.next('publish').payload.toString()).toBe('a year on');
  });

  it('clean session 1 discards the old session and lasts as long as the connection [MQTT-3.1.2-6] [MQTT-3.2.2-1] (3.1.1)', () => {
    const { pool } = setup();
    const first = client311(pool);
    first.connect({ clientId: 'clean', clean: false });
    subscribe(first, 'gone', 1);
    first.drop();
    void pool.serverPublish('gone', 'queued', { qos: 1 });

    const second = client311(pool);
    expect(second.connect({ clientId: 'clean', clean: true }).sessionPresent).toBe(false);
    expect(second.received).toEqual([]);
    void pool.serverPublish('gone', 'after', { qos: 1 });
    expect(second.received).toEqual([]);
    second.drop();
    expect(pool.sessionCount()).toBe(0);
    const third = client311(pool);
    expect(third.connect({ clientId: 'clean', clean: false }).sessionPresent).toBe(false);
  });

  it('a takeover closes the old connection without a DISCONNECT packet [MQTT-3.1.4-2] (3.1.1)', () => {
    const { pool } = setup();
    const first = client311(pool);
    first.connect({ clientId: 'dup', clean: false });
    const before = first.bytes.length;
    const second = client311(pool);
    expect(second.connect({ clientId: 'dup', clean: false }).sessionPresent).toBe(true);
    expect(first.bytes.length).toBe(before);
    expect(first.closed).toBe(true);
  });
});

describe('MQTT 3.1.1: QoS both ways', () => {
  it('client to server: PUBACK, PUBREC and PUBCOMP are two-byte acks without reason codes', () => {
    const { pool } = setup();
    const reader = client311(pool);
    reader.connect({ clientId: 'reader' });
    subscribe(reader, 'up/#', 2);
    const writer = client311(pool);
    writer.connect({ clientId: 'writer' });
    let from = writer.bytes.length;

    writer.send(publishPacket('up/0', 'q0', 0));
    expect(writer.bytes.length).toBe(from);
    writer.send(publishPacket('up/1', 'q1', 1, { messageId: 0x0102 }));
    expect(wire(writer, from)).toEqual([0x40, 0x02, 0x01, 0x02]);
    from = writer.bytes.length;
    // Nobody listens on `none`: 3.1.1 has no 0x10, the ack is the same.
    writer.send(publishPacket('none', 'q1', 1, { messageId: 3 }));
    expect(wire(writer, from)).toEqual([0x40, 0x02, 0x00, 0x03]);
    from = writer.bytes.length;
    writer.send(publishPacket('up/2', 'q2', 2, { messageId: 4 }));
    expect(wire(writer, from)).toEqual([0x50, 0x02, 0x00, 0x04]);
    from = writer.bytes.length;
    writer.send({ cmd: 'pubrel', messageId: 4 });
    expect(wire(writer, from)).toEqual([0x70, 0x02, 0x00, 0x04]);

    const got = reader.drain() as IPublishPacket[];
    expect(got.map((p) => [p.topic, p.qos, p.payload.toString()])).toEqual([
      ['up/0', 0, 'q0'],
      ['up/1', 1, 'q1'],
      ['up/2', 2, 'q2'],
    ]);
  });

  it('a QoS 2 resend before PUBREL is acknowledged but delivered once [MQTT-4.3.3-2] (3.1.1)', () => {
    const { pool } = setup();
    const reader = client311(pool);
    reader.connect({ clientId: 'reader' });
    subscribe(reader, 'x', 2);
    const writer = client311(pool);
    writer.connect({ clientId: 'writer' });
    writer.send(publishPacket('x', 'once', 2, { messageId: 9 }));
    writer.send(publishPacket('x', 'once', 2, { messageId: 9, dup: true }));
    expect(writer.drain().map((p) => p.cmd)).toEqual(['pubrec', 'pubrec']);
    expect(reader.drain()).toHaveLength(1);
  });

  it('server to client: QoS 1 and the QoS 2 handshake, PUBREL with flags 0x62 [MQTT-3.6.1-1] (3.1.1)', () => {
    const { pool } = setup();
    const client = client311(pool);
    client.connect({ clientId: 'down' });
    subscribe(client, 'down/#', 2);
    void pool.serverPublish('down/1', 'one', { qos: 1 });
    const one = client.next('publish');
    expect(one).toMatchObject({ qos: 1, dup: false });
    client.send({ cmd: 'puback', messageId: one.messageId as number });

    void pool.serverPublish('down/2', 'two', { qos: 2 });
    const two = client.next('publish');
    expect(two.qos).toBe(2);
    const from = client.bytes.length;
    client.send({ cmd: 'pubrec', messageId: two.messageId as number });
    expect(wire(client, from)).toEqual([0x62, 0x02, 0x00, two.messageId as number]);
    client.send({ cmd: 'pubcomp', messageId: two.messageId as number });
    expect(sessionOf(pool, 'down').stats().inflight).toBe(0);
  });

  it('delivers at min(message QoS, granted QoS) [MQTT-3.8.4-6] (3.1.1)', () => {
    const { pool } = setup();
    const client = client311(pool);
    client.connect({ clientId: 'low' });
    expect(subscribe(client, 'mix', 0)).toEqual([0]);
    void pool.serverPublish('mix', 'high', { qos: 2 });
    expect(client.next('publish')).toMatchObject({ qos: 0 });
    expect(client.received).toEqual([]);
  });

  it('resends unacknowledged QoS 1 with DUP on reconnect [MQTT-4.4.0-1] (3.1.1)', () => {
    const { pool } = setup();
    const first = client311(pool);
    first.connect({ clientId: 'again', clean: false });
    subscribe(first, 'again', 1);
    void pool.serverPublish('again', 'unacked', { qos: 1 });
    const sent = first.next('publish');
    first.drop();
    const second = client311(pool);
    second.connect({ clientId: 'again', clean: false });
    const resent = second.next('publish');
    expect(resent).toMatchObject({ dup: true, messageId: sent.messageId, qos: 1 });
    expect(resent.payload.toString()).toBe('unacked');
  });
});

describe('MQTT 3.1.1: retained messages, the Will, the wire', () => {
  it('retained: stored, sent with RETAIN 1 to new subscriptions, RETAIN 0 to existing ones, deleted by an empty payload [MQTT-3.3.1-5] [MQTT-3.3.1-8] [MQTT-3.3.1-9] [MQTT-3.3.1-10] (3.1.1)', () => {
    const { pool } = setup();
    const existing = client311(pool);
    existing.connect({ clientId: 'existing' });
    subscribe(existing, 'state/#');
    const writer = client311(pool);
    writer.connect({ clientId: 'writer' });
    writer.send(publishPacket('state/door', 'open', 1, { retain: true, messageId: 1 }));
    expect(existing.next('publish')).toMatchObject({ topic: 'state/door', retain: false });

    const late = client311(pool);
    late.connect({ clientId: 'late' });
    subscribe(late, 'state/+', 1);
    const retained = late.next('publish');
    expect(retained).toMatchObject({ topic: 'state/door', retain: true, qos: 1 });
    expect(retained.payload.toString()).toBe('open');

    writer.send(publishPacket('state/door', '', 0, { retain: true }));
    expect(existing.next('publish').payload.length).toBe(0); // sent on as normal
    const later = client311(pool);
    later.connect({ clientId: 'later' });
    subscribe(later, 'state/#');
    expect(later.received).toEqual([]);
  });

  it('the Will goes at once when the connection drops, for clean session 0 and 1 [MQTT-3.1.2-8] (3.1.1)', () => {
    const { pool } = setup();
    const watcher = client311(pool);
    watcher.connect({ clientId: 'watcher' });
    subscribe(watcher, 'lwt/#', 1);
    for (const clean of [false, true]) {
      const client = client311(pool);
      client.connect({
        clientId: `w-${clean}`,
        clean,
        will: { topic: `lwt/${clean}`, payload: Buffer.from('offline'), qos: 1, retain: true },
      });
      client.drop();
      const will = watcher.next('publish');
      expect(will).toMatchObject({ topic: `lwt/${clean}`, qos: 1 });
      expect(will.payload.toString()).toBe('offline');
      watcher.send({ cmd: 'puback', messageId: will.messageId as number });
    }
    // Published retained: a later subscriber gets both (in the store's order).
    const late = client311(pool);
    late.connect({ clientId: 'late' });
    subscribe(late, 'lwt/#');
    const stored = (late.drain() as IPublishPacket[]).map((p) => [p.topic, p.retain]);
    expect(stored.sort()).toEqual([
      ['lwt/false', true],
      ['lwt/true', true],
    ]);
  });

  it('no Will after DISCONNECT [MQTT-3.1.2-10]; a keep-alive timeout publishes it and closes without a packet [MQTT-3.1.2-24] (3.1.1)', () => {
    const { pool, timers } = setup();
    const seen: DeliveredMessage[] = [];
    void pool.serverSubscribe('lwt/#', (message) => seen.push(message));
    const polite = client311(pool);
    polite.connect({
      clientId: 'polite',
      will: { topic: 'lwt/polite', payload: Buffer.from('x'), qos: 0, retain: false },
    });
    polite.send({ cmd: 'disconnect' });
    expect(seen).toEqual([]);

    const quiet = client311(pool);
    quiet.connect({
      clientId: 'quiet',
      keepalive: 4,
      will: { topic: 'lwt/quiet', payload: Buffer.from('x'), qos: 0, retain: false },
    });
    const sent = quiet.bytes.length;
    timers.advance(5999);
    expect(quiet.closed).toBe(false);
    timers.advance(1);
    expect(quiet.closed).toBe(true);
    expect(quiet.bytes.length).toBe(sent);
    expect(seen.map((m) => m.topic)).toEqual(['lwt/quiet']);
  });

  it('a message published with MQTT 5 properties reaches a 3.1.1 client without them', () => {
    const { pool } = setup();
    const reader = client311(pool);
    reader.connect({ clientId: 'reader' });
    subscribe(reader, 'props', 1);
    const v5 = new TestClient(pool, 5);
    v5.connect({ clientId: 'v5' });
    const from = reader.bytes.length;
    v5.send(
      publishPacket('props', 'plain', 1, {
        messageId: 1,
        properties: {
          contentType: 'text/plain',
          userProperties: { a: 'b' },
          messageExpiryInterval: 60,
          responseTopic: 'back',
          correlationData: Buffer.from('c'),
          payloadFormatIndicator: true,
        },
      }),
    );
    const got = reader.next('publish');
    expect(wire(reader, from)).toEqual([
      ...generate(
        {
          cmd: 'publish',
          topic: 'props',
          payload: Buffer.from('plain'),
          qos: 1,
          messageId: got.messageId as number,
          retain: false,
          dup: false,
        },
        { protocolVersion: 4 },
      ),
    ]);
  });

  it('SUBACK carries 0x80 for a refused or invalid filter, in order [MQTT-3.9.3-1] [MQTT-3.9.3-2] (3.1.1)', () => {
    const { pool } = setup({ runtime: refusingRuntime({}) });
    const client = client311(pool);
    client.connect({ clientId: 'subs' });
    const from = client.bytes.length;
    client.send({
      cmd: 'subscribe',
      messageId: 7,
      subscriptions: [
        { topic: 'fine', qos: 1 },
        { topic: 'secret/#', qos: 1 },
        { topic: 'bad/#/filter', qos: 0 },
        { topic: 'also/fine', qos: 2 },
      ],
    });
    expect(wire(client, from)).toEqual([0x90, 0x06, 0x00, 0x07, 0x01, 0x80, 0x80, 0x02]);
    expect(client.closed).toBe(false);
  });

  it('UNSUBACK and PINGRESP are two-byte packets [MQTT-3.10.4-4] [MQTT-3.12.4-1] (3.1.1)', () => {
    const { pool } = setup();
    const client = client311(pool);
    client.connect({ clientId: 'unsub' });
    subscribe(client, 'a');
    const from = client.bytes.length;
    client.send({ cmd: 'unsubscribe', messageId: 5, unsubscriptions: ['a', 'never'] });
    client.send({ cmd: 'pingreq' });
    expect(wire(client, from)).toEqual([0xb0, 0x02, 0x00, 0x05, 0xd0, 0x00]);
    void pool.serverPublish('a', 'gone');
    expect(client.received.filter((p) => p.cmd === 'publish')).toEqual([]);
  });

  it('an oversized packet closes the connection without a DISCONNECT packet', () => {
    const { pool } = setup({ session: { maxIncomingPacketSize: 64 } });
    const client = client311(pool);
    client.connect({ clientId: 'big' });
    const sent = client.bytes.length;
    client.send(publishPacket('t', 'z'.repeat(100), 0));
    expect(client.bytes.length).toBe(sent);
    expect(client.closed).toBe(true);
  });
});
