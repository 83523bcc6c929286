/**
 * What the server sends is right too: for any Topic Alias Maximum, Maximum Packet Size, Receive
 * Maximum and QoS a subscriber asks for, every message it may receive arrives, in order, with an
 * alias mapping it can follow, and a message it must not receive is skipped alone and counted.
 */
import fc from 'fast-check';
import type { IPublishPacket, Packet } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { publishPacket, subscribe, TestClient, testPool } from './helpers.js';

interface Scenario {
  readonly topicAliasMaximum: number;
  readonly maximumPacketSize: number | undefined;
  readonly receiveMaximum: number;
  readonly qos: 0 | 1 | 2;
  readonly messages: readonly { readonly topic: number; readonly size: number }[];
}

const scenario: fc.Arbitrary<Scenario> = fc.record({
  topicAliasMaximum: fc.integer({ min: 0, max: 3 }),
  maximumPacketSize: fc.option(fc.integer({ min: 40, max: 160 }), { nil: undefined }),
  receiveMaximum: fc.integer({ min: 1, max: 4 }),
  qos: fc.constantFrom(0 as const, 1 as const, 2 as const),
  messages: fc.array(
    fc.record({ topic: fc.integer({ min: 0, max: 5 }), size: fc.integer({ min: 0, max: 150 }) }),
    { minLength: 1, maxLength: 25 },
  ),
});

/** Topics of different lengths, so that an alias saves different amounts. */
function topicOf(index: number): string {
  return `out/${'t'.repeat(index * 3 + 1)}`;
}

/** The size of a PUBLISH with the full topic name and no alias, as the server would send it. */
function plainSize(topic: string, payloadSize: number, qos: number): number {
  const remaining = 2 + Buffer.byteLength(topic) + (qos > 0 ? 2 : 0) + 1 + payloadSize;
  return 1 + (remaining < 128 ? 1 : 2) + remaining;
}

/** The smallest such PUBLISH can be: an empty topic name and a Topic Alias (3 bytes) instead. */
function aliasedSize(payloadSize: number, qos: number): number {
  const remaining = 2 + (qos > 0 ? 2 : 0) + 1 + 3 + payloadSize;
  // The Remaining Length field can shrink to one byte too.
  return 1 + (remaining < 128 ? 1 : 2) + remaining;
}

