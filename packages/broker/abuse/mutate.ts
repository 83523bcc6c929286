/**
 * Mutated MQTT packets for the fuzz case: valid packets made by mqtt-packet's `generate` (MQTT 5
 * and 3.1.1, every packet type a client may send, with properties), then damaged with bit flips,
 * truncation, changed length fields, changed bytes, inserted or deleted bytes, a changed packet
 * type, or the head of one packet joined to the tail of another. All of it from a seeded PRNG, so a
 * run can be replayed.
 */
import type { Packet } from 'mqtt-packet';
import { encode } from './client.ts';
import { below } from './prng.ts';

/** The packets a client may send, in one protocol version, as bytes. */
export interface Templates {
  readonly version: 4 | 5;
  readonly connects: readonly Buffer[];
  readonly others: readonly Buffer[];
}

function publish(extra: Record<string, unknown>): Packet {
  return {
    cmd: 'publish',
    topic: 'fuzz/a/b',
    payload: Buffer.from('hello fuzz'),
    qos: 0,
    retain: false,
    dup: false,
    ...extra,
  } as Packet;
}

/** The valid packets the mutations start from. */
export function templates(version: 4 | 5): Templates {
  const v5 = version === 5;
  const connect = (extra: Record<string, unknown>): Packet =>
    ({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: version,
      clientId: 'fuzz',
      clean: true,
      keepalive: 30,
      ...extra,
    }) as Packet;
  const connects: Packet[] = [
    connect({}),
    connect({ username: 'user', password: Buffer.from('pass') }),
    connect({
      will: {
        topic: 'fuzz/will',
        payload: Buffer.from('gone'),
        qos: 1,
        retain: false,
        ...(v5 ? { properties: { willDelayInterval: 0, contentType: 'text/plain' } } : {}),
      },
    }),
    ...(v5
      ? [
          connect({
            properties: {
              sessionExpiryInterval: 0,
              receiveMaximum: 100,
              maximumPacketSize: 65536,
              topicAliasMaximum: 10,
              requestProblemInformation: true,
              userProperties: { k: 'v' },
            },
          }),
        ]
      : []),
  ];
  const others: Packet[] = [
    publish({}),
    publish({ qos: 1, messageId: 7 }),
    publish({ qos: 2, messageId: 8 }),
    publish({ qos: 1, messageId: 9, retain: true, topic: 'fuzz/retained' }),
    publish({ payload: Buffer.alloc(300, 0x61) }),
    ...(v5
      ? [
          publish({
            qos: 1,
            messageId: 10,
            properties: {
              payloadFormatIndicator: true,
              messageExpiryInterval: 60,
              contentType: 'text/plain',
              responseTopic: 'fuzz/reply',
              correlationData: Buffer.from([1, 2, 3]),
              userProperties: { a: 'b', c: ['d', 'e'] },
            },
          }),
          publish({ topic: 'fuzz/aliased', properties: { topicAlias: 1 } }),
          publish({ topic: '', properties: { topicAlias: 1 } }),
        ]
      : []),
    {
      cmd: 'subscribe',
      messageId: 11,
      subscriptions: [
        { topic: 'fuzz/+/x', qos: 1 },
        { topic: 'fuzz/#', qos: 2 },
      ],
    } as Packet,
    ...(v5
      ? [
          {
            cmd: 'subscribe',
            messageId: 12,
            subscriptions: [{ topic: '$share/g/fuzz/s', qos: 1, nl: false, rap: true, rh: 1 }],
            properties: { subscriptionIdentifier: 5, userProperties: { s: 't' } },
          } as Packet,
        ]
      : []),
    { cmd: 'unsubscribe', messageId: 13, unsubscriptions: ['fuzz/#', 'fuzz/+/x'] } as Packet,
    { cmd: 'puback', messageId: 14, ...(v5 ? { reasonCode: 0x10 } : {}) } as Packet,
    { cmd: 'pubrec', messageId: 15 } as Packet,
    { cmd: 'pubrel', messageId: 8, ...(v5 ? { reasonCode: 0 } : {}) } as Packet,
    { cmd: 'pubcomp', messageId: 16 } as Packet,
    { cmd: 'pingreq' } as Packet,
    ...(v5
      ? [
          {
            cmd: 'disconnect',
            reasonCode: 0x04,
            properties: { sessionExpiryInterval: 0, reasonString: 'bye' },
          } as Packet,
          {
            cmd: 'auth',
            reasonCode: 0x18,
            properties: {
              authenticationMethod: 'SCRAM-SHA-1',
              authenticationData: Buffer.from('x'),
            },
          } as Packet,
        ]
      : [{ cmd: 'disconnect' } as Packet]),
    connect({}),
  ];
  return {
    version,
    connects: connects.map((packet) => encode(packet, version)),
    others: others.map((packet) => encode(packet, version)),
  };
}

