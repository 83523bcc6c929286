import { generate, type IPublishPacket, type Packet } from 'mqtt-packet';

/** Protocol levels the server speaks: 4 is MQTT 3.1.1, 5 is MQTT 5. */
export type ProtocolVersion = 4 | 5;

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
