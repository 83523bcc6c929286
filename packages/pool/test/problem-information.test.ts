/**
 * Refusals with reasons on the wire: a runtime's `isAllowed` may answer an `AccessDenied` with a
 * reason code, reason string and user properties, which go on PUBACK, PUBREC and SUBACK for MQTT
 * 5 clients that did not set Request Problem Information to 0 [MQTT-3.1.2-29].
 */
import {
  type AccessDecision,
  type AccessRequest,
  createDefaultRuntime,
  type DefaultUserContext,
  type Runtime,
} from '@mqtt-sessions/runtime-default';
import type { IPubackPacket, IPubrecPacket } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { createPool } from '../src/index.js';
import {
  ManualTimers,
  publishPacket,
  recordError,
  settle,
  subscribe,
  TestClient,
} from './helpers.js';

type UC = DefaultUserContext;

/** The ACL under test, by the first topic level. */
function decide(request: AccessRequest): AccessDecision {
  const [first] = request.topic.split('/');
  switch (first) {
    case 'quota':
      return {
        allowed: false,
        reasonCode: 0x97,
        reasonString: 'daily quota used up',
        userProperties: { quota: '100', resets: '00:00Z' },
      };
    case 'secret':
      return { allowed: false, reasonString: 'no secrets', userProperties: { rule: 'r1' } };
    case 'hidden':
      return {
        allowed: false,
        reasonCode: 0x8f,
        reasonString: 'hidden',
        userProperties: { rule: ['r2', 'r3'] },
      };
    case 'forbidden':
      return false;
    case 'bogus':
      // 0x00 would read as a success: the session sends 0x87 instead.
      return { allowed: false, reasonCode: 0x00, reasonString: 'bogus code' };
    default:
      return true;
  }
}

function setup(isAllowed: Runtime<UC>['isAllowed'] = decide) {
  const timers = new ManualTimers();
  const errors: unknown[] = [];
  const runtime: Runtime<UC> = { ...createDefaultRuntime(), isAllowed };
  const pool = createPool<UC>({
    runtime,
    timers,
    onError: (error) => {
      errors.push(error);
      recordError(error);
    },
  });
  return { pool, errors };
}

