import type { ProtocolVersion } from '@mqtt-sessions/protocol';
import { generate, type IPublishPacket, type Packet } from 'mqtt-packet';

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

/** The fields of an outgoing PUBLISH that differ per delivery. */
export interface PublishShape {
  topic: string;
  payload: Buffer;
  qos: 0 | 1 | 2;
  retain: boolean;
  dup: boolean;
  messageId: number | undefined;
  properties: IPublishPacket['properties'] | undefined;
}

/** Encodes a PUBLISH; MQTT 3.1.1 packets carry no properties. */
export function encodePublish(shape: PublishShape, version: ProtocolVersion): Buffer {
  const packet: IPublishPacket = {
    cmd: 'publish',
    topic: shape.topic,
    payload: shape.payload,
    qos: shape.qos,
    retain: shape.retain,
    dup: shape.dup,
  };
  if (shape.messageId !== undefined) packet.messageId = shape.messageId;
  if (version === 5 && shape.properties !== undefined) packet.properties = shape.properties;
  return encode(packet, version);
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
