import { after, type MaybePromise } from '@mqtt-sessions/protocol';
import type { ConnectionState, SessionContext } from '../context.js';

const PINGRESP = Object.freeze({ cmd: 'pingresp' as const });

/** PINGREQ: the runtime may update the user context; the answer is PINGRESP [MQTT-3.12.4-1]. */
export function handlePingreq(
  session: SessionContext,
  connection: ConnectionState,
): MaybePromise<void> {
  return after(session.runtime.ping(session.userContext), (context) => {
    session.userContext = context;
    connection.send(PINGRESP);
  });
}
