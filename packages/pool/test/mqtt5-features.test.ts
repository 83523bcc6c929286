/**
 * MQTT 5 features the original never had, on the wire: flow control, backpressure, topic aliases
 * both ways, subscription identifiers, shared subscriptions, No Local, Maximum QoS, server-sent
 * DISCONNECT reasons.
 */
import type { IPublishPacket } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import type { DeliveredMessage, PoolOptions } from '../src/index.js';
import { publishPacket, sessionOf, subscribe, TestClient, testPool } from './helpers.js';

function setup(options: PoolOptions<unknown> = {}) {
  return testPool<unknown>(options);
}

function texts(packets: unknown[]): string[] {
  return (packets as IPublishPacket[]).map((p) => p.payload.toString());
}

describe('MQTT 5 flow control', () => {
  it('keeps at most Receive Maximum QoS 1/2 messages in flight; each ack lets the next go [MQTT-3.3.4-9]', () => {
    const { pool } = setup();
    const client = new TestClient(pool);
    client.connect({ clientId: 'slow', properties: { receiveMaximum: 2 } });
    subscribe(client, 'flow', 2);
    for (let i = 1; i <= 5; i++)
      void pool.serverPublish('flow', `m${i}`, { qos: i % 2 === 0 ? 2 : 1 });
    const first = client.drain() as IPublishPacket[];
    expect(texts(first)).toEqual(['m1', 'm2']);
    expect(sessionOf(pool, 'slow').stats()).toMatchObject({ inflight: 2, queued: 3 });
    client.send({ cmd: 'puback', messageId: first[0]?.messageId as number });
    expect(texts(client.drain())).toEqual(['m3']);
    // A QoS 2 message holds its slot until PUBCOMP, not PUBREC.
    client.send({ cmd: 'pubrec', messageId: first[1]?.messageId as number });
    expect(client.drain().map((p) => p.cmd)).toEqual(['pubrel']);
    client.send({ cmd: 'pubcomp', messageId: first[1]?.messageId as number });
    expect(texts(client.drain())).toEqual(['m4']);
  });

  it('after a reconnect, resends only as many messages as the new Receive Maximum allows [MQTT-3.3.4-9] [MQTT-4.4.0-1]', () => {
    const { pool } = setup();
    const first = new TestClient(pool);
    first.connect({
      clientId: 'shrink',
      properties: { receiveMaximum: 10, sessionExpiryInterval: 60 },
    });
    subscribe(first, 'flow', 1);
    for (let i = 1; i <= 5; i++) void pool.serverPublish('flow', `m${i}`, { qos: 1 });
    expect(texts(first.drain())).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
    first.drop(); // none acknowledged

    const second = new TestClient(pool);
    second.connect({
      clientId: 'shrink',
      clean: false,
      properties: { receiveMaximum: 2, sessionExpiryInterval: 60 },
    });
    const resent = second.drain() as IPublishPacket[];
    expect(texts(resent)).toEqual(['m1', 'm2']);
    expect(resent.every((p) => p.dup)).toBe(true);
    void pool.serverPublish('flow', 'm6', { qos: 1 }); // waits behind the resends
    second.send({ cmd: 'puback', messageId: resent[0]?.messageId as number });
    const next = second.drain() as IPublishPacket[];
    expect(texts(next)).toEqual(['m3']);
    expect(next[0]?.dup).toBe(true);
    for (const id of [resent[1]?.messageId, next[0]?.messageId])
      second.send({ cmd: 'puback', messageId: id as number });
    expect(texts(second.drain())).toEqual(['m4', 'm5']);
  });

  it('a QoS 0 message behind a full window keeps its place in the order', () => {
    const { pool } = setup();
    const client = new TestClient(pool);
    client.connect({ clientId: 'mixed', properties: { receiveMaximum: 1 } });
    subscribe(client, 'flow', 1);
    void pool.serverPublish('flow', 'a', { qos: 1 });
    void pool.serverPublish('flow', 'b', { qos: 1 });
    void pool.serverPublish('flow', 'c', { qos: 0 });
    // `c` waits behind `b`, so that the client sees the messages in publish order.
    const [a] = client.drain() as IPublishPacket[];
    expect(texts([a])).toEqual(['a']);
    client.send({ cmd: 'puback', messageId: a?.messageId as number });
    expect(texts(client.drain())).toEqual(['b', 'c']);
  });

  it('holds messages while the transport is full and sends them when it drains', () => {
    const { pool } = setup();
    const client = new TestClient(pool);
    client.connect({ clientId: 'full' });
    subscribe(client, 'bp', 0);
    client.writable = false;
    void pool.serverPublish('bp', 'first'); // sent: this write reports the buffer full
    void pool.serverPublish('bp', 'second');
    void pool.serverPublish('bp', 'third');
    expect(texts(client.drain())).toEqual(['first']);
    expect(sessionOf(pool, 'full').stats().queued).toBe(2);
    client.writable = true;
    client.connection.drained();
    expect(texts(client.drain())).toEqual(['second', 'third']);
  });

  it('disconnects a client that sends more unacknowledged QoS 2 than the server allows with 0x93 [MQTT-3.3.4-7]', () => {
    const { pool } = setup({ session: { receiveMaximum: 2 } });
    const client = new TestClient(pool);
    expect(client.connect({ clientId: 'greedy' }).properties?.receiveMaximum).toBe(2);
    client.send(publishPacket('t', '1', 2, { messageId: 1 }));
    client.send(publishPacket('t', '2', 2, { messageId: 2 }));
    client.send(publishPacket('t', '3', 2, { messageId: 3 }));
    expect(client.drain().map((p) => p.cmd)).toEqual(['pubrec', 'pubrec', 'disconnect']);
    expect(client.closed).toBe(true);
  });
});

