/**
 * Reads the fixed header of each packet in a byte stream, so that a packet's declared size can be
 * checked before any of its body is buffered. It does not decode packets; mqtt-packet does.
 */
export class PacketFramer {
  /** Body bytes of the current packet still to come; -1 while reading a fixed header. */
  private remaining = -1;
  // A fixed header can straddle chunks: its type byte and up to four length bytes.
  private headerLength = 0;
  private length = 0;
  private multiplier = 1;
  private readonly maxPacketSize: number;

  constructor(maxPacketSize: number) {
    this.maxPacketSize = maxPacketSize;
  }

  /**
   * Scans a chunk. Returns `ok`, or the first problem: a packet larger than the limit (with its
   * declared size and the offset of its first byte in the chunk) or a malformed length.
   */
  scan(
    chunk: Buffer,
  ): { kind: 'ok' } | { kind: 'too-large'; size: number; offset: number } | { kind: 'malformed' } {
    let i = 0;
    // A fixed header that began in an earlier chunk: those bytes were parsed already, so the
    // packet counts as starting at offset 0 of this one.
    if (this.headerLength > 0) this.packetStart = 0;
    while (i < chunk.length) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, chunk.length - i);
        this.remaining -= take;
        i += take;
        if (this.remaining > 0) break;
        this.remaining = -1;
        continue;
      }
      if (this.headerLength === 0) {
        this.packetStart = i;
        this.headerLength = 1; // the type byte
        this.length = 0;
        this.multiplier = 1;
        i++;
        continue;
      }
      const byte = chunk[i++] as number;
      this.headerLength++;
      this.length += (byte & 0x7f) * this.multiplier;
      this.multiplier *= 128;
      if ((byte & 0x80) !== 0) {
        if (this.headerLength === 5) return { kind: 'malformed' }; // more than four length bytes
        continue;
      }
      const size = this.headerLength + this.length;
      if (size > this.maxPacketSize) return { kind: 'too-large', size, offset: this.packetStart };
      this.headerLength = 0;
      this.remaining = this.length === 0 ? -1 : this.length;
    }
    return OK;
  }

  /** Where the packet being read started in the last chunk (valid right after `too-large`). */
  private packetStart = 0;
}

const OK = Object.freeze({ kind: 'ok' as const });
