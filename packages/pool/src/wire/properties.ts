import type { ByteReader } from './reader.js';
import { malformed, protocolError } from './wire-error.js';

/** Where a client may put properties: the packets it sends, and the Will Properties of CONNECT. */
export type PropertyPlace =
  | 'connect'
  | 'will'
  | 'publish'
  | 'puback'
  | 'pubrec'
  | 'pubrel'
  | 'pubcomp'
  | 'subscribe'
  | 'unsubscribe'
  | 'disconnect'
  | 'auth';

type ValueType = 'byte' | 'flag' | 'uint16' | 'uint32' | 'varint' | 'utf8' | 'binary' | 'pair';

interface PropertySpec {
  /** The property's name in mqtt-packet's packet objects, which the session reads. */
  readonly name: string;
  readonly type: ValueType;
  /** Where a client may send it (MQTT 5 section 2.2.2.2 and the section of each packet). */
  readonly places: readonly PropertyPlace[];
  /** False for the properties that may appear more than once (User Property). */
  readonly once: boolean;
  /** Whether it travels with an application message unaltered (PUBLISH and Will only). */
  readonly forwarded: boolean;
}

const ACKS: readonly PropertyPlace[] = ['puback', 'pubrec', 'pubrel', 'pubcomp'];

function spec(
  name: string,
  type: ValueType,
  places: readonly PropertyPlace[],
  forwarded = false,
): PropertySpec {
  return { name, type, places, once: type !== 'pair', forwarded };
}

/**
 * The properties a client may send, by identifier (MQTT 5 section 2.2.2.2). Those only a server
 * sends (Assigned Client Identifier, Server Keep Alive, Response Information, Maximum QoS, Retain
 * Available and the availability flags) are left out: from a client they are Malformed.
 * `flag` is a Byte whose only values are 0 and 1.
 */
const PROPERTIES: ReadonlyMap<number, PropertySpec> = new Map([
  [0x01, spec('payloadFormatIndicator', 'flag', ['publish', 'will'], true)],
  [0x02, spec('messageExpiryInterval', 'uint32', ['publish', 'will'])],
  [0x03, spec('contentType', 'utf8', ['publish', 'will'], true)],
  [0x08, spec('responseTopic', 'utf8', ['publish', 'will'], true)],
  [0x09, spec('correlationData', 'binary', ['publish', 'will'], true)],
  [0x0b, spec('subscriptionIdentifier', 'varint', ['publish', 'subscribe'])],
  [0x11, spec('sessionExpiryInterval', 'uint32', ['connect', 'disconnect'])],
  [0x15, spec('authenticationMethod', 'utf8', ['connect', 'auth'])],
  [0x16, spec('authenticationData', 'binary', ['connect', 'auth'])],
  [0x17, spec('requestProblemInformation', 'flag', ['connect'])],
  [0x18, spec('willDelayInterval', 'uint32', ['will'])],
  [0x19, spec('requestResponseInformation', 'flag', ['connect'])],
  [0x1c, spec('serverReference', 'utf8', ['disconnect'])],
  [0x1f, spec('reasonString', 'utf8', [...ACKS, 'disconnect', 'auth'])],
  [0x21, spec('receiveMaximum', 'uint16', ['connect'])],
  [0x22, spec('topicAliasMaximum', 'uint16', ['connect'])],
  [0x23, spec('topicAlias', 'uint16', ['publish'])],
  [
    0x26,
    spec(
      'userProperties',
      'pair',
      ['connect', 'will', 'publish', ...ACKS, 'subscribe', 'unsubscribe', 'disconnect', 'auth'],
      true,
    ),
  ],
  [0x27, spec('maximumPacketSize', 'uint32', ['connect'])],
]);

/** The properties read, in mqtt-packet's shape; `forwardedBytes` for PUBLISH and Will only. */
export interface ReadProperties {
  readonly properties: Record<string, unknown> | undefined;
  /**
   * The encoded properties that travel with the message unaltered, in the order the client sent
   * them, so that they are forwarded byte for byte [MQTT-3.3.2-18]: a view when they lie together.
   */
  readonly forwardedBytes: Buffer | undefined;
}

const NO_PROPERTIES: ReadProperties = Object.freeze({
  properties: undefined,
  forwardedBytes: undefined,
});

/**
 * Reads a Property Length and the properties it spans (MQTT 5 section 2.2.2). Throws a
 * WireError for a Property Length past the packet, a property past the Property Length, a property
 * not allowed in this place (Malformed), a property given twice that may appear once (Protocol
 * Error), and values that the specification rules out (0x82).
 */
