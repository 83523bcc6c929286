/**
 * MQTT 5 conformance, sections 3.3 (PUBLISH) to 3.7 (PUBCOMP): real bytes through a pool. Each
 * test names the normative statements it proves; docs/conformance.md maps them.
 */
import type { Runtime } from '@mqtt-sessions/runtime-default';
import type { IPublishPacket } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import {
  bystander,
  connected,
  disconnectedWith,
  ORDERED_USER_PROPERTIES,
  publishWithProperties,
  runtimeWith,
  setup,
  type UC,
  unaffected,
  wire,
} from './conformance-helpers.js';
import { publishPacket, sessionOf, subscribe, TestClient } from './helpers.js';

function texts(packets: unknown[]): string[] {
  return (packets as IPublishPacket[]).map((p) => p.payload.toString());
}

/** A runtime that refuses publishing to `denied/...` with problem information. */
function refusingPublish(reasonString: string): Runtime<UC> {
  return runtimeWith({
    isAllowed: (request) =>
      request.action === 'publish' && request.topic.startsWith('denied/')
        ? { allowed: false, reasonString, userProperties: { why: 'acl' } }
        : true,
  });
}

describe('3.3.1 PUBLISH fixed header', () => {
  it('a resent PUBLISH has DUP 1; DUP of a forwarded message says only whether the server resends it [MQTT-3.3.1-1] [MQTT-3.3.1-3]', () => {
    const { pool } = setup();
    const reader = connected(pool, 'reader', { properties: { sessionExpiryInterval: 60 } });
    subscribe(reader, 'd', 2);
    const writer = connected(pool, 'writer');
    writer.send(publishPacket('d', 'one', 1, { messageId: 1, dup: true }));
    writer.send(publishPacket('d', 'two', 2, { messageId: 2, dup: true }));
    const first = reader.drain() as IPublishPacket[];
    expect(first.map((p) => [p.qos, p.dup])).toEqual([
      [1, false],
      [2, false],
    ]);
    reader.drop();
    const again = new TestClient(pool);
    again.connect({ clientId: 'reader', clean: false });
    const resent = again.drain() as IPublishPacket[];
    expect(resent.map((p) => [p.messageId, p.dup])).toEqual(first.map((p) => [p.messageId, true]));
  });

  it('DUP is 0 on every QoS 0 PUBLISH the server sends, whatever the publisher set [MQTT-3.3.1-2] [MQTT-4.3.1-1]', () => {
    const { pool } = setup();
    const reader = connected(pool, 'reader', { properties: { sessionExpiryInterval: 60 } });
    subscribe(reader, 'z', 0);
    const writer = connected(pool, 'writer');
    writer.send(publishPacket('z', 'live', 0));
    writer.send(publishPacket('z', 'one', 1, { messageId: 1, dup: true }));
    reader.drop();
    writer.send(publishPacket('z', 'stored', 1, { messageId: 2 }));
    const again = new TestClient(pool);
    again.connect({ clientId: 'reader', clean: false });
    const all = [...reader.received, ...again.drain()] as IPublishPacket[];
    expect(all.map((p) => [p.qos, p.dup])).toEqual([
      [0, false],
      [0, false],
      [0, false],
    ]);
    expect(texts(all)).toEqual(['live', 'one', 'stored']);
  });

  it('a QoS 0 PUBLISH with DUP set is malformed: DISCONNECT 0x81 [MQTT-3.3.1-2]', () => {
    const { pool } = setup();
    const watcher = bystander(pool);
    const client = connected(pool, 'dup0');
    client.sendBytes([0x38, 0x04, 0x00, 0x01, 0x62, 0x78]);
    disconnectedWith(client, 0x81);
    unaffected(pool, watcher);
  });

  it('a PUBLISH with both QoS bits set is malformed: DISCONNECT 0x81 [MQTT-3.3.1-4]', () => {
    const { pool } = setup();
    const watcher = bystander(pool);
    const client = connected(pool, 'qos3');
    client.sendBytes([0x36, 0x08, 0x00, 0x03, 0x62, 0x2f, 0x78, 0x00, 0x01, 0x00]);
    disconnectedWith(client, 0x81);
    unaffected(pool, watcher);
  });

  it('RETAIN 1 replaces the retained message of the topic; an empty payload removes it and is not stored [MQTT-3.3.1-5] [MQTT-3.3.1-6] [MQTT-3.3.1-7]', () => {
    const { pool } = setup();
    const writer = connected(pool, 'writer');
    writer.send(publishPacket('state', 'v1', 0, { retain: true }));
    writer.send(publishPacket('state', 'v2', 1, { retain: true, messageId: 1 }));
    const first = connected(pool, 'first');
    subscribe(first, 'state');
    expect(texts(first.drain())).toEqual(['v2']);
    writer.send(publishPacket('state', '', 0, { retain: true }));
    writer.send(publishPacket('never', '', 0, { retain: true }));
    const second = connected(pool, 'second');
    subscribe(second, '#');
    expect(second.received).toEqual([]);
    expect(pool.retain.count()).toBe(0);
  });

  it('RETAIN 0 neither stores, replaces nor removes a retained message [MQTT-3.3.1-8]', () => {
    const { pool } = setup();
    const writer = connected(pool, 'writer');
    writer.send(publishPacket('state', 'kept', 0, { retain: true }));
    writer.send(publishPacket('state', 'live only', 0));
    writer.send(publishPacket('state', '', 0));
    writer.send(publishPacket('other', 'not kept', 0));
    const late = connected(pool, 'late');
    subscribe(late, '#');
    expect(texts(late.drain())).toEqual(['kept']);
  });

  it('Retain Handling 0 sends the retained messages on every subscribe, 1 only for a new subscription, 2 never [MQTT-3.3.1-9] [MQTT-3.3.1-10] [MQTT-3.3.1-11]', () => {
    const { pool } = setup();
    void pool.serverPublish('r/a', 'A', { retain: true });
    const client = connected(pool, 'rh');
    const steps: [string, 0 | 1 | 2, string[]][] = [
      ['r/+', 0, ['A']], // new subscription, Retain Handling 0
      ['r/+', 0, ['A']], // the same again: 0 sends on every subscribe
      ['+/a', 1, ['A']], // new subscription, Retain Handling 1
      ['+/a', 1, []], // it exists now: nothing
      ['r/#', 2, []], // Retain Handling 2: never
    ];
    for (const [i, [filter, rh, expected]] of steps.entries()) {
      subscribe(client, filter, 0, { rh }, i + 1);
      expect(texts(client.drain())).toEqual(expected);
    }
  });
});

