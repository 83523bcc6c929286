import { createClientId, createMemoryRegistry, validateClientId } from '@mqtt-sessions/registry';

interface Session {
  readonly clientId: string;
}

const registry = createMemoryRegistry<Session>();

/** Finds or creates the session for the client id of a CONNECT. */
export function sessionFor(requested: string): Session | { refused: string } {
  const check = validateClientId(requested);
  // An empty client id gets a generated one [MQTT-3.1.3-6], sent back in the CONNACK.
  if (!check.ok && check.reason !== 'empty') return { refused: check.message }; // CONNACK 0x85
  const clientId = check.ok ? requested : createClientId();
  const existing = registry.find(clientId);
  if (existing !== undefined) return existing; // reattach: take the session over
  const session: Session = { clientId };
  registry.register(clientId, session);
  return session;
}

/** Forgets a session that ended, unless a newer one already holds its client id. */
export function sessionEnded(session: Session): void {
  registry.unregister(session.clientId, session);
}
