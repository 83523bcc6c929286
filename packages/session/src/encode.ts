import type { MessageProperties, ProtocolVersion } from '@mqtt-sessions/protocol';
import type { Packet } from 'mqtt-packet';
import generate from 'mqtt-packet/generate.js';

/** Thrown when mqtt-packet cannot encode a packet the session built: a bug, never client input. */
export class EncodeError extends Error {
  override readonly name = 'EncodeError';
}

/** Encodes any packet for a protocol version. */
export function encode(packet: Packet, version: ProtocolVersion): Buffer {
  try {
    return generate(packet, version === 5 ? V5 : V4);
  } catch (error) {
    throw new EncodeError(`cannot encode ${packet.cmd}: ${(error as Error).message}`);
  }
}

const V4 = Object.freeze({ protocolVersion: 4 });
const V5 = Object.freeze({ protocolVersion: 5 });

/** The fields of an outgoing PUBLISH. */
export interface PublishShape {
  topic: string;
  payload: Buffer;
  qos: 0 | 1 | 2;
  retain: boolean;
  dup: boolean;
  messageId: number | undefined;
  /**
   * The message's forwarded properties, encoded (see {@link encodeMessageProperties}), or
   * undefined for none. MQTT 5 only, like the three below.
   */
  propertyBytes: Buffer | undefined;
  /** The Message Expiry Interval to send: the seconds left [MQTT-3.3.2-6]. */
  messageExpiryInterval: number | undefined;
  /** The receiver's matching Subscription Identifiers [MQTT-3.3.4-3]. */
  subscriptionIds: readonly number[] | undefined;
  /** The Topic Alias, with `topic` empty once the alias is known to the client. */
  topicAlias: number | undefined;
}

/**
 * Encodes a PUBLISH straight into bytes; MQTT 3.1.1 packets carry no properties. A PUBLISH is
 * encoded once per fan-out form and once per receiver with aliases or identifiers, so this is on
 * the hot path: one allocation, the payload copied once. The forwarded properties go out as the
 * publisher encoded them, so User Properties keep their order byte for byte [MQTT-3.3.2-18].
 */
export function encodePublish(shape: PublishShape, version: ProtocolVersion): Buffer {
  const topicLength = Buffer.byteLength(shape.topic);
  const idLength = shape.qos > 0 ? 2 : 0;
  let propertiesLength = 0;
  if (version === 5) {
    if (shape.messageExpiryInterval !== undefined) propertiesLength += 5;
    if (shape.propertyBytes !== undefined) propertiesLength += shape.propertyBytes.length;
    const ids = shape.subscriptionIds;
    if (ids !== undefined) for (const id of ids) propertiesLength += 1 + varIntLength(id);
    if (shape.topicAlias !== undefined) propertiesLength += 3;
  }
  const remaining =
    2 +
    topicLength +
    idLength +
    (version === 5 ? varIntLength(propertiesLength) + propertiesLength : 0) +
    shape.payload.length;
  const bytes = Buffer.allocUnsafe(1 + varIntLength(remaining) + remaining);
  bytes[0] = 0x30 | (shape.dup ? 8 : 0) | (shape.qos << 1) | (shape.retain ? 1 : 0);
  let at = writeVarInt(bytes, 1, remaining);
  bytes.writeUInt16BE(topicLength, at);
  at += 2;
  at += bytes.write(shape.topic, at, 'utf8');
  if (idLength > 0) {
    bytes.writeUInt16BE(shape.messageId ?? 0, at);
    at += 2;
  }
  if (version === 5) {
    at = writeVarInt(bytes, at, propertiesLength);
    if (shape.messageExpiryInterval !== undefined) {
      bytes[at] = 0x02;
      bytes.writeUInt32BE(shape.messageExpiryInterval, at + 1);
      at += 5;
    }
    if (shape.propertyBytes !== undefined) at += shape.propertyBytes.copy(bytes, at);
    const ids = shape.subscriptionIds;
    if (ids !== undefined) {
      for (const id of ids) {
        bytes[at] = 0x0b;
        at = writeVarInt(bytes, at + 1, id);
      }
    }
    if (shape.topicAlias !== undefined) {
      bytes[at] = 0x23;
      bytes.writeUInt16BE(shape.topicAlias, at + 1);
      at += 3;
    }
  }
  shape.payload.copy(bytes, at);
  return bytes;
}