describe('3.3.2 PUBLISH variable header', () => {
  it('a truncated PUBLISH with no room for its Topic Name is malformed: DISCONNECT 0x81 [MQTT-3.3.2-1]', () => {
    const { pool } = setup();
    const watcher = bystander(pool);
    const client = connected(pool, 'short');
    client.sendBytes([0x30, 0x03, 0x00, 0x05, 0x61]); // Topic Name length 5, one byte of it
    disconnectedWith(client, 0x81);
    unaffected(pool, watcher);
  });

  it('a Topic Name with a wildcard gets DISCONNECT 0x90 and goes nowhere [MQTT-3.3.2-2] [MQTT-4.7.0-1]', () => {
    const { pool } = setup();
    const watcher = bystander(pool);
    subscribe(watcher, '#', 0, {}, 10);
    for (const topic of ['a/+', 'a/#', '+', 'a+b']) {
      const client = connected(pool, 'wild');
      client.send(publishPacket(topic, 'x', 0));
      disconnectedWith(client, 0x90);
    }
    expect(watcher.received).toEqual([]);
    expect(pool.serverPublish('a/+', 'x')).toMatchObject({ ok: false });
  });

  it('the Topic Name the server sends is the topic that matched the subscription filter [MQTT-3.3.2-3]', () => {
    const { pool } = setup();
    const client = connected(pool, 'reader', { properties: { topicAliasMaximum: 5 } });
    subscribe(client, 'a/+/c');
    subscribe(client, 'x/#', 0, {}, 2);
    const writer = connected(pool, 'writer');
    for (const topic of ['a/b/c', 'a/b/d', 'x', 'x/y/z', 'a/b/c'])
      writer.send(publishPacket(topic, topic));
    const got = client.drain() as IPublishPacket[];
    // The second a/b/c comes by alias: the alias stands for the topic sent with it first.
    const aliases = new Map<number, string>();
    const topics = got.map((p) => {
      const alias = p.properties?.topicAlias;
      if (alias !== undefined && p.topic !== '') aliases.set(alias, p.topic);
      return p.topic === '' ? aliases.get(alias as number) : p.topic;
    });
    expect(topics).toEqual(['a/b/c', 'x', 'x/y/z', 'a/b/c']);
    expect(texts(got)).toEqual(topics);
  });

  it('Payload Format Indicator, Response Topic, Correlation Data, User Properties and Content Type reach every subscriber unaltered [MQTT-3.3.2-4] [MQTT-3.3.2-15] [MQTT-3.3.2-16] [MQTT-3.3.2-17] [MQTT-3.3.2-20]', () => {
    const { pool } = setup();
    const readers = ['r1', 'r2'].map((id) => {
      const reader = connected(pool, id);
      subscribe(reader, 'req/+', 1);
      return reader;
    });
    const properties = {
      payloadFormatIndicator: true,
      responseTopic: 'resp/r1',
      correlationData: Buffer.from([0, 1, 2, 0xff]),
      userProperties: { trace: 'abc', multi: ['1', '2'] },
      contentType: 'application/json; charset=utf-8',
    };
    const writer = connected(pool, 'writer');
    writer.send(publishPacket('req/1', '{"q":1}', 1, { messageId: 1, properties }));
    for (const reader of readers) {
      const got = reader.next('publish');
      expect(got.properties).toEqual(properties);
    }
  });

  it('a message whose Message Expiry Interval passed before delivery began is dropped for that subscriber; otherwise it carries the time left [MQTT-3.3.2-5] [MQTT-3.3.2-6]', () => {
    const { pool, timers } = setup();
    const reader = connected(pool, 'reader', { properties: { sessionExpiryInterval: 600 } });
    subscribe(reader, 'e', 1);
    reader.drop();
    const writer = connected(pool, 'writer');
    writer.send(
      publishPacket('e', 'short', 1, { messageId: 1, properties: { messageExpiryInterval: 5 } }),
    );
    writer.send(
      publishPacket('e', 'long', 1, { messageId: 2, properties: { messageExpiryInterval: 60 } }),
    );
    timers.advance(20_000);
    const again = new TestClient(pool);
    again.connect({ clientId: 'reader', clean: false });
    const got = again.drain() as IPublishPacket[];
    expect(texts(got)).toEqual(['long']);
    expect(got[0]?.properties?.messageExpiryInterval).toBe(40);
  });

  it('Topic Alias mappings do not outlive the connection, either way [MQTT-3.3.2-7]', () => {
    const { pool } = setup();
    const reader = connected(pool, 'reader', {
      properties: { topicAliasMaximum: 5, sessionExpiryInterval: 60 },
    });
    subscribe(reader, 'al/#');
    const writer = connected(pool, 'writer', { properties: { sessionExpiryInterval: 60 } });
    writer.send(publishPacket('al/x', '1', 0, { properties: { topicAlias: 1 } }));
    expect(reader.next('publish')).toMatchObject({ topic: 'al/x', properties: { topicAlias: 1 } });
    writer.drop();
    reader.drop();
    // The reader's new connection gets the topic again with the alias; the writer's new
    // connection cannot use the alias it set before.
    const reader2 = new TestClient(pool);
    reader2.connect({ clientId: 'reader', clean: false, properties: { topicAliasMaximum: 5 } });
    const writer2 = new TestClient(pool);
    writer2.connect({ clientId: 'writer', clean: false });
    writer2.send(publishPacket('al/x', '2', 0));
    expect(reader2.next('publish').topic).toBe('al/x');
    writer2.send(publishPacket('', '3', 0, { properties: { topicAlias: 1 } }));
    disconnectedWith(writer2, 0x82);
    expect(reader2.received).toEqual([]);
  });

  it('the server accepts every Topic Alias from 1 to the maximum it announced, and refuses 0 with DISCONNECT 0x94 [MQTT-3.3.2-12] [MQTT-3.3.2-8]', () => {
    const { pool } = setup({ session: { topicAliasMaximum: 3 } });
    const reader = connected(pool, 'reader');
    subscribe(reader, 'al/#');
    const writer = new TestClient(pool);
    expect(writer.connect({ clientId: 'writer' }).properties?.topicAliasMaximum).toBe(3);
    for (const alias of [1, 2, 3]) {
      writer.send(publishPacket(`al/${alias}`, 'set', 0, { properties: { topicAlias: alias } }));
    }
    for (const alias of [3, 1, 2]) {
      writer.send(publishPacket('', 'use', 0, { properties: { topicAlias: alias } }));
    }
    expect((reader.drain() as IPublishPacket[]).map((p) => p.topic)).toEqual([
      'al/1',
      'al/2',
      'al/3',
      'al/3',
      'al/1',
      'al/2',
    ]);
    writer.send(publishPacket('al/0', 'zero', 0, { properties: { topicAlias: 0 } }));
    disconnectedWith(writer, 0x94);
  });

  it('a Response Topic with a wildcard is a protocol error: DISCONNECT 0x82, nothing forwarded [MQTT-3.3.2-14]', () => {
    const { pool } = setup();
    const watcher = bystander(pool);
    const client = connected(pool, 'resp');
    client.send(publishPacket('bystander/x', 'x', 0, { properties: { responseTopic: 'resp/+' } }));
    disconnectedWith(client, 0x82);
    expect(watcher.received).toEqual([]);
    unaffected(pool, watcher);
  });

  it('User Properties keep their order when forwarded: distinct names, and the values of one name [MQTT-3.3.2-18]', () => {
    const { pool } = setup();
    const reader = connected(pool, 'reader');
    subscribe(reader, 'up');
    const writer = connected(pool, 'writer');
    const userProperties = { zulu: 'z', alpha: ['3', '1', '2'], mike: 'm' };
    writer.send(publishPacket('up', 'x', 0, { properties: { userProperties } }));
    const got = reader.next('publish').properties?.userProperties ?? {};
    expect(Object.entries(got)).toEqual(Object.entries(userProperties));
  });

  it('User Properties keep their order byte for byte, live and retained: interleaved repeated names and integer-like names too [MQTT-3.3.2-18] [MQTT-3.3.2-17]', () => {
    const { pool } = setup();
    const reader = connected(pool, 'reader');
    subscribe(reader, 'up/#');
    const writer = connected(pool, 'writer');
    const from = reader.bytes.length;
    writer.sendBytes(publishWithProperties('up/live', 'x', ORDERED_USER_PROPERTIES));
    writer.sendBytes(publishWithProperties('up/kept', 'y', ORDERED_USER_PROPERTIES, true));
    const forwarded = Buffer.from(wire(reader, from));
    expect(
      forwarded.equals(
        Buffer.concat([
          publishWithProperties('up/live', 'x', ORDERED_USER_PROPERTIES),
          publishWithProperties('up/kept', 'y', ORDERED_USER_PROPERTIES),
        ]),
      ),
    ).toBe(true);
    // A later subscriber gets the retained message with the same bytes, RETAIN set.
    const late = connected(pool, 'late');
    const lateFrom = late.bytes.length;
    subscribe(late, 'up/kept');
    const sent = Buffer.from(wire(late, lateFrom));
    const retained = sent.subarray(2 + (sent[1] as number)); // after the SUBACK
    expect(
      retained.equals(publishWithProperties('up/kept', 'y', ORDERED_USER_PROPERTIES, true)),
    ).toBe(true);
  });
});

