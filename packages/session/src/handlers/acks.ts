import type { IPubackPacket, IPubcompPacket, IPubrecPacket } from 'mqtt-packet';
import type { Attachment } from '../attachment.js';
import type { Session } from '../session.js';

/** PUBACK from the client ends a QoS 1 delivery; its slot in the window lets the next one go. */
export function handlePuback(
  session: Session<unknown>,
  link: Attachment,
  packet: IPubackPacket,
): void {
  if (session.outbox.puback(packet.messageId as number) === 'done') session.flush(link);
}

/** PUBREC from the client: answer PUBREL, or end the delivery on a failure code. */
export function handlePubrec(
  session: Session<unknown>,
  link: Attachment,
  packet: IPubrecPacket,
): void {
  const outcome = session.outbox.pubrec(link, packet.messageId as number, packet.reasonCode ?? 0);
  if (outcome === 'done') session.flush(link);
}

/** PUBCOMP from the client ends a QoS 2 delivery. */
export function handlePubcomp(
  session: Session<unknown>,
  link: Attachment,
  packet: IPubcompPacket,
): void {
  if (session.outbox.pubcomp(packet.messageId as number) === 'done') session.flush(link);
}
