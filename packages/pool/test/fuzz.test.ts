import fc from 'fast-check';
import { generate, type Packet } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { publishPacket, subscribe, TestClient, testPool } from './helpers.js';

const valid: Packet[] = [
  {
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 5,
    clientId: 'fuzz',
    clean: true,
    keepalive: 0,
  },
  {
    cmd: 'subscribe',
    messageId: 1,
    subscriptions: [{ topic: 'f/#', qos: 2 }],
    properties: { subscriptionIdentifier: 3 },
  },
  {
    cmd: 'publish',
    topic: 'f/x',
    payload: Buffer.from('hello'),
    qos: 2,
    messageId: 7,
    retain: true,
    dup: false,
    properties: { topicAlias: 1, userProperties: { a: 'b' } },
  },
  { cmd: 'pubrel', messageId: 7 },
  { cmd: 'unsubscribe', messageId: 2, unsubscriptions: ['f/#'] },
  { cmd: 'pingreq' },
  { cmd: 'auth', reasonCode: 0x19, properties: { authenticationMethod: 'x' } },
  { cmd: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 10 } },
];
const stream = Buffer.concat(valid.map((p) => generate(p, { protocolVersion: 5 })));

/** A client that keeps working proves one bad connection did not disturb the pool. */
function bystanderWorks(pool: ReturnType<typeof testPool>['pool']): void {
  const a = new TestClient(pool);
  a.connect({ clientId: `ok-${Math.random()}` });
  subscribe(a, 'ok/t', 1);
  const b = new TestClient(pool);
  b.connect({ clientId: `okb-${Math.random()}` });
  b.send(publishPacket('ok/t', 'still here', 1, { messageId: 9 }));
  expect(b.next('puback').messageId).toBe(9);
  expect(a.next('publish').payload.toString()).toBe('still here');
}

describe('bytes from the network never break the server', () => {
  it('survives random corruption of a valid packet stream, split at random', () => {
    const { pool, errors } = testPool({ session: { connectTimeoutMs: 1000 } });
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(stream.length - 1), fc.integer({ min: 0, max: 255 })), {
          maxLength: 8,
        }),
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 10 }),
        (flips, sizes) => {
          const bytes = Buffer.from(stream);
          for (const [at, value] of flips) bytes[at] = value;
          const client = new TestClient(pool);
          let offset = 0;
          for (let i = 0; offset < bytes.length; i++) {
            const size = sizes[i % sizes.length] as number;
            expect(() => client.sendBytes(bytes.subarray(offset, offset + size))).not.toThrow();
            offset += size;
          }
          client.drop();
        },
      ),
      { numRuns: 400 },
    );
    expect(errors).toEqual([]);
    bystanderWorks(pool);
  });

  it('survives random bytes after a valid CONNECT', () => {
    const { pool, errors } = testPool();
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 300 }), (noise) => {
        const client = new TestClient(pool);
        client.connect({ clientId: 'noise' });
        expect(() => client.sendBytes(Buffer.from(noise))).not.toThrow();
        client.drop();
      }),
      { numRuns: 400 },
    );
    expect(errors).toEqual([]);
    bystanderWorks(pool);
  });

  it('forwards whatever it accepts byte for byte: topic, payload and properties', () => {
    const { pool, errors } = testPool();
    const subscriber = new TestClient(pool);
    subscriber.connect({ clientId: 'all', properties: { topicAliasMaximum: 0 } });
    subscribe(subscriber, '#', 0);
    const base = generate(
      {
        cmd: 'publish',
        topic: 'fz/ok',
        payload: Buffer.from('payload'),
        qos: 1,
        messageId: 3,
        retain: false,
        dup: false,
        properties: {
          payloadFormatIndicator: false,
          contentType: 'text/x',
          responseTopic: 'rt/1',
          correlationData: Buffer.from([1, 2]),
          userProperties: { b: ['1', '2'], a: 'z' },
        },
      },
      { protocolVersion: 5 },
    );
    let forwarded = 0;
    fc.assert(
      fc.property(
        // Flip bytes after the fixed header, so that the packet stays one packet.
        fc.array(fc.tuple(fc.integer({ min: 2, max: base.length - 1 }), fc.nat(255)), {
          minLength: 1,
          maxLength: 4,
        }),
        (flips) => {
          const bytes = Buffer.from(base);
          for (const [at, value] of flips) bytes[at] = value;
          const publisher = new TestClient(pool);
          publisher.connect({ clientId: 'fz' });
          const from = subscriber.bytes.length;
          publisher.sendBytes(bytes);
          const out = Buffer.concat(subscriber.bytes.slice(from));
          subscriber.drain();
          publisher.drop();
          if (out.length === 0) return;
          forwarded++;
          const sent = readPublish(bytes, true);
          const got = readPublish(out, false);
          expect(got.topic.equals(sent.topic)).toBe(true);
          expect(got.payload.equals(sent.payload)).toBe(true);
          // What travels on: every property but the publisher's Topic Alias and Message Expiry
          // Interval (which goes out as the time left), in the order sent.
          expect(forwardable(got.properties).equals(forwardable(sent.properties))).toBe(true);
        },
      ),
      { numRuns: 600 },
    );
    expect(forwarded).toBeGreaterThan(20); // the property looks at messages that went through
    expect(errors).toEqual([]);
  });
});

/** The parts of an MQTT 5 PUBLISH, read by hand as the test's own reference. */
function readPublish(bytes: Buffer, hasPacketId: boolean) {
  let at = 1;
  while (((bytes[at] as number) & 0x80) !== 0) at++;
  at++;
  const topicLength = bytes.readUInt16BE(at);
  const topic = bytes.subarray(at + 2, at + 2 + topicLength);
  at += 2 + topicLength + (hasPacketId && ((bytes[0] as number) & 0x06) !== 0 ? 2 : 0);
  const [length, size] = varInt(bytes, at);
  at += size;
  return {
    topic,
    properties: bytes.subarray(at, at + length),
    payload: bytes.subarray(at + length),
  };
}

function varInt(bytes: Buffer, at: number): [number, number] {
  let value = 0;
  let scale = 1;
  let size = 0;
  for (;;) {
    const byte = bytes[at + size++] as number;
    value += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) return [value, size];
    scale *= 128;
  }
}

/** A property block without Topic Alias (0x23) and Message Expiry Interval (0x02) entries. */
function forwardable(block: Buffer): Buffer {
  const kept: Buffer[] = [];
  let at = 0;
  while (at < block.length) {
    const start = at;
    const id = block[at++] as number;
    if (id === 0x01) at += 1;
    else if (id === 0x02) at += 4;
    else if (id === 0x23) at += 2;
    else if (id === 0x03 || id === 0x08 || id === 0x09) at += 2 + block.readUInt16BE(at);
    else if (id === 0x26) {
      at += 2 + block.readUInt16BE(at);
      at += 2 + block.readUInt16BE(at);
    } else throw new Error(`property 0x${id.toString(16)} was forwarded`);
    if (id !== 0x02 && id !== 0x23) kept.push(block.subarray(start, at));
  }
  return Buffer.concat(kept);
}
