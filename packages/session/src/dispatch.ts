import { type MaybePromise, ReasonCode } from '@mqtt-sessions/protocol';
import type { Packet } from 'mqtt-packet';
import type { ConnectionState, SessionContext } from './context.js';
import { handleAck } from './handlers/acks.js';
import { handleAuth } from './handlers/auth.js';
import { handleConnect, refuseConnect } from './handlers/connect.js';
import { handleDisconnect } from './handlers/disconnect.js';
import { handlePingreq } from './handlers/ping.js';
import { handlePublish } from './handlers/publish.js';
import { handlePubrel } from './handlers/pubrel.js';
import { handleSubscribe } from './handlers/subscribe.js';
import { handleUnsubscribe } from './handlers/unsubscribe.js';
import { checkIncoming } from './incoming.js';

/**
 * Routes one packet from a client to its handler, after the checks that depend only on where the
 * connection stands: the first packet must be CONNECT [MQTT-3.1.0-1], a second CONNECT is a
 * protocol error [MQTT-3.1.0-2], and during enhanced authentication only AUTH and DISCONNECT may
 * come (MQTT 5 section 4.12); and after the checks of {@link checkIncoming}.
 */
export function dispatch(
  session: SessionContext,
  connection: ConnectionState,
  packet: Packet,
): MaybePromise<void> {
  if (connection.phase === 'connecting') {
    if (packet.cmd !== 'connect') {
      connection.drop('the first packet was not CONNECT');
      return;
    }
    const problem = checkIncoming(packet);
    if (problem !== undefined)
      return refuseConnect(session, connection, problem.code, problem.reason);
    return handleConnect(session, connection, packet);
  }
  const problem = checkIncoming(packet);
  if (problem !== undefined) {
    connection.disconnect(problem.code, problem.reason); // [MQTT-4.13.1-1]
    return;
  }
  if (!session.runtime.isValidMessage(packet, undefined, session.userContext)) {
    connection.disconnect(ReasonCode.MalformedPacket, 'the runtime refused the packet');
    return;
  }
  if (connection.phase === 'authenticating') {
    if (packet.cmd === 'auth') return handleAuth(session, connection, packet);
    if (packet.cmd === 'disconnect') {
      connection.drop('client disconnected during authentication');
      return;
    }
    connection.drop('only AUTH may follow CONNECT until authentication ends');
    return;
  }
  switch (packet.cmd) {
    case 'publish':
      return handlePublish(session, connection, packet);
    case 'puback':
    case 'pubrec':
    case 'pubcomp':
      return handleAck(session, connection, packet);
    case 'pubrel':
      return handlePubrel(session, connection, packet);
    case 'subscribe':
      return handleSubscribe(session, connection, packet);
    case 'unsubscribe':
      return handleUnsubscribe(session, connection, packet);
    case 'pingreq':
      return handlePingreq(session, connection);
    case 'disconnect':
      return handleDisconnect(session, connection, packet);
    case 'auth':
      return handleAuth(session, connection, packet);
    case 'connect':
      connection.disconnect(ReasonCode.ProtocolError, 'a second CONNECT'); // [MQTT-3.1.0-2]
      return;
    default:
      // CONNACK, SUBACK, UNSUBACK and PINGRESP only ever go from server to client.
      connection.disconnect(ReasonCode.ProtocolError, `a client must not send ${packet.cmd}`);
  }
}
