import { type MaybePromise, ReasonCode } from '@mqtt-sessions/protocol';
import type { Packet } from 'mqtt-packet';
import type { Attachment } from './attachment.js';
import { handlePuback, handlePubcomp, handlePubrec } from './handlers/acks.js';
import { handleAuth } from './handlers/auth.js';
import { handleConnect, refuse } from './handlers/connect.js';
import { handleDisconnect } from './handlers/disconnect.js';
import { handlePingreq } from './handlers/ping.js';
import { handlePublish } from './handlers/publish.js';
import { handlePubrel } from './handlers/pubrel.js';
import { handleSubscribe } from './handlers/subscribe.js';
import { handleUnsubscribe } from './handlers/unsubscribe.js';
import { checkIncoming } from './incoming.js';
import type { Session } from './session.js';

/**
 * Routes one packet from a client to its handler, after the checks that depend only on where the
 * connection stands: the first packet must be CONNECT [MQTT-3.1.0-1], a second CONNECT is a
 * protocol error [MQTT-3.1.0-2], and during enhanced authentication only AUTH and DISCONNECT may
 * come (MQTT 5 section 4.12); and after the checks of {@link checkIncoming}.
 */
export function dispatch(
  session: Session<unknown>,
  link: Attachment,
  packet: Packet,
): MaybePromise<void> {
  session.packetsReceived++;
  const metrics = session.host.metrics;
  metrics.packetsReceived++;
  if (link.state === 'connecting') {
    if (packet.cmd !== 'connect') {
      link.close('the first packet was not CONNECT');
      return;
    }
    const problem = checkIncoming(packet);
    if (problem !== undefined) return refuse(session, link, problem.code, problem.reason);
    return handleConnect(session, link, packet);
  }
  const problem = checkIncoming(packet);
  if (problem !== undefined) {
    link.disconnect(problem.code, problem.reason); // [MQTT-4.13.1-1]
    return;
  }
  if (!session.runtime.isValidMessage(packet, undefined, session.userContext)) {
    link.disconnect(ReasonCode.MalformedPacket, 'the runtime refused the packet');
    return;
  }
  if (link.state === 'authenticating') {
    if (packet.cmd === 'auth') return handleAuth(session, link, packet);
    if (packet.cmd === 'disconnect') {
      link.close('client disconnected during authentication');
      return;
    }
    link.close('only AUTH may follow CONNECT until authentication ends');
    return;
  }
  switch (packet.cmd) {
    case 'publish':
      return handlePublish(session, link, packet);
    case 'puback':
      return handlePuback(session, link, packet);
    case 'pubrec':
      return handlePubrec(session, link, packet);
    case 'pubrel':
      return handlePubrel(session, link, packet);
    case 'pubcomp':
      return handlePubcomp(session, link, packet);
    case 'subscribe':
      return handleSubscribe(session, link, packet);
    case 'unsubscribe':
      return handleUnsubscribe(session, link, packet);
    case 'pingreq':
      return handlePingreq(session, link);
    case 'disconnect':
      return handleDisconnect(session, link, packet);
    case 'auth':
      return handleAuth(session, link, packet);
    case 'connect':
      link.disconnect(ReasonCode.ProtocolError, 'a second CONNECT'); // [MQTT-3.1.0-2]
      return;
    default:
      // CONNACK, SUBACK, UNSUBACK and PINGRESP only ever go from server to client.
      link.disconnect(ReasonCode.ProtocolError, `a client must not send ${packet.cmd}`);
  }
}
