import { ReasonCode } from '@mqtt-sessions/protocol';
import type { IDisconnectPacket } from 'mqtt-packet';
import type { Attachment } from '../attachment.js';
import type { Session } from '../session.js';

/**
 * DISCONNECT from the client. Reason 0x00 discards the Will, any other (0x04 in particular) keeps
 * it [MQTT-3.14.4-3]. A new Session Expiry Interval applies, except that a session that had 0 at
 * CONNECT may not set a non-zero one (MQTT 5 section 3.14.2.2.2).
 */
export function handleDisconnect(
  session: Session<unknown>,
  link: Attachment,
  packet: IDisconnectPacket,
): void {
  const requested = link.version === 5 ? packet.properties?.sessionExpiryInterval : undefined;
  if (requested !== undefined) {
    if (session.connectExpiryInterval === 0 && requested > 0) {
      link.disconnect(ReasonCode.ProtocolError, 'Session Expiry Interval changed from 0');
      return;
    }
    session.expiryInterval = Math.min(requested, session.options.maxSessionExpiry);
  }
  const reasonCode = link.version === 5 ? (packet.reasonCode ?? 0) : 0;
  link.shutDown(); // [MQTT-3.14.4-1]
  session.detached(link, 'client disconnected', reasonCode, reasonCode !== ReasonCode.Success);
}
