import { ReasonCode } from '@mqtt-sessions/protocol';
import type { IPubrelPacket } from 'mqtt-packet';
import type { ConnectionState, SessionContext } from '../context.js';

/**
 * PUBREL ends an incoming QoS 2 exchange: always answered with PUBCOMP [MQTT-4.3.3-11], with 0x92
 * when the packet identifier is unknown (the original's defect 2 crashed here).
 */
export function handlePubrel(
  session: SessionContext,
  connection: ConnectionState,
  packet: IPubrelPacket,
): void {
  const id = packet.messageId as number;
  const mark = session.journalMark();
  let reasonCode: number = ReasonCode.Success;
  if (session.release(id)) {
    if (connection.inboundUnacked > 0) connection.inboundUnacked--;
  } else {
    reasonCode = ReasonCode.PacketIdentifierNotFound;
  }
  // PUBCOMP frees the packet id for the client: it goes once the id is forgotten in the store too,
  // or a restart would take the id's next message for a duplicate.
  connection.sendAckWhenStored(session.durable(mark), 'pubcomp', id, reasonCode);
}
