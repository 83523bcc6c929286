/**
 * MQTT 5 conformance, chapters 1, 2 and 6: data representation, the fixed header, packet
 * identifiers, properties, and packets that arrive split or joined (as over WebSocket frames).
 * Real bytes through a pool; see docs/conformance.md for the statement map.
 */
import { isUtf8 } from 'node:buffer';
import type { IPublishPacket } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import {
  bystander,
  bytes5,
  connectBytes,
  connected,
  disconnectedWith,
  setup,
  unaffected,
  wire,
} from './conformance-helpers.js';
import { publishPacket, subscribe, TestClient } from './helpers.js';

/** Decodes the Remaining Length at the start of `bytes` (after the type byte). */
function remainingLength(bytes: Buffer): { value: number; size: number } {
  let value = 0;
  let multiplier = 1;
  let size = 0;
  for (;;) {
    const byte = bytes[1 + size] as number;
    size++;
    value += (byte & 0x7f) * multiplier;
    multiplier *= 128;
    if ((byte & 0x80) === 0) return { value, size };
  }
}

function minimalSize(value: number): number {
  if (value < 128) return 1;
  if (value < 16_384) return 2;
  if (value < 2_097_152) return 3;
  return 4;
}

describe('1.5 data representation', () => {
  it('strings the server sends are well-formed UTF-8 [MQTT-1.5.4-1]', () => {
    const { pool } = setup();
    const reader = connected(pool, 'reader');
    subscribe(reader, 'utf8/#');
    const writer = connected(pool, 'writer');
    const from = reader.bytes.length;
    writer.send(
      publishPacket('utf8/\u00e9\u4e2d\u{1f600}', 'x', 0, {
        properties: { contentType: 'text/\u00e9', userProperties: { k: '\u{1f600}' } },
      }),
    );
    const got = reader.next('publish');
    expect(got.topic).toBe('utf8/\u00e9\u4e2d\u{1f600}');
    expect(got.properties?.userProperties).toEqual({ k: '\u{1f600}' });
    // Every byte of this packet is either text or a byte below 0x80, so all of it must be strict
    // UTF-8: the strings the server wrote are well-formed.
    expect(isUtf8(Buffer.concat(reader.bytes.slice(from)))).toBe(true);
  });

  it('a U+0000 in a User Property value closes the connection with DISCONNECT 0x81, and is never forwarded [MQTT-1.5.4-2]', () => {
    const { pool } = setup();
    const watcher = bystander(pool);
    subscribe(watcher, 'nul', 0, {}, 10);
    const client = connected(pool, 'nul');
    client.send(
      publishPacket('nul', 'x', 0, { properties: { userProperties: { k: 'a\u0000b' } } }),
    );
    disconnectedWith(client, 0x81);
    expect(watcher.received).toEqual([]);
    unaffected(pool, watcher);
  });

  it('a U+0000 in the name of a User Property (a string pair) is refused the same way [MQTT-1.5.7-1] [MQTT-1.5.4-2]', () => {
    const { pool } = setup();
    const watcher = bystander(pool);
    const client = connected(pool, 'pair');
    client.send(
      publishPacket('bystander/x', 'x', 1, {
        messageId: 1,
        properties: { userProperties: { 'a\u0000': 'b' } },
      }),
    );
    disconnectedWith(client, 0x81);
    unaffected(pool, watcher);
  });

  it('a U+0000 in a Content Type, a Response Topic or a subscription filter is refused too [MQTT-1.5.4-2] [MQTT-3.3.2-13] [MQTT-3.3.2-19]', () => {
    const { pool } = setup();
    const watcher = bystander(pool);
    const cases = [
      publishPacket('bystander/x', 'x', 0, { properties: { contentType: 'text/\u0000' } }),
      publishPacket('bystander/x', 'x', 0, { properties: { responseTopic: 'back/\u0000' } }),
      {
        cmd: 'subscribe' as const,
        messageId: 1,
        subscriptions: [{ topic: 'a/\u0000', qos: 0 as const }],
      },
      { cmd: 'unsubscribe' as const, messageId: 1, unsubscriptions: ['a/\u0000'] },
    ];
    for (const [i, packet] of cases.entries()) {
      const client = connected(pool, `nul${i}`);
      client.send(packet);
      disconnectedWith(client, 0x81);
    }
    expect(watcher.received).toEqual([]);
    unaffected(pool, watcher);
  });

  it('a leading U+FEFF (BOM) is part of the string: it is neither stripped nor skipped [MQTT-1.5.4-3]', () => {
    const { pool } = setup();
    const withBom = connected(pool, 'with');
    subscribe(withBom, '\ufeffbom');
    const without = connected(pool, 'without');
    subscribe(without, 'bom');
    const writer = connected(pool, 'writer');
    writer.send(
      publishPacket('\ufeffbom', 'x', 0, { properties: { userProperties: { '\ufeffk': 'v' } } }),
    );
    const got = withBom.next('publish');
    expect(got.topic).toBe('\ufeffbom');
    expect(got.properties?.userProperties).toEqual({ '\ufeffk': 'v' });
    expect(without.received).toEqual([]);
  });

  it('the server encodes every Remaining Length and Variable Byte Integer in the fewest bytes [MQTT-1.5.5-1]', () => {
    const { pool } = setup();
    const client = connected(pool, 'vbi');
    subscribe(client, 'v');
    client.send({
      cmd: 'subscribe',
      messageId: 2,
      properties: { subscriptionIdentifier: 200 },
      subscriptions: [{ topic: 'w', qos: 0 }],
    });
    client.next('suback');
    // Payload sizes around each boundary of the encoding: 127/128 and 16383/16384.
    for (const size of [0, 120, 121, 122, 16_375, 16_376, 16_377, 70_000]) {
      const from = client.bytes.length;
      void pool.serverPublish('v', Buffer.alloc(size, 0x61));
      const packet = client.bytes[from] as Buffer;
      const length = remainingLength(packet);
      expect(length.value).toBe(packet.length - 1 - length.size);
      expect(length.size).toBe(minimalSize(length.value));
    }
    // A Subscription Identifier of 200 takes two bytes: 0xC8 0x01.
    client.drain();
    const from = client.bytes.length;
    void pool.serverPublish('w', 'x');
    const packet = client.bytes[from] as Buffer;
    expect(packet.includes(Buffer.from([0x0b, 0xc8, 0x01]))).toBe(true);
    expect(client.next('publish').properties?.subscriptionIdentifier).toBe(200);
  });

  it('forwards a property identifier a client sent in more bytes than it needs in one byte [MQTT-1.5.5-1]', () => {
    const { pool } = setup();
    const subscriber = connected(pool, 'sub-vbi');
    subscribe(subscriber, 'f/x');
    const publisher = connected(pool, 'pub-vbi');
    // PUBLISH QoS 0 to f/x with properties: Payload Format Indicator 1 under the identifier
    // 0x81 0x00 (1 in two bytes), a User Property a=b, then Content Type "t" under 0x83 0x00.
    const properties = [
      0x81, 0x00, 0x01, 0x26, 0x00, 0x01, 0x61, 0x00, 0x01, 0x62, 0x83, 0x00, 0x00, 0x01, 0x74,
    ];
    const body = [0x00, 0x03, 0x66, 0x2f, 0x78, properties.length, ...properties, 0x68, 0x69];
    const from = subscriber.bytes.length;
    publisher.sendBytes([0x30, body.length, ...body]);
    const got = subscriber.next('publish');
    expect(got.payload.toString()).toBe('hi');
    expect(got.properties).toMatchObject({
      payloadFormatIndicator: true,
      userProperties: { a: 'b' },
      contentType: 't',
    });
    // The identifiers went out in one byte each, in the client's order.
    const sent = subscriber.bytes[from] as Buffer;
    expect(
      sent.includes(
        Buffer.from([0x01, 0x01, 0x26, 0x00, 0x01, 0x61, 0x00, 0x01, 0x62, 0x03, 0x00, 0x01, 0x74]),
      ),
    ).toBe(true);
    expect(publisher.closed).toBe(false);
  });
});