describe('MQTT 5 topic aliases', () => {
  it('resolves a client alias, and refuses an unknown one with DISCONNECT 0x82', () => {
    const { pool } = setup();
    const reader = new TestClient(pool);
    reader.connect({ clientId: 'reader' });
    subscribe(reader, 'sensors/#');
    const client = new TestClient(pool);
    expect(client.connect({ clientId: 'aliaser' }).properties?.topicAliasMaximum).toBe(64);
    client.send(publishPacket('sensors/1', 'a', 0, { properties: { topicAlias: 3 } }));
    client.send(publishPacket('', 'b', 0, { properties: { topicAlias: 3 } }));
    expect((reader.drain() as IPublishPacket[]).map((p) => [p.topic, p.properties])).toEqual([
      ['sensors/1', undefined],
      ['sensors/1', undefined],
    ]);
    client.send(publishPacket('', 'c', 0, { properties: { topicAlias: 4 } }));
    expect(client.next('disconnect').reasonCode).toBe(0x82);
  });

  it('refuses an alias above the maximum with DISCONNECT 0x94 [MQTT-3.3.2-9]', () => {
    const { pool } = setup({ session: { topicAliasMaximum: 2 } });
    const client = new TestClient(pool);
    client.connect({ clientId: 'over' });
    client.send(publishPacket('t', 'x', 0, { properties: { topicAlias: 3 } }));
    expect(client.next('disconnect').reasonCode).toBe(0x94);
  });

  it('sends aliases to a client that allows them: the topic once, then only the alias', () => {
    const { pool } = setup();
    const client = new TestClient(pool);
    client.connect({ clientId: 'short', properties: { topicAliasMaximum: 1 } });
    subscribe(client, 'long/topic/+', 1);
    void pool.serverPublish('long/topic/a', '1');
    void pool.serverPublish('long/topic/a', '2', { qos: 1 });
    void pool.serverPublish('long/topic/b', '3');
    void pool.serverPublish('long/topic/a', '4');
    const got = client.drain() as IPublishPacket[];
    expect(got.map((p) => [p.topic, p.properties?.topicAlias, p.payload.toString()])).toEqual([
      ['long/topic/a', 1, '1'],
      ['', 1, '2'],
      ['long/topic/b', 1, '3'], // one alias: reassigned to the new topic
      ['long/topic/a', 1, '4'],
    ]);
  });
});

