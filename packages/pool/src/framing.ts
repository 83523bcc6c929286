/** What {@link PacketReader.read} found wrong, if anything. */
export type ReadProblem =
  | { kind: 'too-large'; size: number; offset: number }
  | { kind: 'malformed' }
  | undefined;

/**
 * Cuts a byte stream into whole packets. It reads each packet's fixed header first, so that a
 * packet's declared size is checked before any of its body is buffered, and then hands on the
 * packet's bytes: a view into the chunk when the packet lies within it (no copy), or a buffer of
 * exactly the declared size filled from several chunks. Decoding is left to mqtt-packet.
 */
export class PacketReader {
  private readonly maxPacketSize: number;
  // A fixed header can straddle chunks: its type byte and up to four length bytes.
  private readonly header = Buffer.alloc(5);
  private headerLength = 0;
  private length = 0;
  private multiplier = 1;
  /** The packet being filled from several chunks, and how much of it has arrived. */
  private partial: Buffer | undefined = undefined;
  private filled = 0;

  constructor(maxPacketSize: number) {
    this.maxPacketSize = maxPacketSize;
  }

  /**
   * Reads a chunk and calls `onPacket` for every packet it completes, in order, until `onPacket`
   * returns false. Returns the first problem met: a packet larger than the limit (with its
   * declared size and where it starts in the chunk) or a malformed length.
   */
  read(chunk: Buffer, onPacket: (bytes: Buffer) => boolean): ReadProblem {
    let i = 0;
    while (i < chunk.length) {
      const partial = this.partial;
      if (partial !== undefined) {
        const take = Math.min(partial.length - this.filled, chunk.length - i);
        chunk.copy(partial, this.filled, i, i + take);
        this.filled += take;
        i += take;
        if (this.filled < partial.length) return undefined;
        this.partial = undefined;
        if (!onPacket(partial)) return undefined;
        continue;
      }
      const start = i - this.headerLength; // negative when the header began in an earlier chunk
      const byte = chunk[i++] as number;
      this.header[this.headerLength++] = byte;
      if (this.headerLength === 1) {
        this.length = 0;
        this.multiplier = 1;
        continue;
      }
      this.length += (byte & 0x7f) * this.multiplier;
      this.multiplier *= 128;
      if ((byte & 0x80) !== 0) {
        if (this.headerLength === 5) return { kind: 'malformed' }; // more than four length bytes
        continue;
      }
      const size = this.headerLength + this.length;
      if (size > this.maxPacketSize) return { kind: 'too-large', size, offset: Math.max(0, start) };
      const headerLength = this.headerLength;
      this.headerLength = 0;
      if (start >= 0 && start + size <= chunk.length) {
        i = start + size;
        if (!onPacket(chunk.subarray(start, i))) return undefined;
        continue;
      }
      const packet = Buffer.allocUnsafe(size);
      this.header.copy(packet, 0, 0, headerLength);
      this.partial = packet;
      this.filled = headerLength;
      if (size === headerLength) {
        this.partial = undefined;
        if (!onPacket(packet)) return undefined;
      }
    }
    return undefined;
  }
}