describe('a refused PUBLISH tells the client why', () => {
  it("PUBACK and PUBREC carry the runtime's reason code, reason string and user properties [MQTT-3.1.2-29]", () => {
    const { pool, errors } = setup();
    const client = new TestClient(pool);
    client.connect({ clientId: 'publisher' });
    client.send(publishPacket('quota/a', 'x', 1, { messageId: 1 }));
    const puback = client.next('puback');
    expect(puback.reasonCode).toBe(0x97);
    expect(puback.properties).toEqual({
      reasonString: 'daily quota used up',
      userProperties: { quota: '100', resets: '00:00Z' },
    });
    client.send(publishPacket('secret/b', 'x', 2, { messageId: 2 }));
    const pubrec = client.next('pubrec');
    expect(pubrec.reasonCode).toBe(0x87); // the default when the runtime names no code
    expect(pubrec.properties).toEqual({
      reasonString: 'no secrets',
      userProperties: { rule: 'r1' },
    });
    // QoS 0 has no acknowledgement: nothing to say, and the connection goes on.
    client.send(publishPacket('secret/c', 'x', 0));
    client.send(publishPacket('open/d', 'x', 1, { messageId: 3 }));
    expect(client.next('puback').reasonCode).toBe(0x10); // allowed; nobody subscribes
    expect(client.received).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('a plain false is 0x87 without properties; a code a PUBACK cannot carry becomes 0x87', () => {
    const { pool } = setup();
    const client = new TestClient(pool);
    client.connect({ clientId: 'publisher' });
    client.send(publishPacket('forbidden/a', 'x', 1, { messageId: 1 }));
    const plain = client.next('puback');
    expect(plain.reasonCode).toBe(0x87);
    expect(plain.properties).toBeUndefined();
    client.send(publishPacket('bogus/a', 'x', 1, { messageId: 2 }));
    const bogus = client.next('puback');
    expect(bogus.reasonCode).toBe(0x87);
    expect(bogus.properties?.reasonString).toBe('bogus code');
  });

  it('nothing but the reason code for a client that set Request Problem Information to 0 [MQTT-3.1.2-29]', () => {
    const { pool } = setup();
    const client = new TestClient(pool);
    client.connect({ clientId: 'quiet', properties: { requestProblemInformation: false } });
    client.send(publishPacket('quota/a', 'x', 1, { messageId: 1 }));
    const puback = client.next('puback');
    expect(puback.reasonCode).toBe(0x97);
    expect(puback.properties).toBeUndefined();
    client.send(publishPacket('secret/a', 'x', 2, { messageId: 2 }));
    const pubrec = client.next('pubrec');
    expect(pubrec.reasonCode).toBe(0x87);
    expect(pubrec.properties).toBeUndefined();
    client.send({ cmd: 'subscribe', messageId: 3, subscriptions: [{ topic: 'secret/#', qos: 1 }] });
    const suback = client.next('suback');
    expect(suback.granted).toEqual([0x87]);
    expect(suback.properties).toBeUndefined();
  });

  it("leaves out what would exceed the client's Maximum Packet Size: user properties, then the reason string [MQTT-3.4.2-2] [MQTT-3.4.2-3] [MQTT-3.5.2-2] [MQTT-3.5.2-3]", () => {
    const { pool } = setup();
    // This PUBREC is 58 bytes with both properties, 28 with the reason string only, 6 bare.
    const sizes: [number, IPubackPacket['properties']][] = [
      [
        58,
        { reasonString: 'daily quota used up', userProperties: { quota: '100', resets: '00:00Z' } },
      ],
      [57, { reasonString: 'daily quota used up' }],
      [28, { reasonString: 'daily quota used up' }],
      [27, undefined],
    ];
    for (const [maximumPacketSize, expected] of sizes) {
      const client = new TestClient(pool);
      client.connect({ clientId: `max-${maximumPacketSize}`, properties: { maximumPacketSize } });
      client.send(publishPacket('quota/a', 'x', 2, { messageId: 1 }));
      const pubrec = client.next('pubrec') as IPubrecPacket;
      expect(pubrec.reasonCode).toBe(0x97);
      expect(pubrec.properties, `Maximum Packet Size ${maximumPacketSize}`).toEqual(expected);
      expect(client.bytes.at(-1)?.length).toBeLessThanOrEqual(maximumPacketSize);
    }
  });

  it('waits for a runtime that answers with a Promise', async () => {
    const { pool } = setup((request) => Promise.resolve(decide(request)));
    const client = new TestClient(pool);
    client.connect({ clientId: 'async' });
    client.send(publishPacket('quota/a', 'x', 1, { messageId: 1 }));
    await settle();
    const puback = client.next('puback');
    expect(puback.reasonCode).toBe(0x97);
    expect(puback.properties?.reasonString).toBe('daily quota used up');
  });

  it('an MQTT 3.1.1 client gets a plain PUBACK, and 0x80 in its SUBACK', () => {
    const { pool } = setup();
    const client = new TestClient(pool, 4);
    client.connect({ clientId: 'old' });
    client.send(publishPacket('quota/a', 'x', 1, { messageId: 1 }));
    expect(client.next('puback')).toMatchObject({ cmd: 'puback', messageId: 1 });
    // A PUBACK of 3.1.1 is four bytes: no room for a reason.
    expect(client.bytes.at(-1)).toEqual(Buffer.from([0x40, 0x02, 0x00, 0x01]));
    expect(subscribe(client, 'secret/#', 1)).toEqual([0x80]);
  });
});

describe('a refused SUBSCRIBE tells the client why', () => {
  it("one SUBACK code per filter; the properties join every refusal's reasons [MQTT-3.9.3-1]", () => {
    const { pool } = setup();
    const client = new TestClient(pool);
    client.connect({ clientId: 'subscriber' });
    client.send({
      cmd: 'subscribe',
      messageId: 1,
      subscriptions: [
        { topic: 'open/#', qos: 1 },
        { topic: 'secret/#', qos: 1 },
        { topic: 'forbidden/#', qos: 0 },
        { topic: 'hidden/#', qos: 2 },
      ],
    });
    const suback = client.next('suback');
    expect(suback.granted).toEqual([1, 0x87, 0x87, 0x8f]);
    expect(suback.properties).toEqual({
      reasonString: 'no secrets; hidden',
      userProperties: { rule: ['r1', 'r2', 'r3'] },
    });
  });

  it("a SUBACK leaves out what would exceed the client's Maximum Packet Size [MQTT-3.9.2-1] [MQTT-3.9.2-2]", () => {
    const { pool } = setup();
    // This SUBACK is 30 bytes with both properties, 19 with the reason string only, 6 bare.
    const sizes: [number, unknown][] = [
      [30, { reasonString: 'no secrets', userProperties: { rule: 'r1' } }],
      [29, { reasonString: 'no secrets' }],
      [18, undefined],
    ];
    for (const [maximumPacketSize, expected] of sizes) {
      const client = new TestClient(pool);
      client.connect({ clientId: `max-${maximumPacketSize}`, properties: { maximumPacketSize } });
      client.send({
        cmd: 'subscribe',
        messageId: 1,
        subscriptions: [{ topic: 'secret/#', qos: 1 }],
      });
      const suback = client.next('suback');
      expect(suback.granted).toEqual([0x87]);
      expect(suback.properties, `Maximum Packet Size ${maximumPacketSize}`).toEqual(expected);
    }
  });

  it('a SUBACK where every filter is allowed has no properties', () => {
    const { pool } = setup();
    const client = new TestClient(pool);
    client.connect({ clientId: 'subscriber' });
    client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'open/#', qos: 1 }] });
    const suback = client.next('suback');
    expect(suback.granted).toEqual([1]);
    expect(suback.properties).toBeUndefined();
  });
});

