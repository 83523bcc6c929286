/**
 * MQTT 5 conformance, sections 3.8 (SUBSCRIBE) to 3.12 (PINGREQ): real bytes through a pool.
 * Each test names the normative statements it proves; docs/conformance.md maps them.
 */
import type { IPublishPacket } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import {
  bystander,
  connected,
  disconnectedWith,
  runtimeWith,
  setup,
  unaffected,
  wire,
} from './conformance-helpers.js';
import { subscribe } from './helpers.js';

function texts(packets: unknown[]): string[] {
  return (packets as IPublishPacket[]).map((p) => p.payload.toString());
}

describe('3.8 SUBSCRIBE', () => {
  it('SUBSCRIBE with flags other than 0010 is malformed: the connection closes [MQTT-3.8.1-1]', () => {
    const { pool } = setup();
    const watcher = bystander(pool);
    for (const first of [0x80, 0x83, 0x8a]) {
      const client = connected(pool, `flags${first}`);
      client.sendBytes([first, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, 0x61, 0x00]);
      disconnectedWith(client, 0x81);
    }
    unaffected(pool, watcher);
  });

  it('a SUBSCRIBE without any Topic Filter is a protocol error: DISCONNECT 0x82 [MQTT-3.8.3-2]', () => {
    const { pool } = setup();
    const watcher = bystander(pool);
    const client = connected(pool, 'empty');
    client.sendBytes([0x82, 0x03, 0x00, 0x01, 0x00]); // packet id 1, no properties, no filter
    disconnectedWith(client, 0x82);
    unaffected(pool, watcher);
  });

  it('reserved bits of the Subscription Options set to 1 are malformed: the connection closes [MQTT-3.8.3-5]', () => {
    const { pool } = setup();
    const watcher = bystander(pool);
    for (const options of [0x40, 0x80, 0xc1]) {
      const client = connected(pool, `opts${options}`);
      client.sendBytes([0x82, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, 0x61, options]);
      disconnectedWith(client, 0x81);
    }
    unaffected(pool, watcher);
  });

  it('every SUBSCRIBE gets a SUBACK with its Packet Identifier [MQTT-3.8.4-1] [MQTT-3.8.4-2]', () => {
    const { pool } = setup();
    const client = connected(pool, 'acks');
    for (const id of [1, 0x7fff, 0xffff]) {
      client.send({ cmd: 'subscribe', messageId: id, subscriptions: [{ topic: 'a', qos: 1 }] });
      expect(client.next('suback')).toMatchObject({ messageId: id, granted: [1] });
    }
  });

  it('a SUBSCRIBE to a filter the session has replaces that subscription: new options, one subscription [MQTT-3.8.4-3]', () => {
    const { pool } = setup();
    const client = connected(pool, 'replace');
    subscribe(client, 'r/#', 0);
    subscribe(client, 'r/#', 2, { rap: true }, 2);
    void pool.serverPublish('r/x', 'x', { qos: 2, retain: true });
    const got = client.drain() as IPublishPacket[];
    expect(got.map((p) => [p.qos, p.retain])).toEqual([[2, true]]);
    expect(pool.routerInfo().subscriptions).toBe(1);
  });

  it('replacing a subscription with Retain Handling 0 re-sends the retained messages and loses no message in flight [MQTT-3.8.4-4]', () => {
    const { pool } = setup();
    void pool.serverPublish('c', 'stored', { retain: true });
    const client = connected(pool, 'resub');
    subscribe(client, 'c', 1);
    expect(texts(client.drain())).toEqual(['stored']);
    void pool.serverPublish('c', 'in flight', { qos: 1 });
    const inFlight = client.next('publish');
    subscribe(client, 'c', 1, { rh: 0 }, 2);
    expect(texts(client.drain())).toEqual(['stored']);
    void pool.serverPublish('c', 'after', { qos: 1 });
    expect(texts(client.drain())).toEqual(['after']);
    client.send({ cmd: 'puback', messageId: inFlight.messageId as number });
    client.drop();
    expect(inFlight.payload.toString()).toBe('in flight');
  });

  it('several filters in one SUBSCRIBE act as several SUBSCRIBEs with one SUBACK: a code per filter, in order, granted QoS or failure [MQTT-3.8.4-5] [MQTT-3.8.4-6] [MQTT-3.8.4-7] [MQTT-3.9.3-1]', () => {
    const runtime = runtimeWith({
      isAllowed: (request) => !(request.action === 'subscribe' && request.topic.startsWith('no/')),
    });
    const { pool } = setup({ runtime, session: { maximumQoS: 1 } });
    void pool.serverPublish('s/1', 'one', { retain: true });
    void pool.serverPublish('t/1', 'two', { retain: true });
    const client = connected(pool, 'multi');
    client.send({
      cmd: 'subscribe',
      messageId: 3,
      subscriptions: [
        { topic: 's/#', qos: 2 },
        { topic: 'no/x', qos: 1 },
        { topic: 'bad/#/x', qos: 0 },
        { topic: 't/+', qos: 0 },
        { topic: 's/#', qos: 1 },
      ],
    });
    const packets = client.drain();
    expect(packets[0]).toMatchObject({
      cmd: 'suback',
      messageId: 3,
      granted: [1, 0x87, 0x8f, 0, 1],
    });
    expect(texts(packets.slice(1)).sort()).toEqual(['one', 'one', 'two']);
    expect(packets.filter((p) => p.cmd === 'suback')).toHaveLength(1);
  });

  it('messages are sent at the lower of their QoS and the granted QoS [MQTT-3.8.4-8]', () => {
    const { pool } = setup();
    const clients = ([0, 1, 2] as const).map((granted) => {
      const client = connected(pool, `g${granted}`);
      subscribe(client, 'm', granted);
      return client;
    });
    for (const qos of [0, 1, 2] as const) void pool.serverPublish('m', `q${qos}`, { qos });
    expect(clients.map((c) => (c.drain() as IPublishPacket[]).map((p) => p.qos))).toEqual([
      [0, 0, 0],
      [0, 1, 1],
      [0, 1, 2],
    ]);
  });
});

