import { isUtf8 } from 'node:buffer';
import { malformed } from './wire-error.js';

/**
 * Reads the fields of one packet's bytes, from `pos` up to `end`, and throws a {@link WireError}
 * at the first field that runs past `end` or breaks the data representation rules of MQTT 5
 * section 1.5 (and MQTT 3.1.1 section 1.5). Strings are checked, never repaired: an ill-formed
 * UTF-8 string or one holding U+0000 is refused, not rewritten [MQTT-1.5.4-1] [MQTT-1.5.4-2].
 */
export class ByteReader {
  readonly bytes: Buffer;
  pos: number;
  end: number;

  constructor(bytes: Buffer, pos: number, end: number) {
    this.bytes = bytes;
    this.pos = pos;
    this.end = end;
  }

  get left(): number {
    return this.end - this.pos;
  }

  byte(what: string): number {
    if (this.pos >= this.end) throw malformed(`${what} runs past its end`);
    return this.bytes[this.pos++] as number;
  }

  uint16(what: string): number {
    if (this.end - this.pos < 2) throw malformed(`${what} runs past its end`);
    const value = this.bytes.readUInt16BE(this.pos);
    this.pos += 2;
    return value;
  }

  uint32(what: string): number {
    if (this.end - this.pos < 4) throw malformed(`${what} runs past its end`);
    const value = this.bytes.readUInt32BE(this.pos);
    this.pos += 4;
    return value;
  }

  /** A Variable Byte Integer of at most four bytes (section 1.5.5). */
  varInt(what: string): number {
    let value = 0;
    let scale = 1;
    for (let count = 0; count < 4; count++) {
      const byte = this.byte(what);
      value += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) return value;
      scale *= 128;
    }
    throw malformed(`${what} is a Variable Byte Integer of more than four bytes`);
  }

  /** Binary Data: a two-byte length and that many bytes, as a view (section 1.5.6). */
  binary(what: string): Buffer {
    const length = this.uint16(what);
    if (this.end - this.pos < length) throw malformed(`${what} runs past its end`);
    const start = this.pos;
    this.pos += length;
    return this.bytes.subarray(start, this.pos);
  }

  /** A UTF-8 Encoded String: well-formed, without U+0000 (section 1.5.4). */
  utf8(what: string): string {
    const length = this.uint16(what);
    const start = this.pos;
    const end = start + length;
    if (end > this.end) throw malformed(`${what} runs past its end`);
    this.pos = end;
    return readUtf8(this.bytes, start, end, what);
  }

  /** The rest of the packet, as a view. */
  rest(): Buffer {
    const start = this.pos;
    this.pos = this.end;
    return this.bytes.subarray(start, this.end);
  }
}

/**
 * The string of well-formed UTF-8 bytes without U+0000; throws otherwise. Pure ASCII, the common
 * case for topics and ids, is checked byte by byte; anything else by Node's UTF-8 validator, which
 * refuses overlong forms, surrogates (U+D800..U+DFFF) and cut-short sequences.
 */
export function readUtf8(bytes: Buffer, start: number, end: number, what: string): string {
  let ascii = true;
  for (let i = start; i < end; i++) {
    const byte = bytes[i] as number;
    if (byte === 0) throw malformed(`${what} contains U+0000`);
    if (byte >= 0x80) ascii = false;
  }
  if (ascii) return bytes.toString('latin1', start, end);
  if (!isUtf8(bytes.subarray(start, end))) throw malformed(`${what} is not well-formed UTF-8`);
  return bytes.toString('utf8', start, end);
}
