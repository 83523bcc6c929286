import { ReasonCode } from '@mqtt-sessions/protocol';
import type { IPubackPacket, IPubcompPacket, IPubrecPacket } from 'mqtt-packet';
import type { ConnectionState, SessionContext } from '../context.js';

/**
 * PUBACK ends a QoS 1 delivery, PUBCOMP a QoS 2 one, and PUBREC moves a QoS 2 delivery on to
 * PUBREL (or ends it on a failure code, with no PUBREL [MQTT-4.3.3-4]); a freed slot of the
 * window lets the next message go. An acknowledgement of the wrong type for the message in flight
 * is a Protocol Error, and the message stays in flight for the next connection [MQTT-4.3.2-4]
 * [MQTT-4.3.3-8] [MQTT-4.3.3-11].
 */
export function handleAck(
  session: SessionContext,
  connection: ConnectionState,
  packet: IPubackPacket | IPubrecPacket | IPubcompPacket,
): void {
  const id = packet.messageId as number;
  const outcome = session.acknowledged(connection, packet.cmd, id, packet.reasonCode ?? 0);
  if (outcome === 'wrong-type') {
    connection.disconnect(
      ReasonCode.ProtocolError,
      `${packet.cmd.toUpperCase()} does not fit the exchange of packet ${id}`,
    );
  }
}
