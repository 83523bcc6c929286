/**
 * MQTT 5 conformance, chapter 4 (operational behaviour): session state, the QoS flows, resending,
 * ordering, topic names and filters, shared subscriptions and flow control. Real bytes through a
 * pool; each test names the normative statements it proves; docs/conformance.md maps them.
 */
import type { IPublishPacket } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { connected, disconnectedWith, runtimeWith, setup } from './conformance-helpers.js';
import { publishPacket, sessionOf, subscribe, TestClient } from './helpers.js';

function texts(packets: unknown[]): string[] {
  return (packets as IPublishPacket[]).map((p) => p.payload.toString());
}

function resume(pool: ReturnType<typeof setup>['pool'], clientId: string): TestClient {
  const client = new TestClient(pool);
  expect(
    client.connect({ clientId, clean: false, properties: { sessionExpiryInterval: 60 } })
      .sessionPresent,
  ).toBe(true);
  return client;
}

describe('4.1 session state', () => {
  it('the session lasts as long as its connection, whatever its expiry; after a disconnect, until its expiry [MQTT-4.1.0-1] [MQTT-4.1.0-2]', () => {
    const { pool, timers } = setup();
    const zero = connected(pool, 'zero');
    const ten = connected(pool, 'ten', { properties: { sessionExpiryInterval: 10 } });
    subscribe(zero, 'z', 1);
    subscribe(ten, 'z', 1);
    timers.advance(7 * 24 * 3600 * 1000);
    void pool.serverPublish('z', 'still subscribed', { qos: 1 });
    expect(texts(zero.drain())).toEqual(['still subscribed']);
    expect(texts(ten.drain())).toEqual(['still subscribed']);
    ten.drop();
    timers.advance(9_999);
    expect(pool.sessionCount()).toBe(2);
    timers.advance(1);
    expect(pool.sessionCount()).toBe(1);
    const back = new TestClient(pool);
    expect(back.connect({ clientId: 'ten', clean: false }).sessionPresent).toBe(false);
  });
});

