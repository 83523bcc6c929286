import { after, type MaybePromise, ReasonCode } from '@mqtt-sessions/protocol';
import type { AuthProperties, ConnectResult } from '@mqtt-sessions/runtime-default';
import type { IAuthPacket } from 'mqtt-packet';
import type { Attachment } from '../attachment.js';
import type { Session } from '../session.js';
import { finishConnect } from './connect.js';

/**
 * AUTH: a step of enhanced authentication during CONNECT, or re-authentication on a live
 * connection (MQTT 5 section 4.12). The method must be the one the CONNECT named
 * (see section 4.12), and re-authentication is only allowed when the CONNECT used enhanced
 * authentication.
 */
export function handleAuth(
  session: Session<unknown>,
  link: Attachment,
  packet: IAuthPacket,
): MaybePromise<void> {
  const method = packet.properties?.authenticationMethod;
  if (link.version !== 5 || link.authenticationMethod === undefined) {
    link.disconnect(ReasonCode.ProtocolError, 'AUTH without enhanced authentication');
    return;
  }
  if (method !== link.authenticationMethod) {
    link.disconnect(ReasonCode.ProtocolError, 'AUTH with a different Authentication Method');
    return;
  }
  const code = packet.reasonCode ?? 0;
  if (link.state === 'authenticating') {
    if (code !== ReasonCode.ContinueAuthentication) {
      link.close('AUTH during CONNECT must continue authentication');
      return;
    }
    // The client's step restarts a new session's connect timeout, as it restarts the
    // connection's handshake deadline: the runtime gets the full time to answer it.
    session.watchdog.authenticating();
    const result = session.runtime.reauth(packet, 'connect', session.userContext);
    return after(result, (answer) => finishConnect(session, link, answer));
  }
  const expected = link.reauthenticating
    ? ReasonCode.ContinueAuthentication
    : ReasonCode.ReAuthenticate;
  if (code !== expected) {
    link.disconnect(ReasonCode.ProtocolError, 'unexpected AUTH reason code');
    return;
  }
  link.reauthenticating = true;
  const result = session.runtime.reauth(packet, 'reauthenticate', session.userContext);
  return after(result, (answer) => finishReauth(session, link, answer));
}

/** Acts on the runtime's answer during re-authentication. */
function finishReauth(
  session: Session<unknown>,
  link: Attachment,
  result: ConnectResult<unknown>,
): void {
  if (!link.live) return;
  if (result.type === 'auth') {
    session.userContext = result.userContext;
    if (result.reasonCode === ReasonCode.Success) link.reauthenticating = false;
    sendAuth(link, result.reasonCode, result.properties);
    return;
  }
  link.reauthenticating = false;
  if (result.type === 'connack' && result.reasonCode < 0x80) {
    // A CONNACK-shaped success during re-authentication: answer with AUTH success.
    session.userContext = result.userContext;
    sendAuth(link, ReasonCode.Success, {});
    return;
  }
  const code = result.type === 'connack' ? result.reasonCode : ReasonCode.NotAuthorized;
  link.disconnect(code, 're-authentication failed'); //
}

/** Sends AUTH with the connection's Authentication Method. */
export function sendAuth(link: Attachment, reasonCode: number, properties: AuthProperties): void {
  const packet: IAuthPacket = {
    cmd: 'auth',
    reasonCode,
    properties: { ...properties, authenticationMethod: link.authenticationMethod as string },
  };
  link.sendPacket(packet);
}
