import { type Packet, type Parser, parser } from 'mqtt-packet';

const V4 = Object.freeze({ protocolVersion: 4 });
const V5 = Object.freeze({ protocolVersion: 5 });

let decoder: Parser = createDecoder();
let decoded: Packet | undefined;
let failure: Error | undefined;

/**
 * One mqtt-packet parser for every connection, fed one whole packet at a time (the
 * {@link PacketReader} frames them). A parser per connection costs about 1.2 KB of heap per idle
 * connection and buffers partial packets in its own list; framing first makes that unnecessary.
 */
function createDecoder(): Parser {
  const created = parser();
  created.on('packet', (packet: Packet) => {
    decoded = packet;
  });
  created.on('error', (error: Error) => {
    failure ??= error;
  });
  return created;
}

/**
 * Decodes the bytes of exactly one packet for a protocol version (the version only matters after
 * CONNECT: a CONNECT says its own). Returns the packet, or an Error for malformed bytes.
 */
export function decodePacket(bytes: Buffer, version: 4 | 5): Packet | Error {
  decoded = undefined;
  failure = undefined;
  (decoder as Parser & { settings: object }).settings = version === 5 ? V5 : V4;
  const left = decoder.parse(bytes);
  const packet = decoded;
  const error = failure;
  decoded = undefined;
  failure = undefined;
  if (error === undefined && packet !== undefined && left === 0) return packet;
  // A failed parse can leave state behind in the parser: the next packet gets a fresh one.
  decoder = createDecoder();
  return error ?? new Error('malformed packet: its contents do not fill its declared length');
}
