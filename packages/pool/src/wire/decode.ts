import {
  CLIENT_DISCONNECT_REASON_CODES,
  isReasonCodeOf,
  ProtocolLevel,
  type ProtocolVersion,
  ReasonCode,
} from '@mqtt-sessions/protocol';
import type { ForwardedBytes } from '@mqtt-sessions/session';
import type {
  IAuthPacket,
  IConnectPacket,
  IDisconnectPacket,
  IPubackPacket,
  IPubcompPacket,
  IPublishPacket,
  IPubrecPacket,
  IPubrelPacket,
  ISubscribePacket,
  ISubscription,
  IUnsubscribePacket,
  Packet,
} from 'mqtt-packet';
import { readProperties } from './properties.js';
import { ByteReader } from './reader.js';
import { malformed, protocolError, WireError } from './wire-error.js';

/**
 * A PUBLISH as decoded here: mqtt-packet's shape, plus the encoded properties that travel with
 * the message, in the client's order, so that they are forwarded byte for byte [MQTT-3.3.2-18].
 */
export type DecodedPublish = IPublishPacket & ForwardedBytes;

/** A CONNECT as decoded here: its Will carries its forwarded properties' bytes too [MQTT-3.1.3-10]. */
export type DecodedConnect = IConnectPacket & {
  will?: (NonNullable<IConnectPacket['will']> & ForwardedBytes) | null;
};

/** A CONNECT that cannot be taken: the protocol level the client spoke, when it was readable. */
export class ConnectError extends WireError {
  /** The protocol level of the CONNECT, when the bytes got that far. */
  readonly level: number | undefined;

  constructor(cause: WireError, level: number | undefined) {
    super(cause.code, cause.message);
    this.level = level;
  }
}

const TYPE_NAMES = [
  'reserved (0)',
  'CONNECT',
  'CONNACK',
  'PUBLISH',
  'PUBACK',
  'PUBREC',
  'PUBREL',
  'PUBCOMP',
  'SUBSCRIBE',
  'SUBACK',
  'UNSUBSCRIBE',
  'UNSUBACK',
  'PINGREQ',
  'PINGRESP',
  'DISCONNECT',
  'AUTH',
];

/**
 * Decodes the bytes of exactly one packet from a client (as the framer cut them) strictly: every
 * rule of MQTT 5 chapters 1 to 3 and section 4.13 (or their MQTT 3.1.1 counterparts) that the
 * bytes alone decide is checked, and a breach throws a {@link WireError} with the reason code to
 * answer with. Nothing is repaired or guessed. The payload of a PUBLISH is a view, never a copy.
 *
 * @param version The protocol level of the connection's CONNECT; ignored for a CONNECT itself.
 */
export function decodePacket(bytes: Buffer, version: ProtocolVersion): Packet {
  const first = bytes[0] as number;
  const type = first >> 4;
  const flags = first & 0x0f;
  let pos = 1;
  while (((bytes[pos] as number) & 0x80) !== 0) pos++;
  const reader = new ByteReader(bytes, pos + 1, bytes.length);
  const v5 = version === 5;
  switch (type) {
    case 3:
      return decodePublish(reader, flags, v5);
    case 4:
    case 5:
    case 7:
      checkFlags(flags, 0, type);
      return decodeAck(reader, type, v5);
    case 6:
      checkFlags(flags, 2, type);
      return decodeAck(reader, type, v5);
    case 1:
      return decodeConnect(reader, flags);
    case 8:
      checkFlags(flags, 2, type);
      return decodeSubscribe(reader, v5);
    case 10:
      checkFlags(flags, 2, type);
      return decodeUnsubscribe(reader, v5);
    case 12:
      checkFlags(flags, 0, type);
      if (reader.left !== 0) throw malformed('a PINGREQ has no Remaining Length');
      return PINGREQ;
    case 14:
      checkFlags(flags, 0, type);
      return decodeDisconnect(reader, v5);
    case 15:
      if (!v5) throw malformed('packet type 15 is reserved in MQTT 3.1.1');
      checkFlags(flags, 0, type);
      return decodeAuth(reader);
    case 2:
    case 9:
    case 11:
    case 13:
      // CONNACK, SUBACK, UNSUBACK and PINGRESP only ever go from server to client. The form is
      // checked first: what is Malformed is that, whichever way it goes.
      checkFlags(flags, 0, type);
      if (type === 13 && reader.left !== 0) throw malformed('a PINGRESP has no Remaining Length');
      throw protocolError(`a client must not send ${TYPE_NAMES[type]}`);
    default:
      throw malformed('packet type 0 is reserved');
  }
}