describe('3.3.4 PUBLISH actions', () => {
  it('the server answers QoS 0 with nothing, QoS 1 with PUBACK and QoS 2 with PUBREC [MQTT-3.3.4-1]', () => {
    const { pool } = setup();
    const client = connected(pool, 'acks');
    client.send(publishPacket('t', '0', 0));
    expect(client.received).toEqual([]);
    client.send(publishPacket('t', '1', 1, { messageId: 1 }));
    client.send(publishPacket('t', '2', 2, { messageId: 2 }));
    expect(client.drain().map((p) => [p.cmd, p.messageId])).toEqual([
      ['puback', 1],
      ['pubrec', 2],
    ]);
  });

  it('overlapping subscriptions get one copy at the highest granted QoS [MQTT-3.3.4-2]', () => {
    const { pool } = setup();
    const client = connected(pool, 'overlap');
    subscribe(client, 'o/+', 1);
    subscribe(client, 'o/#', 2, {}, 2);
    subscribe(client, 'o/x', 0, {}, 3);
    void pool.serverPublish('o/x', 'x', { qos: 2 });
    const got = client.drain() as IPublishPacket[];
    expect(got.map((p) => p.qos)).toEqual([2]);
  });

  it('one PUBLISH per matching subscription, each with its own Subscription Identifier, when the router sends a copy per subscription [MQTT-3.3.4-5] [MQTT-3.3.4-3]', () => {
    const { pool } = setup({ router: { deliveryMode: 'per-subscription' } });
    const client = connected(pool, 'copies');
    for (const [id, filter] of [
      [4, 's/+'],
      [5, 's/#'],
    ] as const) {
      client.send({
        cmd: 'subscribe',
        messageId: id,
        properties: { subscriptionIdentifier: id },
        subscriptions: [{ topic: filter, qos: 0 }],
      });
      client.next('suback');
    }
    subscribe(client, 's/x', 0, {}, 6); // no identifier
    void pool.serverPublish('s/x', 'x');
    const ids = (client.drain() as IPublishPacket[]).map(
      (p) => p.properties?.subscriptionIdentifier,
    );
    expect(ids).toHaveLength(3);
    expect(ids).toEqual(expect.arrayContaining([4, 5, undefined]));
  });

  it('a client PUBLISH with a Subscription Identifier is a protocol error: DISCONNECT 0x82 [MQTT-3.3.4-6]', () => {
    const { pool } = setup();
    const watcher = bystander(pool);
    const client = connected(pool, 'sid');
    client.send(
      publishPacket('bystander/x', 'x', 1, {
        messageId: 1,
        properties: { subscriptionIdentifier: 3 },
      }),
    );
    disconnectedWith(client, 0x82);
    expect(watcher.received).toEqual([]);
    unaffected(pool, watcher);
  });

  it("with the client's Receive Maximum used up, the server still sends every packet but PUBLISH [MQTT-3.3.4-10] [MQTT-4.9.0-3]", () => {
    const { pool } = setup();
    const client = connected(pool, 'full', { properties: { receiveMaximum: 1 } });
    subscribe(client, 'q', 1);
    void pool.serverPublish('q', 'a', { qos: 1 });
    void pool.serverPublish('q', 'b', { qos: 1 });
    const [a] = client.drain() as IPublishPacket[];
    expect(texts([a])).toEqual(['a']);
    client.send({ cmd: 'pingreq' });
    client.send({ cmd: 'subscribe', messageId: 7, subscriptions: [{ topic: 'other', qos: 1 }] });
    client.send(publishPacket('elsewhere', 'x', 1, { messageId: 8 }));
    client.send(publishPacket('elsewhere', 'y', 2, { messageId: 9 }));
    client.send({ cmd: 'pubrel', messageId: 9 });
    client.send({ cmd: 'unsubscribe', messageId: 10, unsubscriptions: ['other'] });
    expect(client.drain().map((p) => p.cmd)).toEqual([
      'pingresp',
      'suback',
      'puback',
      'pubrec',
      'pubcomp',
      'unsuback',
    ]);
    client.send({ cmd: 'puback', messageId: a?.messageId as number });
    expect(texts(client.drain())).toEqual(['b']);
  });
});

