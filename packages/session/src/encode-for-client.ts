import {
  isReasonCodeOf,
  ReasonCode,
  SERVER_DISCONNECT_REASON_CODES,
} from '@mqtt-sessions/protocol';
import type { IConnackPacket, IDisconnectPacket, Packet } from 'mqtt-packet';
import { encode } from './encode.js';

/** CONNACK refusals of authentication that DISCONNECT cannot carry; they become 0x87. */
const AUTH_REFUSALS: ReadonlySet<number> = new Set([
  ReasonCode.BadUserNameOrPassword,
  ReasonCode.Banned,
  ReasonCode.BadAuthenticationMethod,
]);

/** What {@link encodeForClient} needs to know about the connection. */
export interface ClientLimits {
  /** False when the client set Request Problem Information to 0. */
  readonly problemInformation: boolean;
  /** True when the CONNECT named an Authentication Method. */
  readonly enhancedAuthentication: boolean;
  /** The client's Maximum Packet Size. */
  readonly maxPacketSize: number;
}

/**
 * Encodes an MQTT 5 control packet (not PUBLISH) the way this client may receive it: CONNACK and
 * DISCONNECT carry only reason codes of their packet [MQTT-3.2.2-8] [MQTT-3.14.2-1] (a runtime's
 * other code becomes 0x80, or 0x87 for an authentication refusal); no Reason String or User
 * Properties except on CONNACK and DISCONNECT when the client asked for no problem information
 * [MQTT-3.1.2-29]; no Authentication Method on CONNACK without enhanced authentication
 * [MQTT-4.12.0-6]; and a Reason String or User Properties that would make the packet larger than
 * the client's Maximum Packet Size are left out [MQTT-3.2.2-19] [MQTT-3.2.2-20] [MQTT-3.11.2-1]
 * [MQTT-3.11.2-2] [MQTT-3.14.2-3] [MQTT-3.14.2-4] [MQTT-3.15.2-2] [MQTT-3.15.2-3].
 *
 * @returns the bytes, or undefined when even the packet without them is too large [MQTT-3.1.2-24].
 */
export function encodeForClient(packet: Packet, limits: ClientLimits): Buffer | undefined {
  if (packet.cmd === 'publish') return encode(packet, 5);
  let out: Packet = packet;
  if (packet.cmd === 'connack') out = checkConnack(packet, limits.enhancedAuthentication);
  else if (packet.cmd === 'disconnect') out = checkDisconnect(packet);
  else if (!limits.problemInformation) out = withoutProblemInformation(packet);
  let bytes = encode(out, 5);
  if (bytes.length <= limits.maxPacketSize) return bytes;
  for (const optional of ['reasonString', 'userProperties'] as const) {
    const properties = (out as { properties?: Record<string, unknown> }).properties;
    if (properties?.[optional] === undefined) continue;
    const { [optional]: _dropped, ...rest } = properties;
    out = { ...out, properties: rest } as Packet;
    bytes = encode(out, 5);
    if (bytes.length <= limits.maxPacketSize) return bytes;
  }
  return undefined;
}

function checkConnack(packet: IConnackPacket, enhancedAuthentication: boolean): IConnackPacket {
  let out: Packet = packet;
  const code = packet.reasonCode ?? 0;
  if (!isReasonCodeOf('connack', code)) out = { ...out, reasonCode: ReasonCode.UnspecifiedError };
  const props = out.properties;
  if (
    !enhancedAuthentication &&
    props !== undefined &&
    (props.authenticationMethod !== undefined || props.authenticationData !== undefined)
  ) {
    const { authenticationMethod: _method, authenticationData: _data, ...rest } = props;
    out = { ...out, properties: rest };
  }
  return out;
}

function checkDisconnect(packet: IDisconnectPacket): IDisconnectPacket {
  const code = packet.reasonCode ?? 0;
  if (SERVER_DISCONNECT_REASON_CODES.has(code)) return packet;
  const mapped = AUTH_REFUSALS.has(code) ? ReasonCode.NotAuthorized : ReasonCode.UnspecifiedError;
  return { ...packet, reasonCode: mapped };
}

function withoutProblemInformation(packet: Packet): Packet {
  const properties = (packet as { properties?: Record<string, unknown> }).properties;
  if (
    properties === undefined ||
    (properties.reasonString === undefined && properties.userProperties === undefined)
  ) {
    return packet;
  }
  const { reasonString: _reason, userProperties: _user, ...rest } = properties;
  return { ...packet, properties: rest } as Packet;
}