describe('4.3 QoS 1 and 2, server as sender', () => {
  it('QoS 1: a free identifier, DUP 0, unacknowledged until PUBACK, resent with its identifier only on a reconnect [MQTT-4.3.2-1] [MQTT-4.3.2-2] [MQTT-4.3.2-3] [MQTT-4.4.0-1]', () => {
    const { pool, timers } = setup();
    const first = connected(pool, 'q1', { properties: { sessionExpiryInterval: 60 } });
    subscribe(first, 'q', 1);
    void pool.serverPublish('q', 'acked', { qos: 1 });
    void pool.serverPublish('q', 'unacked', { qos: 1 });
    const [acked, unacked] = first.drain() as IPublishPacket[];
    expect([acked?.dup, unacked?.dup]).toEqual([false, false]);
    expect(acked?.messageId).not.toBe(unacked?.messageId);
    expect([acked?.messageId, unacked?.messageId].every((id) => (id as number) > 0)).toBe(true);
    first.send({ cmd: 'puback', messageId: acked?.messageId as number });
    timers.advance(3_600_000); // no resend without a reconnect
    expect(first.received).toEqual([]);
    first.drop();
    const second = resume(pool, 'q1');
    const resent = second.drain() as IPublishPacket[];
    expect(resent.map((p) => [p.payload.toString(), p.messageId, p.dup])).toEqual([
      ['unacked', unacked?.messageId, true],
    ]);
  });

  it('QoS 2: DUP 0, unacknowledged until PUBREC, then PUBREL with the same identifier until PUBCOMP; never the PUBLISH again after PUBREL [MQTT-4.3.3-1] [MQTT-4.3.3-2] [MQTT-4.3.3-3] [MQTT-4.3.3-4] [MQTT-4.3.3-5] [MQTT-4.3.3-6]', () => {
    const { pool } = setup();
    const first = connected(pool, 'q2', { properties: { sessionExpiryInterval: 60 } });
    subscribe(first, 'q', 2);
    void pool.serverPublish('q', 'a', { qos: 2 });
    void pool.serverPublish('q', 'b', { qos: 2 });
    const [a, b] = first.drain() as IPublishPacket[];
    expect([a?.dup, b?.dup, a?.qos]).toEqual([false, false, 2]);
    first.send({ cmd: 'pubrec', messageId: b?.messageId as number });
    expect(first.next('pubrel')).toMatchObject({ messageId: b?.messageId, reasonCode: 0 });
    first.drop();
    // a: no PUBREC yet, so the PUBLISH again; b: PUBREC came, so only PUBREL.
    const second = resume(pool, 'q2');
    expect(second.drain().map((p) => [p.cmd, p.messageId])).toEqual([
      ['publish', a?.messageId],
      ['pubrel', b?.messageId],
    ]);
    second.send({ cmd: 'pubcomp', messageId: b?.messageId as number });
    second.drop();
    const third = resume(pool, 'q2');
    expect(third.drain().map((p) => [p.cmd, p.messageId])).toEqual([['publish', a?.messageId]]);
  });

  it('a message is not expired once its PUBLISH went out: it is resent and its QoS 2 flow completes [MQTT-4.3.3-7] [MQTT-4.3.3-13]', () => {
    const { pool, timers } = setup();
    const first = connected(pool, 'slow', { properties: { sessionExpiryInterval: 600 } });
    subscribe(first, 'e', 2);
    void pool.serverPublish('e', 'two', { qos: 2, properties: { messageExpiryInterval: 5 } });
    void pool.serverPublish('e', 'one', { qos: 1, properties: { messageExpiryInterval: 5 } });
    const sent = first.drain() as IPublishPacket[];
    expect(texts(sent)).toEqual(['two', 'one']);
    first.drop();
    timers.advance(60_000);
    const second = resume(pool, 'slow');
    const resent = second.drain() as IPublishPacket[];
    expect(resent.map((p) => [p.payload.toString(), p.messageId, p.dup])).toEqual(
      sent.map((p) => [p.payload.toString(), p.messageId, true]),
    );
    second.send({ cmd: 'pubrec', messageId: resent[0]?.messageId as number });
    expect(second.next('pubrel').messageId).toBe(resent[0]?.messageId);
    timers.advance(60_000);
    second.send({ cmd: 'pubcomp', messageId: resent[0]?.messageId as number });
    second.send({ cmd: 'puback', messageId: resent[1]?.messageId as number });
    expect(sessionOf(pool, 'slow').stats().inflight).toBe(0);
  });

  it('PUBACK or PUBREC with a failure code ends the delivery: nothing is resent [MQTT-4.4.0-2]', () => {
    const { pool } = setup();
    const first = connected(pool, 'refuser', { properties: { sessionExpiryInterval: 60 } });
    subscribe(first, 'f', 2);
    void pool.serverPublish('f', 'one', { qos: 1 });
    void pool.serverPublish('f', 'two', { qos: 2 });
    const [one, two] = first.drain() as IPublishPacket[];
    first.send({ cmd: 'puback', messageId: one?.messageId as number, reasonCode: 0x80 });
    first.send({ cmd: 'pubrec', messageId: two?.messageId as number, reasonCode: 0x97 });
    expect(first.received).toEqual([]); // no PUBREL after a failed PUBREC
    first.drop();
    expect(resume(pool, 'refuser').received).toEqual([]);
  });
});