export function readProperties(reader: ByteReader, place: PropertyPlace): ReadProperties {
  const length = reader.varInt('the Property Length');
  if (length === 0) return NO_PROPERTIES;
  const end = reader.pos + length;
  if (end > reader.end) throw malformed('the Property Length runs past the end of the packet');
  const packetEnd = reader.end;
  reader.end = end; // a property value past the Property Length is Malformed, not payload
  const properties: Record<string, unknown> = {};
  let seen = 0; // bit i: property 2^i seen, for the ids below 32
  let seenHigh = 0; // the same for the ids 32 to 63
  let forwarded: Buffer[] | undefined;
  let runStart = -1;
  let runEnd = -1;
  while (reader.pos < end) {
    const start = reader.pos;
    const id = reader.varInt('a property identifier');
    const idEnd = reader.pos;
    const property = PROPERTIES.get(id);
    if (property === undefined || !property.places.includes(place)) {
      throw malformed(`property 0x${id.toString(16)} is not allowed in ${placeName(place)}`);
    }
    if (property.once) {
      const bit = 1 << (id & 31);
      const seenBits = id < 32 ? seen : seenHigh;
      if ((seenBits & bit) !== 0) throw protocolError(`${property.name} given more than once`);
      if (id < 32) seen |= bit;
      else seenHigh |= bit;
    }
    readValue(reader, property, properties);
    if (property.forwarded && (place === 'publish' || place === 'will')) {
      if (idEnd - start > 1) {
        // An identifier in more bytes than it needs (accepted, section 1.5.5) goes on in one:
        // the server sends the fewest [MQTT-1.5.5-1], and its subscribers' decoders expect it.
        forwarded ??= [];
        if (runStart !== -1) forwarded.push(reader.bytes.subarray(runStart, runEnd));
        forwarded.push(Buffer.from([id]));
        runStart = idEnd;
        runEnd = reader.pos;
      } else if (start === runEnd) {
        runEnd = reader.pos;
      } else {
        if (runStart !== -1) {
          forwarded ??= [];
          forwarded.push(reader.bytes.subarray(runStart, runEnd));
        }
        runStart = start;
        runEnd = reader.pos;
      }
    }
  }
  reader.end = packetEnd;
  let forwardedBytes: Buffer | undefined;
  if (runStart !== -1) {
    const last = reader.bytes.subarray(runStart, runEnd);
    forwardedBytes = forwarded === undefined ? last : Buffer.concat([...forwarded, last]);
  }
  return { properties, forwardedBytes };
}

function readValue(
  reader: ByteReader,
  property: PropertySpec,
  into: Record<string, unknown>,
): void {
  const name = property.name;
  switch (property.type) {
    case 'flag': {
      const value = reader.byte(name);
      if (value > 1) throw protocolError(`${name} must be 0 or 1, not ${value}`);
      into[name] = value === 1;
      return;
    }
    case 'byte':
      into[name] = reader.byte(name);
      return;
    case 'uint16': {
      const value = reader.uint16(name);
      // A Receive Maximum of 0 is a Protocol Error (section 3.1.2.11.3).
      if (value === 0 && name === 'receiveMaximum') throw protocolError(`${name} of 0`);
      into[name] = value;
      return;
    }
    case 'uint32': {
      const value = reader.uint32(name);
      // A Maximum Packet Size of 0 is a Protocol Error (section 3.1.2.11.4).
      if (value === 0 && name === 'maximumPacketSize') throw protocolError(`${name} of 0`);
      into[name] = value;
      return;
    }
    case 'varint':
      into[name] = reader.varInt(name);
      return;
    case 'utf8':
      into[name] = reader.utf8(name);
      return;
    case 'binary':
      into[name] = reader.binary(name);
      return;
    case 'pair': {
      const key = reader.utf8('a User Property name');
      const value = reader.utf8('a User Property value');
      // No prototype: a User Property named `__proto__` is just a name.
      into.userProperties ??= Object.create(null);
      const pairs = into.userProperties as Record<string, string | string[]>;
      const had = pairs[key];
      if (had === undefined) pairs[key] = value;
      else if (Array.isArray(had)) had.push(value);
      else pairs[key] = [had, value];
      return;
    }
  }
}

function placeName(place: PropertyPlace): string {
  return place === 'will' ? 'the Will Properties' : place.toUpperCase();
}
