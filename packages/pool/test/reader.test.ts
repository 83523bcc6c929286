import fc from 'fast-check';
import { generate, type Packet } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { PacketReader } from '../src/framing.js';
import { decodePacket } from '../src/wire/decode.js';
import { WireError } from '../src/wire/wire-error.js';

const packets: Packet[] = [
  { cmd: 'pingreq' },
  {
    cmd: 'publish',
    topic: 'a/b',
    payload: Buffer.alloc(200, 1),
    qos: 1,
    messageId: 3,
    retain: false,
    dup: false,
  },
  { cmd: 'puback', messageId: 3 },
  {
    cmd: 'publish',
    topic: 'big',
    payload: Buffer.alloc(20_000, 2),
    qos: 0,
    retain: true,
    dup: false,
  },
  { cmd: 'subscribe', messageId: 4, subscriptions: [{ topic: 'x/#', qos: 2 }] },
];
const stream = Buffer.concat(packets.map((p) => generate(p)));

function readAll(chunks: Buffer[], max = 1_000_000): { bytes: Buffer[]; problems: unknown[] } {
  const reader = new PacketReader();
  const bytes: Buffer[] = [];
  const problems: unknown[] = [];
  for (const chunk of chunks) {
    const problem = reader.read(
      chunk,
      {
        onPacketBytes: (packet) => {
          bytes.push(Buffer.from(packet));
          return true;
        },
      },
      max,
    );
    if (problem !== undefined) problems.push(problem);
  }
  return { bytes, problems };
}

describe('PacketReader', () => {
  it('cuts any split of a stream into the same whole packets', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: stream.length - 1 }), { maxLength: 30 }),
        (cuts) => {
          const points = [0, ...cuts.sort((a, b) => a - b), stream.length];
          const chunks = points.slice(1).map((end, i) => stream.subarray(points[i], end));
          const { bytes, problems } = readAll(chunks);
          expect(problems).toEqual([]);
          expect(bytes.map((b) => decodePacket(b, 4))).toMatchObject(
            packets.map((p) => ({ cmd: p.cmd })),
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it('refuses a packet over the limit from its header alone, saying where it starts', () => {
    const big = generate({
      cmd: 'publish',
      topic: 't',
      payload: Buffer.alloc(500),
      qos: 0,
      retain: false,
      dup: false,
    });
    const ping = generate({ cmd: 'pingreq' });
    const { bytes, problems } = readAll([Buffer.concat([ping, big.subarray(0, 3)])], 100);
    expect(bytes).toHaveLength(1);
    expect(problems).toEqual([{ kind: 'too-large', size: big.length, offset: 2 }]);
  });

  it('calls a remaining length of more than four bytes malformed', () => {
    expect(readAll([Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01])]).problems).toEqual([
      { kind: 'malformed' },
    ]);
  });

  it('decodes again cleanly after a malformed packet', () => {
    const connect = generate({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 5,
      clientId: 'x',
      clean: true,
      keepalive: 0,
    });
    const bad = Buffer.from(connect);
    bad[8] = 6; // protocol level 6
    expect(() => decodePacket(bad, 4)).toThrow(WireError);
    expect(decodePacket(connect, 4)).toMatchObject({
      cmd: 'connect',
      clientId: 'x',
      protocolVersion: 5,
    });
    expect(() => decodePacket(connect.subarray(0, connect.length - 1), 4)).toThrow(WireError);
    expect(decodePacket(connect, 4)).toMatchObject({ cmd: 'connect' });
  });
});