describe('4.3 QoS 1 and 2, server as receiver', () => {
  it('QoS 1: the server takes the message, then sends PUBACK with its identifier; the same identifier afterwards is a new message [MQTT-4.3.2-4] [MQTT-4.3.2-5]', () => {
    const { pool } = setup();
    const reader = connected(pool, 'reader');
    subscribe(reader, 'in');
    const writer = connected(pool, 'writer');
    writer.send(publishPacket('in', 'first', 1, { messageId: 9 }));
    expect(texts(reader.drain())).toEqual(['first']);
    expect(writer.next('puback')).toMatchObject({ messageId: 9, reasonCode: 0 });
    writer.send(publishPacket('in', 'second', 1, { messageId: 9, dup: true }));
    expect(writer.next('puback').messageId).toBe(9);
    expect(texts(reader.drain())).toEqual(['second']);
  });

  it('QoS 2: PUBREC with its identifier after taking the message, PUBCOMP for PUBREL, and the identifier is new after PUBCOMP [MQTT-4.3.3-8] [MQTT-4.3.3-10] [MQTT-4.3.3-11] [MQTT-4.3.3-12]', () => {
    const { pool } = setup();
    const reader = connected(pool, 'reader');
    subscribe(reader, 'in');
    const writer = connected(pool, 'writer');
    writer.send(publishPacket('in', 'once', 2, { messageId: 3 }));
    expect(texts(reader.drain())).toEqual(['once']);
    expect(writer.next('pubrec').messageId).toBe(3);
    writer.send(publishPacket('in', 'once', 2, { messageId: 3, dup: true }));
    expect(writer.next('pubrec').messageId).toBe(3);
    expect(reader.received).toEqual([]);
    writer.send({ cmd: 'pubrel', messageId: 3 });
    expect(writer.next('pubcomp')).toMatchObject({ messageId: 3, reasonCode: 0 });
    writer.send(publishPacket('in', 'new', 2, { messageId: 3 }));
    expect(texts(reader.drain())).toEqual(['new']);
  });

  it('after a PUBREC with a failure code, the same identifier is a new message [MQTT-4.3.3-9]', () => {
    const runtime = runtimeWith({
      isAllowed: (request) => !(request.action === 'publish' && request.topic === 'denied'),
    });
    const { pool } = setup({ runtime });
    const reader = connected(pool, 'reader');
    subscribe(reader, '#');
    const writer = connected(pool, 'writer');
    writer.send(publishPacket('denied', 'no', 2, { messageId: 4 }));
    expect(writer.next('pubrec')).toMatchObject({ messageId: 4, reasonCode: 0x87 });
    writer.send(publishPacket('allowed', 'yes', 2, { messageId: 4 }));
    expect(writer.next('pubrec')).toMatchObject({ messageId: 4, reasonCode: 0 });
    expect(texts(reader.drain())).toEqual(['yes']);
  });

  it('the server completes a QoS 2 flow whose message has expired meanwhile [MQTT-4.3.3-13]', () => {
    const { pool, timers } = setup();
    const writer = connected(pool, 'writer');
    writer.send(
      publishPacket('t', 'x', 2, { messageId: 5, properties: { messageExpiryInterval: 1 } }),
    );
    writer.next('pubrec');
    timers.advance(10_000);
    writer.send({ cmd: 'pubrel', messageId: 5 });
    expect(writer.next('pubcomp')).toMatchObject({ messageId: 5, reasonCode: 0 });
  });
});