const PINGREQ: Packet = Object.freeze({ cmd: 'pingreq' }) as Packet;

/** The fixed header flags must be as specified for the type [MQTT-2.1.3-1]. */
function checkFlags(flags: number, expected: number, type: number): void {
  if (flags !== expected) {
    throw malformed(`the fixed header flags of ${TYPE_NAMES[type]} are reserved`);
  }
}

function packetId(reader: ByteReader, name: string): number {
  const id = reader.uint16('the Packet Identifier');
  // [MQTT-2.2.1-3]; MQTT 3.1.1 [MQTT-2.3.1-1].
  if (id === 0) throw protocolError(`${name} with Packet Identifier 0`);
  return id;
}

function decodePublish(reader: ByteReader, flags: number, v5: boolean): DecodedPublish {
  const qos = (flags >> 1) & 3;
  if (qos === 3) throw malformed('PUBLISH with QoS 3'); // [MQTT-3.3.1-4]
  const dup = (flags & 8) !== 0;
  if (dup && qos === 0) throw malformed('a QoS 0 PUBLISH with DUP set'); // [MQTT-3.3.1-2]
  const topic = reader.utf8('the Topic Name');
  const messageId = qos > 0 ? packetId(reader, 'PUBLISH') : undefined;
  let properties: Record<string, unknown> | undefined;
  let forwardedBytes: Buffer | undefined;
  if (v5) {
    const read = readProperties(reader, 'publish');
    properties = read.properties;
    forwardedBytes = read.forwardedBytes;
    if (properties?.subscriptionIdentifier !== undefined) {
      // [MQTT-3.3.4-6]
      throw protocolError('a PUBLISH from a client carries a Subscription Identifier');
    }
  }
  // One shape for every PUBLISH, whatever it carries.
  return {
    cmd: 'publish',
    topic,
    payload: reader.rest(),
    qos: qos as 0 | 1 | 2,
    dup,
    retain: (flags & 1) !== 0,
    messageId,
    properties,
    forwardedBytes,
  } as DecodedPublish;
}

const ACK_NAMES = ['', '', '', '', 'puback', 'pubrec', 'pubrel', 'pubcomp'] as const;

/** PUBACK, PUBREC, PUBREL and PUBCOMP (MQTT 5 sections 3.4 to 3.7). */
function decodeAck(
  reader: ByteReader,
  type: number,
  v5: boolean,
): IPubackPacket | IPubrecPacket | IPubrelPacket | IPubcompPacket {
  const cmd = ACK_NAMES[type] as 'puback' | 'pubrec' | 'pubrel' | 'pubcomp';
  if (!v5 && reader.left !== 2) {
    throw malformed(`a ${cmd.toUpperCase()} of MQTT 3.1.1 has a Remaining Length of 2`);
  }
  const messageId = packetId(reader, cmd.toUpperCase());
  if (reader.left === 0) return { cmd, messageId } as IPubackPacket;
  const reasonCode = reader.byte('the Reason Code');
  if (!isReasonCodeOf(cmd, reasonCode)) {
    throw malformed(`0x${reasonCode.toString(16)} is not a reason code of ${cmd.toUpperCase()}`);
  }
  const packet = { cmd, messageId, reasonCode } as IPubackPacket;
  if (reader.left > 0) {
    const read = readProperties(reader, cmd);
    if (read.properties !== undefined) packet.properties = read.properties;
  }
  if (reader.left !== 0) throw malformed(`bytes after the properties of ${cmd.toUpperCase()}`);
  return packet;
}

