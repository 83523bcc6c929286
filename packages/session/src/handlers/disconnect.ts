import { ReasonCode } from '@mqtt-sessions/protocol';
import type { IDisconnectPacket } from 'mqtt-packet';
import type { ConnectionState, SessionContext } from '../context.js';

/**
 * DISCONNECT from the client. Reason 0x00 discards the Will, any other (0x04 in particular) keeps
 * it [MQTT-3.14.4-3]. A new Session Expiry Interval applies, except that a session that had 0 at
 * CONNECT may not set a non-zero one (MQTT 5 section 3.14.2.2.2).
 */
export function handleDisconnect(
  session: SessionContext,
  connection: ConnectionState,
  packet: IDisconnectPacket,
): void {
  const requested = connection.version === 5 ? packet.properties?.sessionExpiryInterval : undefined;
  if (requested !== undefined && !session.changeExpiryInterval(requested)) {
    connection.disconnect(ReasonCode.ProtocolError, 'Session Expiry Interval changed from 0');
    return;
  }
  const reasonCode = connection.version === 5 ? (packet.reasonCode ?? 0) : 0;
  connection.clientDisconnected(reasonCode); // [MQTT-3.14.4-1]
}
