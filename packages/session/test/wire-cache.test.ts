import { generate, type IPublishPacket } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { sharedForm, withPacketId } from '../src/wire-cache.js';

function message(payloadSize: number, topic = 'a/topic/ü') {
  return {
    topic,
    payload: Buffer.alloc(payloadSize, 0x61),
    qos: 2 as const,
    retain: false,
    properties: { contentType: 'text/plain', userProperties: { k: 'v' } },
    expiresAt: undefined,
    sender: undefined,
    senderContext: undefined,
    wireCache: undefined as unknown,
  };
}

describe('shared PUBLISH forms', () => {
  // Payload sizes that give one, two and three remaining-length bytes.
  for (const size of [10, 300, 20_000]) {
    for (const version of [4, 5] as const) {
      it(`writes the packet id and DUP exactly where mqtt-packet would (v${version}, ${size} bytes)`, () => {
        const m = message(size);
        for (const qos of [1, 2] as const) {
          for (const dup of [false, true]) {
            const expected: IPublishPacket = {
              cmd: 'publish',
              topic: m.topic,
              payload: m.payload,
              qos,
              retain: true,
              dup,
              messageId: 0xbeef,
            };
            if (version === 5) expected.properties = m.properties;
            const copy = withPacketId(sharedForm(m, version, qos, true), 0xbeef, dup);
            expect(copy.equals(generate(expected, { protocolVersion: version }))).toBe(true);
          }
        }
      });
    }
  }

  it('encodes each form once and leaves the cached form untouched', () => {
    const m = message(10);
    const form = sharedForm(m, 5, 1, false);
    expect(sharedForm(m, 5, 1, false)).toBe(form);
    const before = Buffer.from(form);
    withPacketId(form, 7, true);
    expect(form.equals(before)).toBe(true);
    expect(sharedForm(m, 4, 1, false)).not.toBe(form);
  });
});