describe('MQTT 5 subscriptions', () => {
  it('sends every matching Subscription Identifier with one copy [MQTT-3.3.4-3] [MQTT-3.3.4-4]', () => {
    const { pool } = setup();
    const client = new TestClient(pool);
    client.connect({ clientId: 'ids' });
    client.send({
      cmd: 'subscribe',
      messageId: 1,
      properties: { subscriptionIdentifier: 7 },
      subscriptions: [{ topic: 'a/+', qos: 1 }],
    });
    client.next('suback');
    client.send({
      cmd: 'subscribe',
      messageId: 2,
      properties: { subscriptionIdentifier: 9 },
      subscriptions: [{ topic: 'a/#', qos: 0 }],
    });
    client.next('suback');
    void pool.serverPublish('a/b', 'x', { qos: 1 });
    const got = client.drain() as IPublishPacket[];
    expect(got).toHaveLength(1);
    expect(got[0]?.qos).toBe(1);
    const ids = got[0]?.properties?.subscriptionIdentifier as number[];
    expect([...ids].sort()).toEqual([7, 9]);
  });

  it('No Local keeps a client from getting its own messages [MQTT-3.8.3-3]', () => {
    const { pool } = setup();
    const client = new TestClient(pool);
    client.connect({ clientId: 'self' });
    subscribe(client, 'echo', 0, { nl: true });
    const other = new TestClient(pool);
    other.connect({ clientId: 'other' });
    client.send(publishPacket('echo', 'mine'));
    other.send(publishPacket('echo', 'theirs'));
    expect(texts(client.drain())).toEqual(['theirs']);
  });

  it('shared subscriptions: each message to one member, online members first, and an ended member hands its in-flight message over (MQTT 5 section 4.8.2)', () => {
    const { pool } = setup();
    const members = ['m1', 'm2'].map((id) => {
      const member = new TestClient(pool);
      member.connect({ clientId: id, properties: { sessionExpiryInterval: 60 } });
      subscribe(member, '$share/workers/jobs', 1);
      return member;
    });
    const [m1, m2] = members as [TestClient, TestClient];
    for (let i = 1; i <= 4; i++) void pool.serverPublish('jobs', `job${i}`, { qos: 1 });
    expect(texts(m1.drain())).toEqual(['job1', 'job3']);
    expect(texts(m2.drain())).toEqual(['job2', 'job4']);
    // m2 goes offline: the online member gets everything.
    m2.drop();
    void pool.serverPublish('jobs', 'job5', { qos: 1 });
    void pool.serverPublish('jobs', 'job6', { qos: 1 });
    expect(texts(m1.drain())).toEqual(['job5', 'job6']);
    // m2's session ends with job2 and job4 unacknowledged: they go to m1.
    sessionOf(pool, 'm2').kill();
    expect(texts(m1.drain()).sort()).toEqual(['job2', 'job4']);
  });

  it('refuses No Local on a shared subscription with DISCONNECT 0x82 [MQTT-3.8.3-4]', () => {
    const { pool } = setup();
    const client = new TestClient(pool);
    client.connect({ clientId: 'nl' });
    client.send({
      cmd: 'subscribe',
      messageId: 1,
      subscriptions: [{ topic: '$share/g/t', qos: 0, nl: true }],
    });
    expect(client.next('disconnect').reasonCode).toBe(0x82);
  });

  it('Retain Handling 1 sends retained messages for a new subscription only [MQTT-3.3.1-10]', () => {
    const { pool } = setup();
    void pool.serverPublish('cfg', 'v1', { retain: true });
    const client = new TestClient(pool);
    client.connect({ clientId: 'rh1' });
    subscribe(client, 'cfg', 0, { rh: 1 });
    expect(texts(client.drain())).toEqual(['v1']);
    subscribe(client, 'cfg', 1, { rh: 1 }, 2);
    expect(client.received).toEqual([]);
    subscribe(client, 'cfg', 1, { rh: 0 }, 3);
    expect(texts(client.drain())).toEqual(['v1']);
  });
});

