/**
 * Splits a byte stream into MQTT frames by the fixed header alone (type, flags, remaining length),
 * without decoding them: cheap enough to count 64,000 SUBACKs without slowing the client that
 * measures how long they take.
 */
export class FrameReader {
  private buffer: Buffer = Buffer.alloc(0);
  private readonly onFrame: (type: number, body: Buffer) => void;

  /** `onFrame` gets each frame's packet type (1 to 15) and its body (after the fixed header). */
  constructor(onFrame: (type: number, body: Buffer) => void) {
    this.onFrame = onFrame;
  }

  push(chunk: Buffer): void {
    let data = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    let offset = 0;
    for (;;) {
      if (data.length - offset < 2) break;
      let length = 0;
      let multiplier = 1;
      let at = offset + 1;
      let complete = false;
      for (let i = 0; i < 4 && at < data.length; i++) {
        const byte = data[at++] as number;
        length += (byte & 0x7f) * multiplier;
        multiplier *= 128;
        if ((byte & 0x80) === 0) {
          complete = true;
          break;
        }
      }
      if (!complete || data.length - at < length) break;
      const type = (data[offset] as number) >> 4;
      this.onFrame(type, data.subarray(at, at + length));
      offset = at + length;
    }
    data = data.subarray(offset);
    // Keep a copy of a partial frame only: a subarray would pin the whole chunk.
    this.buffer = data.length === 0 ? Buffer.alloc(0) : Buffer.from(data);
  }
}

/** MQTT packet types, as the fixed header numbers them. */
export const PacketType = {
  connect: 1,
  connack: 2,
  publish: 3,
  puback: 4,
  pubrec: 5,
  pubrel: 6,
  pubcomp: 7,
  subscribe: 8,
  suback: 9,
  unsubscribe: 10,
  unsuback: 11,
  pingreq: 12,
  pingresp: 13,
  disconnect: 14,
  auth: 15,
} as const;
