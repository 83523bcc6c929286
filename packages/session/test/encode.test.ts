import { generate, type Packet, parser } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { type AckType, encodeAck } from '../src/encode.js';

describe('hand-encoded acks', () => {
  for (const type of ['puback', 'pubrec', 'pubrel', 'pubcomp'] as AckType[]) {
    for (const version of [4, 5] as const) {
      it(`${type} v${version}: the same bytes as mqtt-packet, and they decode back`, () => {
        for (const packetId of [1, 0x1234, 65535]) {
          const codes = type === 'puback' || type === 'pubrec' ? [0, 0x10, 0x97] : [0, 0x92];
          for (const reasonCode of version === 5 ? codes : [0]) {
            const packet = { cmd: type, messageId: packetId, reasonCode } as Packet;
            const bytes = encodeAck(type, packetId, reasonCode, version);
            expect(bytes.equals(generate(packet, { protocolVersion: version }))).toBe(true);
            const decoded: Packet[] = [];
            const decoder = parser({ protocolVersion: version });
            decoder.on('packet', (p: Packet) => decoded.push(p));
            decoder.parse(bytes);
            expect(decoded).toMatchObject([{ cmd: type, messageId: packetId }]);
            if (version === 5) expect(decoded[0]).toMatchObject({ reasonCode });
          }
        }
      });
    }
  }
});