/** The remaining-length field of a packet: where its value ends, and the value. */
function lengthField(bytes: Buffer): { end: number; value: number } {
  let value = 0;
  let multiplier = 1;
  let at = 1;
  while (at < bytes.length && at < 5) {
    const byte = bytes[at++] as number;
    value += (byte & 0x7f) * multiplier;
    multiplier *= 128;
    if ((byte & 0x80) === 0) break;
  }
  return { end: at, value };
}

function varint(value: number): Buffer {
  const bytes: number[] = [];
  do {
    let byte = value % 128;
    value = Math.floor(value / 128);
    if (value > 0) byte |= 0x80;
    bytes.push(byte);
  } while (value > 0);
  return Buffer.from(bytes);
}

/** The kinds of damage, for the record. */
export const MUTATIONS = [
  'bit flips',
  'bit flips past the fixed header',
  'truncation',
  'length field changed',
  'byte replaced',
  'bytes inserted',
  'byte deleted',
  'packet type changed',
  'two packets spliced',
] as const;

/**
 * A damaged copy of `template` (never the template itself, never an unchanged copy). `others` are
 * other templates, for splicing. Declared lengths stay below a few KiB: a length near the
 * broker's packet limit would only make it wait for bytes that never come.
 */
export function mutate(template: Buffer, others: readonly Buffer[], random: () => number): Buffer {
  const bytes = Buffer.from(template);
  const kind = below(random, MUTATIONS.length);
  switch (kind) {
    case 0: {
      for (let i = 0, n = 1 + below(random, 4); i < n; i++) {
        const at = below(random, bytes.length);
        bytes[at] = (bytes[at] as number) ^ (1 << below(random, 8));
      }
      return bytes;
    }
    case 1: {
      const { end } = lengthField(bytes);
      if (end >= bytes.length) return mutate(template, others, random);
      for (let i = 0, n = 1 + below(random, 3); i < n; i++) {
        const at = end + below(random, bytes.length - end);
        bytes[at] = (bytes[at] as number) ^ (1 << below(random, 8));
      }
      return bytes;
    }
    case 2:
      return bytes.length < 2
        ? Buffer.from([bytes[0] as number])
        : bytes.subarray(0, 1 + below(random, bytes.length - 1));
    case 3: {
      const { end, value } = lengthField(bytes);
      let declared: number;
      const roll = random();
      if (roll < 0.05) {
        // A remaining length of five bytes: malformed in every version.
        return Buffer.concat([
          bytes.subarray(0, 1),
          Buffer.from([0xff, 0xff, 0xff, 0xff, 0x01]),
          bytes.subarray(end),
        ]);
      }
      if (roll < 0.6) declared = Math.max(0, value + below(random, 17) - 8);
      else declared = below(random, 2 * value + 16);
      if (declared === value) declared = value + 1;
      return Buffer.concat([bytes.subarray(0, 1), varint(declared), bytes.subarray(end)]);
    }
    case 4: {
      const at = below(random, bytes.length);
      const choices = [0x00, 0xff, 0x7f, 0x80, below(random, 256)];
      const next = choices[below(random, choices.length)] as number;
      bytes[at] = next === bytes[at] ? next ^ 0x01 : next;
      return bytes;
    }
    case 5: {
      const at = 1 + below(random, bytes.length);
      const inserted = Buffer.from(
        Array.from({ length: 1 + below(random, 4) }, () => below(random, 256)),
      );
      return Buffer.concat([bytes.subarray(0, at), inserted, bytes.subarray(at)]);
    }
    case 6: {
      if (bytes.length < 2) return mutate(template, others, random);
      const at = 1 + below(random, bytes.length - 1);
      return Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1)]);
    }
    case 7: {
      const type = below(random, 16);
      const flags = random() < 0.5 ? (bytes[0] as number) & 0x0f : below(random, 16);
      const header = (type << 4) | flags;
      bytes[0] = header === bytes[0] ? header ^ 0x10 : header;
      return bytes;
    }
    default: {
      const other = others[below(random, others.length)] as Buffer;
      const head = bytes.subarray(0, 1 + below(random, bytes.length));
      const tail = other.subarray(below(random, other.length));
      const spliced = Buffer.concat([head, tail]);
      return spliced.equals(template) ? mutate(template, others, random) : spliced;
    }
  }
}
