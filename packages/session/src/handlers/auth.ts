import { after, type MaybePromise, ReasonCode } from '@mqtt-sessions/protocol';
import type { ConnectResult } from '@mqtt-sessions/runtime-default';
import type { IAuthPacket } from 'mqtt-packet';
import type { ConnectionState, SessionContext } from '../context.js';
import { finishConnect } from './connect.js';
import { sendAuth } from './send-auth.js';

/**
 * AUTH: a step of enhanced authentication during CONNECT, or re-authentication on a live
 * connection (MQTT 5 section 4.12). The method must be the one the CONNECT named
 * (see section 4.12), and re-authentication is only allowed when the CONNECT used enhanced
 * authentication.
 */
export function handleAuth(
  session: SessionContext,
  connection: ConnectionState,
  packet: IAuthPacket,
): MaybePromise<void> {
  const method = packet.properties?.authenticationMethod;
  if (connection.version !== 5 || connection.authenticationMethod === undefined) {
    connection.disconnect(ReasonCode.ProtocolError, 'AUTH without enhanced authentication');
    return;
  }
  if (method !== connection.authenticationMethod) {
    connection.disconnect(ReasonCode.ProtocolError, 'AUTH with a different Authentication Method');
    return;
  }
  const code = packet.reasonCode ?? 0;
  if (connection.phase === 'authenticating') {
    if (code !== ReasonCode.ContinueAuthentication) {
      connection.drop('AUTH during CONNECT must continue authentication');
      return;
    }
    // The client's step restarts a new session's connect timeout, as it restarts the
    // connection's handshake deadline: the runtime gets the full time to answer it.
    session.authenticating();
    const result = session.runtime.reauth(packet, 'connect', session.userContext);
    return after(result, (answer) => finishConnect(session, connection, answer));
  }
  const expected = connection.reauthenticating
    ? ReasonCode.ContinueAuthentication
    : ReasonCode.ReAuthenticate;
  if (code !== expected) {
    connection.disconnect(ReasonCode.ProtocolError, 'unexpected AUTH reason code');
    return;
  }
  connection.reauthenticating = true;
  const result = session.runtime.reauth(packet, 'reauthenticate', session.userContext);
  return after(result, (answer) => finishReauth(session, connection, answer));
}

/** Acts on the runtime's answer during re-authentication. */
function finishReauth(
  session: SessionContext,
  connection: ConnectionState,
  result: ConnectResult<unknown>,
): void {
  if (!connection.live) return;
  if (result.type === 'auth') {
    session.userContext = result.userContext;
    if (result.reasonCode === ReasonCode.Success) connection.reauthenticating = false;
    sendAuth(connection, result.reasonCode, result.properties);
    return;
  }
  connection.reauthenticating = false;
  if (result.type === 'connack' && result.reasonCode < 0x80) {
    // A CONNACK-shaped success during re-authentication: answer with AUTH success.
    session.userContext = result.userContext;
    sendAuth(connection, ReasonCode.Success, {});
    return;
  }
  const code = result.type === 'connack' ? result.reasonCode : ReasonCode.NotAuthorized;
  connection.disconnect(code, 're-authentication failed');
}