/**
 * The properties of an application message that travel unaltered (Payload Format Indicator,
 * Content Type, Response Topic, Correlation Data, User Properties), encoded as in a PUBLISH; for
 * messages that do not come with the publisher's bytes (server-side publishes, stored messages).
 * Undefined when there are none.
 */
export function encodeMessageProperties(properties: MessageProperties): Buffer | undefined {
  const parts: Buffer[] = [];
  if (properties.payloadFormatIndicator !== undefined) {
    parts.push(Buffer.from([0x01, properties.payloadFormatIndicator ? 1 : 0]));
  }
  if (properties.contentType !== undefined)
    parts.push(stringProperty(0x03, properties.contentType));
  if (properties.responseTopic !== undefined) {
    parts.push(stringProperty(0x08, properties.responseTopic));
  }
  if (properties.correlationData !== undefined) {
    parts.push(binaryProperty(0x09, properties.correlationData));
  }
  const user = properties.userProperties;
  if (user !== undefined) {
    for (const name of Object.keys(user)) {
      const value = user[name] as string | string[];
      for (const one of Array.isArray(value) ? value : [value]) {
        parts.push(Buffer.concat([stringProperty(0x26, name), lengthPrefixed(Buffer.from(one))]));
      }
    }
  }
  return parts.length === 0 ? undefined : Buffer.concat(parts);
}

function stringProperty(id: number, value: string): Buffer {
  return binaryProperty(id, Buffer.from(value, 'utf8'));
}

function binaryProperty(id: number, value: Buffer): Buffer {
  return Buffer.concat([Buffer.from([id]), lengthPrefixed(value)]);
}

function lengthPrefixed(value: Buffer): Buffer {
  const out = Buffer.allocUnsafe(2 + value.length);
  out.writeUInt16BE(value.length, 0);
  value.copy(out, 2);
  return out;
}

/** Bytes of a Variable Byte Integer (MQTT 5 section 1.5.5). */
function varIntLength(value: number): number {
  return value < 128 ? 1 : value < 16_384 ? 2 : value < 2_097_152 ? 3 : 4;
}

function writeVarInt(bytes: Buffer, at: number, value: number): number {
  let left = value;
  do {
    let byte = left % 128;
    left = Math.floor(left / 128);
    if (left > 0) byte |= 0x80;
    bytes[at++] = byte;
  } while (left > 0);
  return at;
}

/** The acknowledgements of the QoS flows. */
export type AckType = 'puback' | 'pubrec' | 'pubrel' | 'pubcomp';

/** First bytes of the acks; PUBREL's flags are 0010 [MQTT-3.6.1-1]. */
const ACK_HEADER: Readonly<Record<AckType, number>> = {
  puback: 0x40,
  pubrec: 0x50,
  pubrel: 0x62,
  pubcomp: 0x70,
};

/**
 * Encodes an ack without properties straight into bytes, the same bytes mqtt-packet writes (a
 * test compares them). Acks are half the packets of a QoS 1 or 2 flow, and mqtt-packet's generic
 * encoder allocates a stream and several buffers for each. An MQTT 5 ack with reason code 0
 * takes the short form, without reason code and property length [MQTT-3.4.2-1].
 */
export function encodeAck(
  type: AckType,
  packetId: number,
  reasonCode: number,
  version: ProtocolVersion,
): Buffer {
  const long = version === 5 && reasonCode !== 0;
  const bytes = Buffer.allocUnsafe(long ? 6 : 4);
  bytes[0] = ACK_HEADER[type];
  bytes[1] = long ? 4 : 2;
  bytes[2] = packetId >> 8;
  bytes[3] = packetId & 0xff;
  if (long) {
    bytes[4] = reasonCode;
    bytes[5] = 0; // no properties
  }
  return bytes;
}
