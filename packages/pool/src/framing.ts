/**
 * How {@link PacketReader.read} stopped before the end of a chunk, if it did: a packet larger than
 * the limit (with its declared size and where it starts in the chunk), a malformed length, or the
 * sink asked it to stop (the bytes from `offset` on are not read yet).
 */
export type ReadProblem =
  | { kind: 'too-large'; size: number; offset: number }
  | { kind: 'malformed' }
  | { kind: 'stopped'; offset: number }
  | undefined;

/** Where a {@link PacketReader} hands whole packets. */
export interface PacketSink {
  /** Takes the bytes of one whole packet; returns false to stop reading the chunk. */
  onPacketBytes(bytes: Buffer): boolean;
}

/**
 * Cuts a byte stream into whole packets. It reads each packet's fixed header first, so that a
 * packet's declared size is checked before any of its body is buffered, and then hands on the
 * packet's bytes: a view into the chunk when the packet lies within it (no copy), or a buffer of
 * exactly the declared size filled from several chunks. Decoding is left to mqtt-packet.
 *
 * Between packets a reader holds nothing ({@link idle}), so one reader can serve any stream
 * whose last chunk ended on a packet boundary: a connection keeps a reader of its own only while
 * a packet straddles its chunks.
 */
export class PacketReader {
  // A fixed header can straddle chunks: its type byte and up to four length bytes, kept in
  // number fields (a 5-byte Buffer per connection costs about 180 bytes of heap).
  private typeByte = 0;
  private lengthBytes = 0;
  private headerLength = 0;
  private length = 0;
  private lengthScale = 1;
  private byteScale = 1;
  /** The packet being filled from several chunks, and how much of it has arrived. */
  private partial: Buffer | undefined = undefined;
  private filled = 0;

  /**
   * True when no packet is partly read. It is true whenever the sink is called, too: the reader
   * is done with a packet before it hands it on.
   */
  get idle(): boolean {
    return this.headerLength === 0 && this.partial === undefined;
  }

  /**
   * Reads a chunk and hands every packet it completes to `sink`, in order, until the sink returns
   * false. A packet whose declared size passes `maxPacketSize` stops it. Returns where it stopped
   * short of the end, if it did (see {@link ReadProblem}); after a `stopped`, the rest of the
   * chunk is read by a later call.
   */
  read(chunk: Buffer, sink: PacketSink, maxPacketSize: number): ReadProblem {
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
        if (!sink.onPacketBytes(partial)) return stopped(i);
        continue;
      }
      const start = i - this.headerLength; // negative when the header began in an earlier chunk
      const byte = chunk[i++] as number;
      if (this.headerLength++ === 0) {
        this.typeByte = byte;
        this.lengthBytes = 0;
        this.length = 0;
        this.lengthScale = 1;
        this.byteScale = 1;
        continue;
      }
      this.lengthBytes += byte * this.byteScale; // the raw bytes, for a packet that straddles chunks
      this.byteScale *= 256;
      this.length += (byte & 0x7f) * this.lengthScale;
      this.lengthScale *= 128;
      if ((byte & 0x80) !== 0) {
        if (this.headerLength === 5) return { kind: 'malformed' }; // more than four length bytes
        continue;
      }
      const size = this.headerLength + this.length;
      if (size > maxPacketSize) return { kind: 'too-large', size, offset: Math.max(0, start) };
      const headerLength = this.headerLength;
      this.headerLength = 0;
      if (start >= 0 && start + size <= chunk.length) {
        i = start + size;
        if (!sink.onPacketBytes(chunk.subarray(start, i))) return stopped(i);
        continue;
      }
      const packet = Buffer.allocUnsafe(size);
      packet[0] = this.typeByte;
      for (
        let k = 1, bytes = this.lengthBytes;
        k < headerLength;
        k++, bytes = Math.floor(bytes / 256)
      ) {
        packet[k] = bytes % 256;
      }
      this.partial = packet;
      this.filled = headerLength;
      if (size === headerLength) {
        this.partial = undefined;
        if (!sink.onPacketBytes(packet)) return stopped(i);
      }
    }
    return undefined;
  }
}

function stopped(offset: number): ReadProblem {
  return { kind: 'stopped', offset };
}
