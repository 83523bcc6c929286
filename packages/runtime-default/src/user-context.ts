import type { SessionInfo } from './runtime.js';

/** The user context of the default runtime: who and where a session is. Replaced, never mutated. */
export interface DefaultUserContext {
  /** The pool the session lives in. */
  readonly pool: string;
  /** The session's client identifier. */
  readonly clientId: string;
  /** The session's routing id (`r:` + 20 characters). */
  readonly routingId: string;
  /** The remote address of the latest accepted connection, when known. */
  readonly peerIp: string | undefined;
  /** Where the session's first connection came from (`'websocket'`, `'tcp'`, ...), when known. */
  readonly origin: string | undefined;
  /** True when the transport recognised a crawler. */
  readonly isCrawler: boolean;
  /** The authenticated username, or `undefined` for an anonymous session. */
  readonly user: string | undefined;
}

/** The user context of a new session: nobody has authenticated yet. */
export function newDefaultUserContext(session: SessionInfo): DefaultUserContext {
  return {
    pool: session.pool,
    clientId: session.clientId,
    routingId: session.routingId,
    peerIp: session.peerIp,
    origin: session.contextPrefs.origin,
    isCrawler: session.contextPrefs.isCrawler === true,
    user: undefined,
  };
}