describe('2 control packet format', () => {
  it('every packet the server sends has the fixed-header flags the spec lists [MQTT-2.1.3-1]', () => {
    const { pool } = setup();
    const client = new TestClient(pool);
    client.connect({ clientId: 'flags' });
    subscribe(client, 'f', 2);
    client.send(publishPacket('f', 'one', 1, { messageId: 1 })); // PUBLISH to itself, PUBACK
    client.send(publishPacket('g', 'two', 2, { messageId: 2 })); // PUBREC
    client.send({ cmd: 'pubrel', messageId: 2 }); // PUBCOMP
    void pool.serverPublish('f', 'three', { qos: 2 });
    const sent = client.drain().filter((p) => p.cmd === 'publish') as IPublishPacket[];
    client.send({ cmd: 'pubrec', messageId: sent[1]?.messageId as number }); // PUBREL
    client.send({ cmd: 'unsubscribe', messageId: 3, unsubscriptions: ['f'] }); // UNSUBACK
    client.send({ cmd: 'pingreq' }); // PINGRESP
    client.sendBytes([0x82, 0x03, 0x00, 0x04, 0x00]); // SUBSCRIBE without a filter: DISCONNECT 0x82
    const firstBytes = new Map<number, number>();
    for (const chunk of client.bytes) firstBytes.set((chunk[0] as number) >> 4, chunk[0] as number);
    expect(Object.fromEntries(firstBytes)).toEqual({
      2: 0x20, // CONNACK
      9: 0x90, // SUBACK
      3: 0x34, // PUBLISH: QoS 2 the last one (the flags of PUBLISH are DUP, QoS and RETAIN)
      4: 0x40, // PUBACK
      5: 0x50, // PUBREC
      7: 0x70, // PUBCOMP
      6: 0x62, // PUBREL
      11: 0xb0, // UNSUBACK
      13: 0xd0, // PINGRESP
      14: 0xe0, // DISCONNECT
    });
  });

  it('a packet with wrong reserved flags is malformed: the connection closes [MQTT-2.1.3-1]', () => {
    const { pool } = setup();
    const watcher = bystander(pool);
    // SUBSCRIBE with flags 0000 instead of 0010; PUBREL with 0000 instead of 0010; PINGREQ with 0001.
    const malformed = [
      [0x80, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, 0x61, 0x00],
      [0x60, 0x02, 0x00, 0x01],
      [0xc1, 0x00],
    ];
    for (const [i, raw] of malformed.entries()) {
      const client = connected(pool, `bad${i}`);
      client.sendBytes(raw);
      disconnectedWith(client, 0x81);
    }
    unaffected(pool, watcher);
  });

  it('a QoS 0 PUBLISH from the server has no Packet Identifier [MQTT-2.2.1-2]', () => {
    const { pool } = setup();
    const client = connected(pool, 'q0');
    subscribe(client, 't');
    const writer = connected(pool, 'writer');
    const from = client.bytes.length;
    writer.send(publishPacket('t', 'x', 0));
    // Type 3 flags 0, length 5, topic "t", property length 0, payload "x": no identifier.
    expect(wire(client, from)).toEqual([0x30, 0x05, 0x00, 0x01, 0x74, 0x00, 0x78]);
  });

  it('the server gives each new QoS 1 and 2 PUBLISH a non-zero identifier not in use [MQTT-2.2.1-4]', () => {
    const { pool } = setup();
    const client = connected(pool, 'ids', { properties: { receiveMaximum: 100 } });
    subscribe(client, 'ids', 2);
    for (let i = 0; i < 10; i++)
      void pool.serverPublish('ids', `m${i}`, { qos: i % 2 === 0 ? 1 : 2 });
    const first = client.drain() as IPublishPacket[];
    const ids = first.map((p) => p.messageId as number);
    expect(ids.every((id) => id > 0)).toBe(true);
    expect(new Set(ids).size).toBe(10);
    // Acknowledge every other one; the next messages never reuse an identifier still in flight.
    for (const p of first.filter((_, i) => i % 2 === 0)) {
      client.send({ cmd: 'puback', messageId: p.messageId as number });
    }
    for (let i = 0; i < 10; i++) void pool.serverPublish('ids', `n${i}`, { qos: 1 });
    const next = (client.drain() as IPublishPacket[]).map((p) => p.messageId as number);
    const stillInFlight = first.filter((_, i) => i % 2 === 1).map((p) => p.messageId);
    expect(next.every((id) => id > 0 && !stillInFlight.includes(id))).toBe(true);
    expect(new Set(next).size).toBe(10);
  });

  it('PUBACK, PUBREC, PUBREL and PUBCOMP from the server carry the identifier of their PUBLISH [MQTT-2.2.1-5]', () => {
    const { pool } = setup();
    const client = connected(pool, 'acks');
    client.send(publishPacket('a', '1', 1, { messageId: 0x1234 }));
    expect(client.next('puback').messageId).toBe(0x1234);
    client.send(publishPacket('a', '2', 2, { messageId: 0xfffe }));
    expect(client.next('pubrec').messageId).toBe(0xfffe);
    client.send({ cmd: 'pubrel', messageId: 0xfffe });
    expect(client.next('pubcomp').messageId).toBe(0xfffe);
    subscribe(client, 'down', 2);
    void pool.serverPublish('down', 'x', { qos: 2 });
    const id = client.next('publish').messageId as number;
    client.send({ cmd: 'pubrec', messageId: id });
    expect(client.next('pubrel').messageId).toBe(id);
  });

  it('SUBACK and UNSUBACK carry the identifier of their SUBSCRIBE and UNSUBSCRIBE [MQTT-2.2.1-6]', () => {
    const { pool } = setup();
    const client = connected(pool, 'subids');
    client.send({ cmd: 'subscribe', messageId: 0xabcd, subscriptions: [{ topic: 'a', qos: 0 }] });
    expect(client.next('suback').messageId).toBe(0xabcd);
    client.send({ cmd: 'unsubscribe', messageId: 0x0102, unsubscriptions: ['a', 'b'] });
    expect(client.next('unsuback').messageId).toBe(0x0102);
  });

  it('a packet without properties carries a Property Length of zero [MQTT-2.2.2-1]', () => {
    const { pool } = setup();
    const client = connected(pool, 'props', { properties: { requestProblemInformation: false } });
    let from = client.bytes.length;
    client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'p', qos: 1 }] });
    expect(wire(client, from)).toEqual([0x90, 0x04, 0x00, 0x01, 0x00, 0x01]);
    from = client.bytes.length;
    client.send({ cmd: 'unsubscribe', messageId: 2, unsubscriptions: ['p'] });
    expect(wire(client, from)).toEqual([0xb0, 0x04, 0x00, 0x02, 0x00, 0x00]);
    from = client.bytes.length;
    client.send(publishPacket('p', 'x', 0, { properties: { topicAlias: 0 } }));
    // DISCONNECT 0x94 without a Reason String (the client asked for none): length 0 follows.
    expect(wire(client, from)).toEqual([0xe0, 0x02, 0x94, 0x00]);
  });
});

describe('6 packets split across or joined in transport frames', () => {
  it('several packets in one chunk and one packet split over many are all read [MQTT-6.0.0-2]', () => {
    const { pool } = setup();
    const watcher = connected(pool, 'watcher');
    subscribe(watcher, 'frames/#', 1);
    const client = new TestClient(pool);
    const joined = Buffer.concat([
      connectBytes({ clientId: 'framed' }),
      bytes5({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'frames/self', qos: 0 }] }),
      bytes5(publishPacket('frames/a', 'one', 1, { messageId: 1 })),
    ]);
    client.sendBytes(joined);
    expect(client.drain().map((p) => p.cmd)).toEqual(['connack', 'suback', 'puback']);
    const split = bytes5(publishPacket('frames/self', 'two', 0));
    for (const cut of [
      [0, 1],
      [1, 2],
      [2, 7],
      [7, split.length],
    ] as const) {
      client.sendBytes(split.subarray(cut[0], cut[1]));
    }
    expect(client.next('publish').payload.toString()).toBe('two');
    expect((watcher.drain() as IPublishPacket[]).map((p) => p.payload.toString())).toEqual([
      'one',
      'two',
    ]);
  });
});
