import { after, expiresAt, forwardedProperties, isPromiseLike } from '@mqtt-sessions/protocol';
import type { RoutedMessage } from '@mqtt-sessions/router';
import type { WillMessage } from '@mqtt-sessions/will';
import type { SessionContext } from './context.js';

/**
 * Publishes a session's Will on the watchdog's word: checked with the runtime's ACL using the
 * latest user context (the original used the one from CONNECT time), and with its Message Expiry
 * Interval counting from now.
 */
export function publishWill(
  session: SessionContext,
  will: WillMessage,
  userContext: unknown,
): void {
  const message: RoutedMessage = {
    topic: will.topic,
    payload: will.payload,
    qos: will.qos,
    retain: will.retain,
    properties: forwardedProperties(will.properties),
    propertyBytes: will.propertyBytes,
    expiresAt: expiresAt(will.properties.messageExpiryInterval, session.now()),
    sender: session,
    senderContext: userContext,
    wireCache: undefined,
  };
  try {
    const allowed = session.runtime.isAllowed(
      { action: 'publish', topic: will.topic, message: will },
      userContext,
    );
    const done = after(allowed, (ok) => {
      if (ok === true) return after(session.publish(message), () => undefined);
    });
    if (isPromiseLike(done)) done.catch((error: unknown) => session.reportError(error));
  } catch (error) {
    session.reportError(error);
  }
}