/** CONNECT (MQTT 5 section 3.1; MQTT 3.1.1 section 3.1; MQTT 3.1 as level 3). */
function decodeConnect(reader: ByteReader, flags: number): DecodedConnect {
  const name = reader.utf8('the Protocol Name');
  const level = reader.byte('the Protocol Level');
  if (name !== 'MQTT' && name !== 'MQIsdp') {
    // [MQTT-3.1.2-1]: not this protocol, so no CONNACK of it either: the connection just closes.
    throw protocolError(`protocol name ${JSON.stringify(name)}`);
  }
  try {
    // Checked once the level is known, so that an MQTT 5 client learns why.
    checkFlags(flags, 0, 1);
    return decodeConnectBody(reader, name, level);
  } catch (error) {
    if (error instanceof WireError) throw new ConnectError(error, level);
    throw error;
  }
}

function decodeConnectBody(reader: ByteReader, name: string, level: number): DecodedConnect {
  const expectedName = level === ProtocolLevel.V31 ? 'MQIsdp' : 'MQTT';
  if (level !== ProtocolLevel.V31 && level !== ProtocolLevel.V311 && level !== ProtocolLevel.V5) {
    // [MQTT-3.1.2-2]: refused with 0x84 (3.1.1: 0x01), whatever the name.
    throw new WireError(ReasonCode.UnsupportedProtocolVersion, `protocol level ${level}`);
  }
  if (name !== expectedName) {
    // MQIsdp is MQTT 3.1's name, MQTT that of 3.1.1 and 5 [MQTT-3.1.2-1].
    throw protocolError(`protocol name ${JSON.stringify(name)} with level ${level}`);
  }
  const v5 = level === ProtocolLevel.V5;
  const flags = reader.byte('the Connect Flags');
  if ((flags & 1) !== 0) throw malformed('the reserved Connect Flag is set'); // [MQTT-3.1.2-3]
  const hasUserName = (flags & 0x80) !== 0;
  const hasPassword = (flags & 0x40) !== 0;
  const willRetain = (flags & 0x20) !== 0;
  const willQoS = (flags >> 3) & 3;
  const hasWill = (flags & 0x04) !== 0;
  if (!hasWill && (willQoS !== 0 || willRetain)) {
    // [MQTT-3.1.2-11] [MQTT-3.1.2-13]
    throw malformed('Will QoS or Will Retain set without a Will');
  }
  if (willQoS === 3) throw malformed('Will QoS 3'); // [MQTT-3.1.2-12]
  if (!v5 && hasPassword && !hasUserName) {
    throw malformed('a Password without a User Name'); // MQTT 3.1.1 [MQTT-3.1.2-22]
  }
  const packet: DecodedConnect = {
    cmd: 'connect',
    protocolId: name as 'MQTT',
    protocolVersion: level as 3 | 4 | 5,
    clean: (flags & 0x02) !== 0,
    keepalive: reader.uint16('the Keep Alive'),
    clientId: '',
  };
  if (v5) {
    const read = readProperties(reader, 'connect');
    if (read.properties !== undefined) packet.properties = read.properties;
  }
  packet.clientId = reader.utf8('the Client Identifier');
  if (hasWill) {
    let properties: Record<string, unknown> | undefined;
    let forwardedBytes: Buffer | undefined;
    if (v5) {
      const read = readProperties(reader, 'will');
      properties = read.properties;
      forwardedBytes = read.forwardedBytes;
    }
    const topic = reader.utf8('the Will Topic');
    const payload = reader.binary('the Will Payload');
    packet.will = {
      topic,
      payload,
      qos: willQoS as 0 | 1 | 2,
      retain: willRetain,
      ...(properties === undefined ? {} : { properties }),
      ...(forwardedBytes === undefined ? {} : { forwardedBytes }),
    };
  }
  if (hasUserName) packet.username = reader.utf8('the User Name');
  if (hasPassword) packet.password = reader.binary('the Password');
  // A field the flags did not announce is left over: the payload contradicts its flags
  // [MQTT-3.1.2-9] [MQTT-3.1.2-16] [MQTT-3.1.2-18].
  if (reader.left !== 0) throw malformed('the CONNECT payload holds more than its flags announce');
  return packet;
}