function run(s: Scenario): void {
  const { pool, errors } = testPool();
  const client = new TestClient(pool);
  const properties: Record<string, number> = {
    topicAliasMaximum: s.topicAliasMaximum,
    receiveMaximum: s.receiveMaximum,
  };
  if (s.maximumPacketSize !== undefined) properties.maximumPacketSize = s.maximumPacketSize;
  expect(client.connect({ clientId: 'sub', properties }).reasonCode).toBe(0);
  subscribe(client, 'out/#', s.qos);

  const sent = s.messages.map((message, index) => ({
    topic: topicOf(message.topic),
    payload: `${index}:`.padEnd(Math.max(message.size, `${index}:`.length), 'x'),
  }));
  // A client publishes, with no properties: what the subscriber gets is exactly predictable.
  const publisher = new TestClient(pool);
  publisher.connect({ clientId: 'pub' });
  sent.forEach((message, index) => {
    const extra = s.qos === 0 ? {} : { messageId: index + 1 };
    publisher.send(publishPacket(message.topic, message.payload, s.qos, extra));
    for (const ack of publisher.drain()) {
      if (ack.cmd === 'pubrec')
        publisher.send({ cmd: 'pubrel', messageId: ack.messageId as number });
    }
  });

  // The client's side: follow aliases, hold acknowledgements back to test the window, then ack.
  const aliases = new Map<number, string>();
  const received: { topic: string; payload: string }[] = [];
  const limit = s.maximumPacketSize ?? Number.POSITIVE_INFINITY;
  for (let round = 0; round < 200; round++) {
    const from = client.bytes.length;
    const packets = client.drain();
    if (packets.length === 0) break;
    for (const bytes of client.bytes.slice(from)) {
      expect(bytes.length).toBeLessThanOrEqual(limit); // [MQTT-3.1.2-24]
    }
    const publishes = packets.filter((p): p is IPublishPacket => p.cmd === 'publish');
    // Never more unacknowledged QoS 1/2 PUBLISH than the client's Receive Maximum [MQTT-3.3.4-9].
    if (s.qos > 0) expect(publishes.length).toBeLessThanOrEqual(s.receiveMaximum);
    const acks: Packet[] = [];
    for (const packet of packets) {
      if (packet.cmd === 'pubrel') {
        acks.push({ cmd: 'pubcomp', messageId: packet.messageId as number });
        continue;
      }
      if (packet.cmd !== 'publish') continue;
      const alias = packet.properties?.topicAlias;
      let topic = packet.topic;
      if (alias !== undefined) {
        expect(alias).toBeGreaterThanOrEqual(1);
        expect(alias).toBeLessThanOrEqual(s.topicAliasMaximum); // [MQTT-3.3.2-10]
        if (topic === '') {
          const known = aliases.get(alias);
          expect(known, `alias ${alias} was never announced`).toBeDefined();
          topic = known as string;
        } else {
          aliases.set(alias, topic);
        }
      }
      received.push({ topic, payload: packet.payload.toString() });
      if (packet.qos === 1) acks.push({ cmd: 'puback', messageId: packet.messageId as number });
      if (packet.qos === 2) acks.push({ cmd: 'pubrec', messageId: packet.messageId as number });
    }
    for (const ack of acks) client.send(ack);
  }

  // Each message arrives at most once, in publish order, on its own topic.
  const order = received.map((message) => Number(message.payload.split(':')[0]));
  expect(order).toEqual([...order].sort((a, b) => a - b));
  expect(new Set(order).size).toBe(order.length);
  for (const message of received) {
    expect(message.topic).toBe(sent[Number(message.payload.split(':')[0])]?.topic);
  }
  // Every message that fits even without an alias arrives; one that does not fit at all is skipped.
  sent.forEach((message, index) => {
    const size = plainSize(message.topic, Buffer.byteLength(message.payload), s.qos);
    if (size <= limit) expect(order, `message ${index} (${size} bytes)`).toContain(index);
    const smallest = aliasedSize(Buffer.byteLength(message.payload), s.qos);
    if (smallest > limit)
      expect(order, `message ${index} (${smallest} bytes)`).not.toContain(index);
  });
  // Each skipped message is counted as dropped, as too large [MQTT-3.1.2-25].
  const stats = pool.host.metrics;
  expect(stats.droppedByReason['too-large']).toBe(sent.length - received.length);
  expect(stats.messagesDropped).toBe(sent.length - received.length);
  expect(client.closed).toBe(false);
  expect(errors).toEqual([]);
}

describe('the outbound path', () => {
  it('delivers every message a subscriber may receive, with aliases it can follow, under its limits [MQTT-3.1.2-24] [MQTT-3.1.2-25] [MQTT-3.3.2-10] [MQTT-3.3.4-9]', () => {
    fc.assert(
      fc.property(scenario, (s) => run(s)),
      { numRuns: 300 },
    );
  });

  it('sends a message that fits only once its topic is replaced by an alias and the Remaining Length shrinks', () => {
    // 133 bytes with its topic name; 127 with an alias, as the Remaining Length drops to one byte.
    run({
      topicAliasMaximum: 1,
      maximumPacketSize: 127,
      receiveMaximum: 1,
      qos: 1,
      messages: [
        { topic: 1, size: 0 },
        { topic: 1, size: 117 },
        { topic: 0, size: 0 },
      ],
    });
  });

  it('the probe of the issue: Topic Alias Maximum 2, Maximum Packet Size 64, two small, two large, five small', () => {
    run({
      topicAliasMaximum: 2,
      maximumPacketSize: 64,
      receiveMaximum: 10,
      qos: 0,
      messages: [
        { topic: 0, size: 5 },
        { topic: 1, size: 5 },
        { topic: 2, size: 100 },
        { topic: 3, size: 100 },
        { topic: 0, size: 5 },
        { topic: 1, size: 5 },
        { topic: 2, size: 5 },
        { topic: 3, size: 5 },
        { topic: 4, size: 5 },
      ],
    });
  });
});
