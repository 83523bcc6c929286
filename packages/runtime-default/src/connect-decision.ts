import { ReasonCode } from '@mqtt-sessions/protocol';
import type { IConnectPacket } from 'mqtt-packet';
import type { ConnectionInfo, ConnectResult } from './runtime.js';
import type { DefaultUserContext } from './user-context.js';

type Result = ConnectResult<DefaultUserContext>;

/**
 * The default CONNECT decision. It does not check passwords: it is for development, and real
 * deployments plug in their own runtime. An empty username or password counts as absent.
 */
export function decideConnect(
  packet: IConnectPacket,
  sessionPresent: boolean,
  connection: ConnectionInfo,
  userContext: DefaultUserContext,
): Result {
  // Enhanced authentication is not supported, so any Authentication Method is refused first,
  // before credentials could accept the CONNECT without the exchange the client asked for. The
  // original answered 0x87; 0x8C (Bad authentication method) says what is wrong [MQTT-4.12.0-1].
  if (packet.properties?.authenticationMethod !== undefined) {
    return refuse(ReasonCode.BadAuthenticationMethod, userContext);
  }
  const username = packet.username === '' ? undefined : packet.username;
  const hasPassword = packet.password !== undefined && packet.password.length > 0;
  if (username === undefined && !hasPassword) {
    // An anonymous client may not take over a session a user has logged in to.
    if (userContext.user !== undefined) return refuse(ReasonCode.NotAuthorized, userContext);
    return accept(packet, sessionPresent, { ...userContext, peerIp: connection.peerIp });
  }
  if (username !== undefined && hasPassword) {
    // The first login to a session sets its user, whatever the password.
    if (userContext.user === undefined) {
      return accept(packet, sessionPresent, {
        ...userContext,
        user: username,
        peerIp: connection.peerIp,
      });
    }
    if (userContext.user === username && sessionPresent) {
      return accept(packet, sessionPresent, { ...userContext, peerIp: connection.peerIp });
    }
    return refuse(ReasonCode.NotAuthorized, userContext);
  }
  // A username without a password, or (allowed by MQTT 5) a password without a username: the
  // default runtime has no use for either, so it refuses them.
  return refuse(ReasonCode.NotAuthorized, userContext);
}

function accept(
  packet: IConnectPacket,
  sessionPresent: boolean,
  userContext: DefaultUserContext,
): Result {
  return {
    type: 'connack',
    reasonCode: ReasonCode.Success,
    // [MQTT-3.2.2-2] a Clean Start connection never reports a present session. (The original
    // passed the flag through and answered true here.) An absent flag means Clean Start, as in
    // mqtt-packet's encoder.
    sessionPresent: sessionPresent && packet.clean === false,
    userContext,
  };
}

function refuse(reasonCode: number, userContext: DefaultUserContext): Result {
  return { type: 'connack', reasonCode, userContext };
}