/** SUBSCRIBE (MQTT 5 section 3.8). */
function decodeSubscribe(reader: ByteReader, v5: boolean): ISubscribePacket {
  const packet: ISubscribePacket = {
    cmd: 'subscribe',
    messageId: packetId(reader, 'SUBSCRIBE'),
    subscriptions: [],
  };
  if (v5) {
    const read = readProperties(reader, 'subscribe');
    if (read.properties !== undefined) packet.properties = read.properties;
  }
  // [MQTT-3.8.3-2]; MQTT 3.1.1 [MQTT-3.8.3-3].
  if (reader.left === 0) throw protocolError('SUBSCRIBE without a Topic Filter');
  while (reader.left > 0) {
    const topic = reader.utf8('a Topic Filter');
    const options = reader.byte('the Subscription Options');
    const qos = options & 3;
    if (!v5) {
      if (qos === 3) throw malformed('a subscription with QoS 3'); // MQTT 3.1.1 [MQTT-3.8.3-4]
      // MQTT 3.1.1 [MQTT-3.8.3-4]: the upper six bits are reserved.
      if ((options & 0xfc) !== 0) throw malformed('reserved bits set in a requested QoS');
      packet.subscriptions.push({ topic, qos: qos as 0 | 1 | 2 });
      continue;
    }
    if ((options & 0xc0) !== 0) throw malformed('reserved Subscription Options bits set'); // [MQTT-3.8.3-5]
    // Section 3.8.3.1: a Maximum QoS of 3 and a Retain Handling of 3 are Protocol Errors.
    if (qos === 3) throw protocolError('a subscription with QoS 3');
    const rh = (options >> 4) & 3;
    if (rh === 3) throw protocolError('Retain Handling 3');
    const subscription: ISubscription = {
      topic,
      qos: qos as 0 | 1 | 2,
      nl: (options & 4) !== 0,
      rap: (options & 8) !== 0,
      rh: rh as 0 | 1 | 2,
    };
    packet.subscriptions.push(subscription);
  }
  return packet;
}

/** UNSUBSCRIBE (MQTT 5 section 3.10). */
function decodeUnsubscribe(reader: ByteReader, v5: boolean): IUnsubscribePacket {
  const packet: IUnsubscribePacket = {
    cmd: 'unsubscribe',
    messageId: packetId(reader, 'UNSUBSCRIBE'),
    unsubscriptions: [],
  };
  if (v5) {
    const read = readProperties(reader, 'unsubscribe');
    if (read.properties !== undefined) packet.properties = read.properties;
  }
  // [MQTT-3.10.3-2]
  if (reader.left === 0) throw protocolError('UNSUBSCRIBE without a Topic Filter');
  while (reader.left > 0) packet.unsubscriptions.push(reader.utf8('a Topic Filter'));
  return packet;
}

/** DISCONNECT (MQTT 5 section 3.14); MQTT 3.1.1's has no variable header. */
function decodeDisconnect(reader: ByteReader, v5: boolean): IDisconnectPacket {
  if (!v5) {
    if (reader.left !== 0) throw malformed('a DISCONNECT of MQTT 3.1.1 has no Remaining Length');
    return { cmd: 'disconnect' };
  }
  if (reader.left === 0) return { cmd: 'disconnect', reasonCode: ReasonCode.Success };
  const reasonCode = reader.byte('the Reason Code');
  if (!CLIENT_DISCONNECT_REASON_CODES.has(reasonCode)) {
    throw malformed(
      `0x${reasonCode.toString(16)} is not a reason code a client may disconnect with`,
    );
  }
  const packet: IDisconnectPacket = { cmd: 'disconnect', reasonCode };
  if (reader.left > 0) {
    const read = readProperties(reader, 'disconnect');
    if (read.properties !== undefined) packet.properties = read.properties;
  }
  if (reader.left !== 0) throw malformed('bytes after the properties of DISCONNECT');
  return packet;
}

/** AUTH (MQTT 5 section 3.15). */
function decodeAuth(reader: ByteReader): IAuthPacket {
  if (reader.left === 0) return { cmd: 'auth', reasonCode: ReasonCode.Success };
  const reasonCode = reader.byte('the Reason Code');
  if (!isReasonCodeOf('auth', reasonCode)) {
    throw malformed(`0x${reasonCode.toString(16)} is not a reason code of AUTH`);
  }
  const packet: IAuthPacket = { cmd: 'auth', reasonCode };
  if (reader.left > 0) {
    const read = readProperties(reader, 'auth');
    if (read.properties !== undefined) packet.properties = read.properties;
  }
  if (reader.left !== 0) throw malformed('bytes after the properties of AUTH');
  return packet;
}