describe('3.9 SUBACK', () => {
  it('SUBACK uses only Subscribe Reason Codes [MQTT-3.9.3-2]', () => {
    const runtime = runtimeWith({
      isAllowed: (request) => !(request.action === 'subscribe' && request.topic === 'secret'),
    });
    const { pool } = setup({
      runtime,
      session: { sharedSubscriptionAvailable: false, wildcardSubscriptionAvailable: false },
    });
    const client = connected(pool, 'codes');
    client.send({
      cmd: 'subscribe',
      messageId: 1,
      subscriptions: [
        { topic: 'a', qos: 0 },
        { topic: 'b', qos: 1 },
        { topic: 'c', qos: 2 },
        { topic: 'secret', qos: 0 },
        { topic: 'bad+', qos: 0 },
        { topic: '$share/g/t', qos: 0 },
        { topic: 'w/+', qos: 0 },
      ],
    });
    const granted = client.next('suback').granted as number[];
    expect(granted).toEqual([0x00, 0x01, 0x02, 0x87, 0x8f, 0x9e, 0xa2]);
    const codes = new Set([0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8f, 0x91, 0x97, 0x9e, 0xa1, 0xa2]);
    expect(granted.every((code) => codes.has(code))).toBe(true);
  });

  it("SUBACK leaves out a Reason String and User Properties that would not fit the client's Maximum Packet Size [MQTT-3.9.2-1] [MQTT-3.9.2-2]", () => {
    const runtime = runtimeWith({
      isAllowed: (request) =>
        request.action === 'subscribe' && request.topic === 'secret'
          ? { allowed: false, reasonString: 'r'.repeat(100), userProperties: { u: 'v'.repeat(50) } }
          : true,
    });
    const { pool } = setup({ runtime });
    const small = connected(pool, 'small', { properties: { maximumPacketSize: 40 } });
    const from = small.bytes.length;
    small.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'secret', qos: 0 }] });
    const suback = small.next('suback');
    expect(suback.granted).toEqual([0x87]);
    expect(suback.properties?.reasonString).toBeUndefined();
    expect(suback.properties?.userProperties).toBeUndefined();
    expect(small.bytes.slice(from).every((chunk) => chunk.length <= 40)).toBe(true);
    const roomy = connected(pool, 'roomy');
    roomy.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'secret', qos: 0 }] });
    expect(roomy.next('suback').properties?.reasonString).toBe('r'.repeat(100));
  });
});

