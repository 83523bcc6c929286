/**
 * A tiny byte writer for the malformed-packet table, written from MQTT 5 section 1.5 and MQTT 3.1.1
 * section 1.5. It only counts lengths and writes integers: every field, flag and property identifier
 * of a case is still written by hand in `cases.ts`. It deliberately does not use mqtt-packet, whose
 * leniency is what the table tests. Everything is a hex string: lower case, one space between bytes.
 */

/** Joins hex pieces and normalises them; throws on anything that is not whole bytes of hex. */
export function hex(...parts: readonly string[]): string {
  const joined = parts.join('').replace(/\s+/g, '').toLowerCase();
  if (!/^(?:[0-9a-f]{2})*$/.test(joined))
    throw new Error(`not whole bytes of hex: ${parts.join(' ')}`);
  return joined.replace(/(..)(?!$)/g, '$1 ');
}

/** The bytes of a hex string. */
export function toBuffer(bytes: string): Buffer {
  return Buffer.from(bytes.replace(/\s+/g, ''), 'hex');
}

/** A buffer (or byte array) as a hex string. */
export function toHex(bytes: Buffer | readonly number[]): string {
  return hex(Buffer.from(bytes as Buffer).toString('hex'));
}

/** The number of bytes of a hex string. */
export function byteLength(bytes: string): number {
  return bytes.replace(/\s+/g, '').length / 2;
}

/** One byte. */
export function u8(value: number): string {
  if (!Number.isInteger(value) || value < 0 || value > 0xff)
    throw new Error(`not a byte: ${value}`);
  return value.toString(16).padStart(2, '0');
}

/** A Two Byte Integer, big-endian (section 1.5.2). */
export function u16(value: number): string {
  return hex(u8(value >> 8), u8(value & 0xff));
}

/** A Four Byte Integer, big-endian (section 1.5.3). */
export function u32(value: number): string {
  return hex(u16(Math.floor(value / 0x10000)), u16(value % 0x10000));
}

/** A Variable Byte Integer in the fewest bytes (section 1.5.5). */
export function vbi(value: number): string {
  if (!Number.isInteger(value) || value < 0 || value > 268_435_455) throw new Error(`VBI ${value}`);
  const out: string[] = [];
  let rest = value;
  do {
    let byte = rest % 128;
    rest = Math.floor(rest / 128);
    if (rest > 0) byte |= 0x80;
    out.push(u8(byte));
  } while (rest > 0);
  return hex(...out);
}

/** The UTF-8 bytes of well-formed text, without a length. */
export function utf8(text: string): string {
  return hex(Buffer.from(text, 'utf8').toString('hex'));
}

/** Raw bytes behind a Two Byte Integer length: Binary Data, or a string whose bytes are given. */
export function lenPrefixed(...bytes: readonly string[]): string {
  const body = hex(...bytes);
  return hex(u16(byteLength(body)), body);
}

/** A UTF-8 Encoded String (section 1.5.4) of well-formed text. */
export function str(text: string): string {
  return lenPrefixed(utf8(text));
}

/** A control packet: the first byte (type and flags), the Remaining Length, then the body. */
export function packet(first: number, ...body: readonly string[]): string {
  const rest = hex(...body);
  return hex(u8(first), vbi(byteLength(rest)), rest);
}

/** An MQTT 5 property section: the Property Length, then the properties (section 2.2.2). */
export function props(...properties: readonly string[]): string {
  const body = hex(...properties);
  return hex(vbi(byteLength(body)), body);
}

/** Whether a packet's Remaining Length matches its bytes: catches a typo in a hand-written length. */
export function remainingLengthMatches(bytes: string): boolean {
  const all = bytes.split(' ').map((b) => Number.parseInt(b, 16));
  let length = 0;
  let multiplier = 1;
  let i = 1;
  for (; i < all.length && i <= 4; i++) {
    const byte = all[i] as number;
    length += (byte & 0x7f) * multiplier;
    multiplier *= 128;
    if ((byte & 0x80) === 0) break;
  }
  return byteLength(bytes) === i + 1 + length;
}