describe('3.4 to 3.7 the acknowledgements', () => {
  it('PUBACK and PUBREC carry only their reason codes: success, no subscribers, refusal, identifier in use, quota, payload format [MQTT-3.4.2-1] [MQTT-3.5.2-1]', () => {
    const { pool } = setup({
      runtime: refusingPublish('no'),
      session: { incomingRate: 1, incomingBurst: 5 },
    });
    const reader = connected(pool, 'reader');
    subscribe(reader, 'ok');
    const client = connected(pool, 'codes');
    const bad = Buffer.from([0xff]);
    const cases = [
      publishPacket('ok', 'x', 1, { messageId: 1 }),
      publishPacket('nobody', 'x', 1, { messageId: 2 }),
      publishPacket('denied/x', 'x', 1, { messageId: 3 }),
      publishPacket('ok', bad, 1, { messageId: 4, properties: { payloadFormatIndicator: true } }),
      publishPacket('ok', 'x', 2, { messageId: 5 }),
      publishPacket('ok', 'x', 1, { messageId: 5 }), // 5 still waits for PUBREL
      publishPacket('nobody', 'x', 2, { messageId: 6 }),
      publishPacket('denied/y', 'x', 2, { messageId: 7 }),
      publishPacket('ok', 'x', 1, { messageId: 8 }), // over the rate
    ];
    for (const packet of cases) client.send(packet);
    const acks = client.drain() as { cmd: string; reasonCode?: number }[];
    expect(acks.map((p) => [p.cmd, p.reasonCode])).toEqual([
      ['puback', 0x00],
      ['puback', 0x10],
      ['puback', 0x87],
      ['puback', 0x99],
      ['pubrec', 0x00],
      ['puback', 0x91],
      ['pubrec', 0x10],
      ['pubrec', 0x87],
      ['puback', 0x97],
    ]);
    const allowed = new Set([0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99]);
    expect(acks.every((p) => allowed.has(p.reasonCode as number))).toBe(true);
  });

  it("PUBACK and PUBREC leave out a Reason String and User Properties that would not fit the client's Maximum Packet Size [MQTT-3.4.2-2] [MQTT-3.4.2-3] [MQTT-3.5.2-2] [MQTT-3.5.2-3]", () => {
    const { pool } = setup({ runtime: refusingPublish('r'.repeat(100)) });
    const small = connected(pool, 'small', { properties: { maximumPacketSize: 40 } });
    const from = small.bytes.length;
    small.send(publishPacket('denied/a', 'x', 1, { messageId: 1 }));
    small.send(publishPacket('denied/b', 'x', 2, { messageId: 2 }));
    const acks = small.drain() as { reasonCode?: number; properties?: { reasonString?: string } }[];
    expect(acks.map((p) => [p.reasonCode, p.properties?.reasonString])).toEqual([
      [0x87, undefined],
      [0x87, undefined],
    ]);
    expect(small.bytes.slice(from).every((chunk) => chunk.length <= 40)).toBe(true);
    // A client without a limit gets the reason string: it is left out only when it does not fit.
    const roomy = connected(pool, 'roomy');
    roomy.send(publishPacket('denied/a', 'x', 1, { messageId: 1 }));
    expect(roomy.next('puback').properties?.reasonString).toBe('r'.repeat(100));
    const tiny = connected(pool, 'tiny', { properties: { maximumPacketSize: 24 } });
    tiny.send(publishPacket('denied/a', 'x', 1, { messageId: 1 }));
    expect(tiny.next('puback')).toMatchObject({ reasonCode: 0x87 });
    expect(tiny.bytes.at(-1)?.length).toBeLessThanOrEqual(24);
  });

  it('PUBREL has flags 0010; any other value is malformed and closes the connection [MQTT-3.6.1-1]', () => {
    const { pool } = setup();
    const client = connected(pool, 'rel');
    subscribe(client, 'q', 2);
    void pool.serverPublish('q', 'x', { qos: 2 });
    const id = client.next('publish').messageId as number;
    const from = client.bytes.length;
    client.send({ cmd: 'pubrec', messageId: id });
    expect((client.bytes[from] as Buffer)[0]).toBe(0x62);
    expect(client.drain().map((p) => p.cmd)).toEqual(['pubrel']);
    const watcher = bystander(pool);
    client.sendBytes([0x68, 0x02, 0x00, 0x01]); // PUBREL with flags 1000
    disconnectedWith(client, 0x81);
    unaffected(pool, watcher);
  });

  it('PUBREL and PUBCOMP carry only their reason codes: 0x00, or 0x92 for an unknown identifier [MQTT-3.6.2-1] [MQTT-3.7.2-1]', () => {
    const { pool } = setup();
    const client = connected(pool, 'codes');
    subscribe(client, 'q', 2);
    client.send({ cmd: 'pubrec', messageId: 40 });
    client.send({ cmd: 'pubrel', messageId: 41 });
    client.send(publishPacket('t', 'x', 2, { messageId: 42 }));
    client.send({ cmd: 'pubrel', messageId: 42 });
    void pool.serverPublish('q', 'x', { qos: 2 });
    const id = (client.received.at(-1) as IPublishPacket).messageId as number;
    client.send({ cmd: 'pubrec', messageId: id });
    const acks = client.drain().filter((p) => p.cmd !== 'publish') as {
      cmd: string;
      messageId?: number;
      reasonCode?: number;
    }[];
    expect(acks.map((p) => [p.cmd, p.messageId, p.reasonCode])).toEqual([
      ['pubrel', 40, 0x92],
      ['pubcomp', 41, 0x92],
      ['pubrec', 42, 0x10],
      ['pubcomp', 42, 0x00],
      ['pubrel', id, 0x00],
    ]);
  });

  it("PUBREL and PUBCOMP carry no properties that could push them past the client's Maximum Packet Size [MQTT-3.6.2-2] [MQTT-3.6.2-3] [MQTT-3.7.2-2] [MQTT-3.7.2-3]", () => {
    const { pool } = setup();
    const client = connected(pool, 'tiny', { properties: { maximumPacketSize: 24 } });
    subscribe(client, 'q', 2);
    void pool.serverPublish('q', 'x', { qos: 2 });
    const id = client.next('publish').messageId as number;
    const from = client.bytes.length;
    client.send({ cmd: 'pubrec', messageId: id });
    client.send({ cmd: 'pubrec', messageId: 999 });
    client.send(publishPacket('t', 'x', 2, { messageId: 5 }));
    client.send({ cmd: 'pubrel', messageId: 5 });
    client.send({ cmd: 'pubrel', messageId: 6 });
    const acks = client.drain() as { cmd: string; properties?: object }[];
    expect(acks.map((p) => p.cmd)).toEqual(['pubrel', 'pubrel', 'pubrec', 'pubcomp', 'pubcomp']);
    expect(acks.every((p) => p.properties === undefined)).toBe(true);
    expect(client.bytes.slice(from).every((chunk) => chunk.length <= 24)).toBe(true);
    expect(sessionOf(pool, 'tiny').stats().inflight).toBe(1);
  });
});