describe('4.5 message receipt and 4.6 ordering', () => {
  it('a message the server accepted joins the session state of every matching subscriber, connected or not [MQTT-4.5.0-1]', () => {
    const { pool } = setup();
    const online = connected(pool, 'online');
    subscribe(online, 'r/+', 1);
    const away = connected(pool, 'away', { properties: { sessionExpiryInterval: 60 } });
    subscribe(away, 'r/#', 1);
    away.drop();
    const writer = connected(pool, 'writer');
    writer.send(publishPacket('r/1', 'kept', 1, { messageId: 1 }));
    expect(writer.next('puback').reasonCode).toBe(0);
    expect(texts(online.drain())).toEqual(['kept']);
    expect(texts(resume(pool, 'away').drain())).toEqual(['kept']);
  });

  it('messages of one publisher reach every subscriber in the order sent, live or stored [MQTT-4.6.0-5] [MQTT-4.6.0-6]', () => {
    const { pool } = setup();
    const live = connected(pool, 'live', { properties: { receiveMaximum: 3 } });
    subscribe(live, 'o/#', 1);
    const stored = connected(pool, 'stored', { properties: { sessionExpiryInterval: 60 } });
    subscribe(stored, 'o/#', 2);
    stored.drop();
    const writer = connected(pool, 'writer');
    const sent: string[] = [];
    for (let i = 0; i < 20; i++) {
      sent.push(`m${i}`);
      writer.send(publishPacket('o/t', `m${i}`, 1, { messageId: i + 1 }));
    }
    const got: string[] = [];
    for (;;) {
      const batch = live.drain() as IPublishPacket[];
      if (batch.length === 0) break;
      got.push(...texts(batch));
      for (const p of batch) live.send({ cmd: 'puback', messageId: p.messageId as number });
    }
    expect(got).toEqual(sent);
    expect(texts(resume(pool, 'stored').drain())).toEqual(sent);
  });
});

describe('4.7 topic names and topic filters', () => {
  it('# must be last and alone in its level, + alone in its level: other filters get SUBACK 0x8F [MQTT-4.7.1-1] [MQTT-4.7.1-2]', () => {
    const { pool } = setup();
    const client = connected(pool, 'filters');
    const filters = [
      '#',
      '+',
      'a/#',
      'a/+/c',
      '+/+',
      '/+',
      'a/#/b',
      'a#',
      '#/a',
      'a/b+',
      '+a/b',
      'a/##',
    ];
    client.send({
      cmd: 'subscribe',
      messageId: 1,
      subscriptions: filters.map((topic) => ({ topic, qos: 0 as const })),
    });
    expect(client.next('suback').granted).toEqual([
      0, 0, 0, 0, 0, 0, 0x8f, 0x8f, 0x8f, 0x8f, 0x8f, 0x8f,
    ]);
  });

  it('# matches the parent level and everything below; + exactly one level, an empty one too [MQTT-4.7.1-1] [MQTT-4.7.1-2]', () => {
    const { pool } = setup();
    const hash = connected(pool, 'hash');
    subscribe(hash, 'a/#');
    const plus = connected(pool, 'plus');
    subscribe(plus, 'a/+/c');
    for (const topic of ['a', 'a/b', 'a/b/c', 'a//c', 'a/b/c/d', 'b/a'])
      void pool.serverPublish(topic, topic);
    expect(texts(hash.drain())).toEqual(['a', 'a/b', 'a/b/c', 'a//c', 'a/b/c/d']);
    expect(texts(plus.drain())).toEqual(['a/b/c', 'a//c']);
  });

  it('a filter starting with a wildcard matches no topic starting with $ [MQTT-4.7.2-1]', () => {
    const { pool } = setup();
    const wild = connected(pool, 'wild');
    subscribe(wild, '#');
    subscribe(wild, '+/info', 0, {}, 2);
    const dollar = connected(pool, 'dollar');
    subscribe(dollar, '$SYS/#');
    subscribe(dollar, '$app/+', 0, {}, 2);
    for (const topic of ['$SYS/info', '$app/info', 'x/info']) void pool.serverPublish(topic, topic);
    expect(texts(wild.drain())).toEqual(['x/info']);
    expect(texts(dollar.drain())).toEqual(['$SYS/info', '$app/info']);
  });

  it('topic names and filters are at least one character: an empty Topic Name without an alias gets DISCONNECT 0x90, an empty filter DISCONNECT 0x82 [MQTT-4.7.3-1]', () => {
    const { pool } = setup();
    const client = connected(pool, 'empty');
    client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '', qos: 0 }] });
    disconnectedWith(client, 0x82);
    const publisher = connected(pool, 'empty-name');
    publisher.send(publishPacket('', 'x', 0));
    disconnectedWith(publisher, 0x90);
  });

  it('a U+0000 in a Topic Name or filter is malformed: DISCONNECT 0x81 [MQTT-4.7.3-2]', () => {
    const { pool } = setup();
    const publisher = connected(pool, 'nul1');
    publisher.send(publishPacket('a\u0000b', 'x', 0));
    disconnectedWith(publisher, 0x81);
    const subscriber = connected(pool, 'nul2');
    subscriber.send({
      cmd: 'subscribe',
      messageId: 1,
      subscriptions: [{ topic: 'a/\u0000', qos: 0 }],
    });
    disconnectedWith(subscriber, 0x81);
  });

  it('a Topic Name of 65,535 bytes is routed; the server refuses to publish a longer one [MQTT-4.7.3-3]', () => {
    // The default caps topics at 1024 bytes (0x90 beyond, tested below); the protocol's own cap:
    const { pool } = setup({ session: { maxTopicLength: 65_535 } });
    const long = `l/${'x'.repeat(65_533)}`;
    const reader = connected(pool, 'reader');
    subscribe(reader, 'l/+');
    const writer = connected(pool, 'writer');
    writer.send(publishPacket(long, 'x', 0));
    expect(reader.next('publish').topic).toBe(long);
    expect(pool.serverPublish(`${long}x`, 'x')).toMatchObject({ ok: false });
    expect(reader.received).toEqual([]);
  });

  it('by default a topic over maxTopicLength (1024 bytes) gets DISCONNECT 0x90, a filter over it SUBACK 0x8F', () => {
    const { pool } = setup();
    const client = connected(pool, 'long');
    client.send({
      cmd: 'subscribe',
      messageId: 1,
      subscriptions: [
        { topic: `f/${'x'.repeat(1022)}`, qos: 0 },
        { topic: `f/${'x'.repeat(1023)}`, qos: 0 },
      ],
    });
    expect(client.next('suback').granted).toEqual([0, 0x8f]);
    client.send(publishPacket(`f/${'x'.repeat(1023)}`, 'x', 0));
    disconnectedWith(client, 0x90);
  });

  it('matching does not normalise: case, Unicode forms and spaces all count [MQTT-4.7.3-4]', () => {
    const { pool } = setup();
    const client = connected(pool, 'exact');
    subscribe(client, 'caf\u00e9/+');
    for (const topic of [
      'caf\u00e9/1',
      'cafe\u0301/2',
      'CAF\u00c9/3',
      'caf\u00e9 /4',
      'caf\u00e9/5',
    ]) {
      void pool.serverPublish(topic, topic);
    }
    expect(texts(client.drain())).toEqual(['caf\u00e9/1', 'caf\u00e9/5']);
  });
});