describe('3.10 UNSUBSCRIBE and 3.11 UNSUBACK', () => {
  it('UNSUBSCRIBE with flags other than 0010 is malformed: the connection closes [MQTT-3.10.1-1]', () => {
    const { pool } = setup();
    const watcher = bystander(pool);
    const client = connected(pool, 'flags');
    client.sendBytes([0xa0, 0x06, 0x00, 0x01, 0x00, 0x00, 0x01, 0x61]);
    disconnectedWith(client, 0x81);
    unaffected(pool, watcher);
  });

  it('an UNSUBSCRIBE without any Topic Filter is a protocol error: DISCONNECT 0x82 [MQTT-3.10.3-2]', () => {
    const { pool } = setup();
    const watcher = bystander(pool);
    const client = connected(pool, 'empty');
    client.sendBytes([0xa2, 0x03, 0x00, 0x01, 0x00]);
    disconnectedWith(client, 0x82);
    unaffected(pool, watcher);
  });

  it('filters are compared character by character: only an identical filter is removed [MQTT-3.10.4-1]', () => {
    const { pool } = setup();
    const client = connected(pool, 'exact');
    subscribe(client, 'a/+', 0, {}, 1);
    subscribe(client, 'a/b', 0, {}, 2);
    subscribe(client, '$share/g/a/c', 0, {}, 3);
    client.send({
      cmd: 'unsubscribe',
      messageId: 4,
      unsubscriptions: ['a/b', 'a/#', 'A/+', 'a/c', '$share/h/a/c'],
    });
    expect(client.next('unsuback').granted).toEqual([0x00, 0x11, 0x11, 0x11, 0x11]);
    void pool.serverPublish('a/b', 'b');
    void pool.serverPublish('a/c', 'c');
    expect(texts(client.drain())).toEqual(['b', 'c', 'c']);
  });

  it('after UNSUBSCRIBE no new message is added, and QoS 1 and 2 messages already sent complete [MQTT-3.10.4-2] [MQTT-3.10.4-3]', () => {
    const { pool } = setup();
    const client = connected(pool, 'leaving');
    subscribe(client, 'u', 2);
    void pool.serverPublish('u', 'one', { qos: 1 });
    void pool.serverPublish('u', 'two', { qos: 2 });
    const [one, two] = client.drain() as IPublishPacket[];
    client.send({ cmd: 'unsubscribe', messageId: 5, unsubscriptions: ['u'] });
    client.next('unsuback');
    void pool.serverPublish('u', 'three', { qos: 1 });
    expect(client.received).toEqual([]);
    client.send({ cmd: 'pubrec', messageId: two?.messageId as number });
    expect(client.next('pubrel').messageId).toBe(two?.messageId);
    client.send({ cmd: 'pubcomp', messageId: two?.messageId as number });
    client.send({ cmd: 'puback', messageId: one?.messageId as number });
    expect(client.received).toEqual([]);
  });

  it('every UNSUBSCRIBE gets one UNSUBACK with its Packet Identifier, even when nothing was removed [MQTT-3.10.4-4] [MQTT-3.10.4-5] [MQTT-3.10.4-6]', () => {
    const { pool } = setup();
    const client = connected(pool, 'unsub');
    subscribe(client, 'x');
    client.send({ cmd: 'unsubscribe', messageId: 0x1234, unsubscriptions: ['never'] });
    expect(client.next('unsuback')).toMatchObject({ messageId: 0x1234, granted: [0x11] });
    client.send({ cmd: 'unsubscribe', messageId: 0x4321, unsubscriptions: ['x', 'y', 'x'] });
    expect(client.drain()).toMatchObject([
      { cmd: 'unsuback', messageId: 0x4321, granted: [0x00, 0x11, 0x11] },
    ]);
  });

  it('UNSUBACK has a code per filter, in order, from the Unsubscribe Reason Codes, and no properties to outgrow the client [MQTT-3.11.3-1] [MQTT-3.11.3-2] [MQTT-3.11.2-1] [MQTT-3.11.2-2]', () => {
    const { pool } = setup();
    const client = connected(pool, 'order', { properties: { maximumPacketSize: 24 } });
    subscribe(client, 'b');
    subscribe(client, 'd', 0, {}, 2);
    const from = client.bytes.length;
    client.send({ cmd: 'unsubscribe', messageId: 3, unsubscriptions: ['a', 'b', 'c', 'd'] });
    const unsuback = client.next('unsuback');
    expect(unsuback.granted).toEqual([0x11, 0x00, 0x11, 0x00]);
    expect(unsuback.properties).toBeUndefined();
    expect(wire(client, from)).toEqual([0xb0, 0x07, 0x00, 0x03, 0x00, 0x11, 0x00, 0x11, 0x00]);
  });
});

describe('3.12 PINGREQ', () => {
  it('PINGREQ is answered with PINGRESP [MQTT-3.12.4-1]', () => {
    const { pool } = setup();
    const client = connected(pool, 'ping');
    const from = client.bytes.length;
    client.send({ cmd: 'pingreq' });
    client.send({ cmd: 'pingreq' });
    expect(wire(client, from)).toEqual([0xd0, 0x00, 0xd0, 0x00]);
  });

  it('a PINGREQ with a wrong flag is malformed [MQTT-2.1.3-1]', () => {
    const { pool } = setup();
    const watcher = bystander(pool);
    const client = connected(pool, 'badping');
    client.sendBytes([0xc2, 0x00]);
    disconnectedWith(client, 0x81);
    unaffected(pool, watcher);
  });
});