describe('only true allows', () => {
  it('a retained message refused with an AccessDenied is not delivered', () => {
    const { pool } = setup((request) =>
      request.action === 'deliver-retained' && request.topic === 'open/private'
        ? { allowed: false, reasonString: 'not for you' }
        : true,
    );
    void pool.serverPublish('open/private', 'p', { retain: true });
    void pool.serverPublish('open/public', 'q', { retain: true });
    const client = new TestClient(pool);
    client.connect({ clientId: 'reader' });
    expect(subscribe(client, 'open/#', 0)).toEqual([0]);
    const delivered = client
      .drain()
      .map((packet) => (packet.cmd === 'publish' ? packet.topic : ''));
    expect(delivered).toEqual(['open/public']);
  });

  it('a Will refused with an AccessDenied is not published', () => {
    const { pool } = setup((request) =>
      request.action === 'publish' && request.topic === 'wills/denied' ? { allowed: false } : true,
    );
    const watcher = new TestClient(pool);
    watcher.connect({ clientId: 'watcher' });
    subscribe(watcher, 'wills/#', 0);
    for (const topic of ['wills/denied', 'wills/allowed']) {
      const mortal = new TestClient(pool);
      mortal.connect({
        clientId: topic,
        will: { topic, payload: Buffer.from('gone'), qos: 0, retain: false },
      });
      mortal.drop();
    }
    const wills = watcher.drain().map((packet) => (packet.cmd === 'publish' ? packet.topic : ''));
    expect(wills).toEqual(['wills/allowed']);
  });

  it("server-side publish and subscribe report the runtime's reason string", () => {
    const { pool } = setup();
    expect(pool.serverPublish('quota/a', 'x')).toEqual({
      ok: false,
      reason: 'not-allowed',
      message: 'daily quota used up',
    });
    expect(pool.serverSubscribe('secret/#', () => {})).toEqual({
      ok: false,
      reason: 'not-allowed',
      message: 'no secrets',
    });
    expect(pool.serverPublish('forbidden/a', 'x')).toMatchObject({
      ok: false,
      message: 'the runtime refused the publish',
    });
  });
});
