import type { IPubackPacket, IPubcompPacket, IPubrecPacket } from 'mqtt-packet';
import type { ConnectionState, SessionContext } from '../context.js';

/**
 * PUBACK ends a QoS 1 delivery, PUBCOMP a QoS 2 one, and PUBREC moves a QoS 2 delivery on to
 * PUBREL (or ends it on a failure code); a freed slot of the window lets the next message go.
 */
export function handleAck(
  session: SessionContext,
  connection: ConnectionState,
  packet: IPubackPacket | IPubrecPacket | IPubcompPacket,
): void {
  session.acknowledged(connection, packet.cmd, packet.messageId as number, packet.reasonCode ?? 0);
}