describe('MQTT 5 limits and server-sent DISCONNECT', () => {
  it('Maximum QoS 1: SUBSCRIBE QoS 2 is granted 1, PUBLISH QoS 2 gets DISCONNECT 0x9B [MQTT-3.2.2-9] [MQTT-3.2.2-10]', () => {
    const { pool } = setup({ session: { maximumQoS: 1 } });
    const client = new TestClient(pool);
    expect(client.connect({ clientId: 'q1' }).properties?.maximumQoS).toBe(1);
    expect(subscribe(client, 't', 2)).toEqual([1]);
    client.send(publishPacket('t', 'x', 2, { messageId: 1 }));
    expect(client.next('disconnect').reasonCode).toBe(0x9b);
  });

  it('a payload that breaks its Payload Format Indicator gets 0x99 (section 3.3.2.3.2)', () => {
    const { pool } = setup();
    const client = new TestClient(pool);
    client.connect({ clientId: 'utf8' });
    client.send(
      publishPacket('t', Buffer.from([0xff, 0xfe]), 1, {
        messageId: 1,
        properties: { payloadFormatIndicator: true },
      }),
    );
    expect(client.next('puback').reasonCode).toBe(0x99);
  });

  it('DISCONNECT 0x04 keeps the Will; a kill sends 0x98 and publishes it; a closing pool sends 0x8B', async () => {
    const { pool } = setup();
    const seen: DeliveredMessage[] = [];
    void pool.serverSubscribe('lwt/#', (message) => seen.push(message));
    const will = (topic: string) => ({
      topic,
      payload: Buffer.from('x'),
      qos: 0 as const,
      retain: false,
    });
    const a = new TestClient(pool);
    a.connect({ clientId: 'a', will: will('lwt/a') });
    a.send({ cmd: 'disconnect', reasonCode: 0x04 });
    const b = new TestClient(pool);
    b.connect({ clientId: 'b', will: will('lwt/b') });
    expect(pool.killSession('b')).toBe(true);
    expect(b.next('disconnect').reasonCode).toBe(0x98);
    const c = new TestClient(pool);
    c.connect({ clientId: 'c', will: will('lwt/c'), properties: { sessionExpiryInterval: 60 } });
    await pool.close();
    expect(c.next('disconnect').reasonCode).toBe(0x8b);
    expect(seen.map((m) => m.topic)).toEqual(['lwt/a', 'lwt/b', 'lwt/c']);
  });

  it('Server Keep Alive caps a longer (or absent) keep-alive [MQTT-3.2.2-21]', () => {
    const { pool, timers } = setup({ session: { maxKeepAlive: 60 } });
    const client = new TestClient(pool);
    expect(client.connect({ clientId: 'ka', keepalive: 0 }).properties?.serverKeepAlive).toBe(60);
    timers.advance(89_999);
    expect(client.closed).toBe(false);
    timers.advance(1);
    expect(client.next('disconnect').reasonCode).toBe(0x8d);
  });

  it('Request Problem Information 0: the DISCONNECT carries no reason string (MQTT 5 section 3.1.2.11.7)', () => {
    const { pool } = setup({ session: { maxIncomingPacketSize: 50 } });
    const quiet = new TestClient(pool);
    quiet.connect({ clientId: 'quiet', properties: { requestProblemInformation: false } });
    quiet.send(publishPacket('t', 'x'.repeat(60)));
    expect(quiet.next('disconnect')).toMatchObject({ reasonCode: 0x95 });
    expect(quiet.received).toEqual([]);
    const chatty = new TestClient(pool);
    chatty.connect({ clientId: 'chatty' });
    chatty.send(publishPacket('t', 'x'.repeat(60)));
    expect(chatty.next('disconnect').properties?.reasonString).toMatch(/too large/);
  });
});
