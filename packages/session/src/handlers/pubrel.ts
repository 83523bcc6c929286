import { ReasonCode } from '@mqtt-sessions/protocol';
import type { IPubrelPacket } from 'mqtt-packet';
import type { Attachment } from '../attachment.js';
import type { Session } from '../session.js';

/**
 * PUBREL ends an incoming QoS 2 exchange: always answered with PUBCOMP [MQTT-4.3.3-11], with 0x92
 * when the packet identifier is unknown (the original's defect 2 crashed here).
 */
export function handlePubrel(
  session: Session<unknown>,
  link: Attachment,
  packet: IPubrelPacket,
): void {
  const id = packet.messageId as number;
  let reasonCode: number = ReasonCode.Success;
  if (session.awaitingRelease.delete(id)) {
    if (link.inboundUnacked > 0) link.inboundUnacked--;
  } else {
    reasonCode = ReasonCode.PacketIdentifierNotFound;
  }
  link.sendAck('pubcomp', id, reasonCode);
}
