import { after, type MaybePromise, ReasonCode } from '@mqtt-sessions/protocol';
import type { IUnsubackPacket, IUnsubscribePacket } from 'mqtt-packet';
import type { ConnectionState, SessionContext } from '../context.js';
import { filterProtocolError } from './filter-rules.js';

/**
 * UNSUBSCRIBE: each filter is removed if the session has it; v5 clients learn per filter whether
 * it existed (0x00 or 0x11) [MQTT-3.11.3-1]. The UNSUBACK comes even when nothing was removed
 * [MQTT-3.10.4-5].
 */
export function handleUnsubscribe(
  session: SessionContext,
  connection: ConnectionState,
  packet: IUnsubscribePacket,
): MaybePromise<void> {
  const mark = session.journalMark();
  for (const filter of packet.unsubscriptions) {
    const problem = filterProtocolError(filter, connection.version);
    if (problem !== undefined) {
      connection.disconnect(ReasonCode.ProtocolError, problem);
      return;
    }
  }
  const codes: number[] = [];
  for (const filter of packet.unsubscriptions) {
    const found = session.unsubscribe(filter);
    codes.push(found ? ReasonCode.Success : ReasonCode.NoSubscriptionExisted);
  }
  const unsuback: IUnsubackPacket = {
    cmd: 'unsuback',
    messageId: packet.messageId as number,
    granted: [],
  };
  if (connection.version === 5) unsuback.granted = codes;
  return after(session.durable(mark), () => connection.send(unsuback));
}