describe('4.8 shared subscriptions', () => {
  function group(pool: ReturnType<typeof setup>['pool'], qos: 0 | 1 | 2 = 2) {
    return ['m1', 'm2'].map((id) => {
      const member = connected(pool, id, { properties: { sessionExpiryInterval: 60 } });
      subscribe(member, '$share/g/jobs', qos);
      return member;
    }) as [TestClient, TestClient];
  }

  it('a Shared Subscription is $share/{ShareName}/{filter}: a ShareName of one or more characters without / + #, then a filter; others are a Protocol Error, DISCONNECT 0x82 [MQTT-4.8.2-1] [MQTT-4.8.2-2]', () => {
    const { pool } = setup();
    const client = connected(pool, 'shares');
    client.send({
      cmd: 'subscribe',
      messageId: 1,
      subscriptions: ['$share/g/t', '$share/g/#', '$share/g/a/#/b'].map((topic) => ({
        topic,
        qos: 0 as const,
      })),
    });
    // A well-formed share with an invalid filter is that filter's refusal only.
    expect(client.next('suback').granted).toEqual([0, 0, 0x8f]);
    for (const filter of ['$share//t', '$share/g+/t', '$share/g#/t', '$share/g', '$share/g/']) {
      const other = connected(pool, `share-${filter}`);
      other.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: filter, qos: 0 }] });
      disconnectedWith(other, 0x82);
    }
  });

  it('each message goes to one member, at most at the QoS granted to that member [MQTT-4.8.2-3]', () => {
    const { pool } = setup();
    const low = connected(pool, 'low');
    subscribe(low, '$share/g/jobs', 0);
    const high = connected(pool, 'high');
    subscribe(high, '$share/g/jobs', 2);
    for (let i = 0; i < 4; i++) void pool.serverPublish('jobs', `j${i}`, { qos: 2 });
    const a = low.drain() as IPublishPacket[];
    const b = high.drain() as IPublishPacket[];
    expect(a.length + b.length).toBe(4);
    expect(a.every((p) => p.qos === 0)).toBe(true);
    expect(b.every((p) => p.qos === 2)).toBe(true);
  });

  it('a QoS 2 message in flight to a member that drops is completed with it when it reconnects [MQTT-4.8.2-4]', () => {
    const { pool } = setup();
    const [m1, m2] = group(pool);
    void pool.serverPublish('jobs', 'job', { qos: 2 });
    const job = m1.next('publish');
    m1.drop();
    expect(m2.received).toEqual([]);
    const back = resume(pool, 'm1');
    expect(back.next('publish')).toMatchObject({ messageId: job.messageId, dup: true });
  });

  it('a QoS 2 message sent to a member whose session ends goes to no other member; a QoS 1 message does [MQTT-4.8.2-5]', () => {
    const { pool } = setup();
    const [m1, m2] = group(pool);
    void pool.serverPublish('jobs', 'exactly once', { qos: 2 });
    void pool.serverPublish('jobs', 'for m2', { qos: 2 });
    void pool.serverPublish('jobs', 'at least once', { qos: 1 });
    expect(texts(m1.drain())).toEqual(['exactly once', 'at least once']);
    expect(texts(m2.drain())).toEqual(['for m2']);
    m1.drop();
    sessionOf(pool, 'm1').kill();
    expect(texts(m2.drain())).toEqual(['at least once']);
  });

  it('a member that refuses a message with PUBACK or PUBREC 0x80 or more: it goes to no other member [MQTT-4.8.2-6]', () => {
    const { pool } = setup();
    const [m1, m2] = group(pool);
    void pool.serverPublish('jobs', 'one', { qos: 1 });
    void pool.serverPublish('jobs', 'two', { qos: 1 });
    void pool.serverPublish('jobs', 'three', { qos: 2 });
    const [one, three] = m1.drain() as IPublishPacket[];
    m1.send({ cmd: 'puback', messageId: one?.messageId as number, reasonCode: 0x80 });
    m1.send({ cmd: 'pubrec', messageId: three?.messageId as number, reasonCode: 0x83 });
    expect(texts(m2.drain())).toEqual(['two']);
    sessionOf(pool, 'm1').kill();
    expect(m2.received).toEqual([]);
  });
});

describe('4.9 flow control', () => {
  it("the send quota starts at the client's Receive Maximum (at most the server's own limit) and no QoS 1 or 2 PUBLISH goes past it [MQTT-4.9.0-1] [MQTT-4.9.0-2]", () => {
    const { pool } = setup({ session: { maxInflight: 4 } });
    const three = connected(pool, 'three', { properties: { receiveMaximum: 3 } });
    const capped = connected(pool, 'capped', { properties: { receiveMaximum: 100 } });
    for (const client of [three, capped]) subscribe(client, 'f', 1);
    for (let i = 0; i < 10; i++) void pool.serverPublish('f', `m${i}`, { qos: 1 });
    void pool.serverPublish('f', 'qos 0 waits its turn', { qos: 0 });
    expect(texts(three.drain())).toEqual(['m0', 'm1', 'm2']);
    expect(texts(capped.drain())).toEqual(['m0', 'm1', 'm2', 'm3']);
  });
});
