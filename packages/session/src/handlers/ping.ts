import { after, type MaybePromise } from '@mqtt-sessions/protocol';
import type { Attachment } from '../attachment.js';
import type { Session } from '../session.js';

const PINGRESP = Object.freeze({ cmd: 'pingresp' as const });

/** PINGREQ: the runtime may update the user context; the answer is PINGRESP [MQTT-3.12.4-1]. */
export function handlePingreq(session: Session<unknown>, link: Attachment): MaybePromise<void> {
  return after(session.runtime.ping(session.userContext), (context) => {
    session.userContext = context;
    link.sendPacket(PINGRESP);
  });
}
