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
});
