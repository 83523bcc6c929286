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

/** What of the default user context outlives a restart: who logged in, and where from. */
export interface PersistentDefaultUserData {
  readonly user: string | undefined;
  readonly origin: string | undefined;
  readonly isCrawler: boolean;
}

/** The part of a default user context that a persistent session stores. */
export function persistentDefaultUserData(context: DefaultUserContext): PersistentDefaultUserData {
  return { user: context.user, origin: context.origin, isCrawler: context.isCrawler };
}

/**
 * The user context of a restored session: a fresh one with the stored user, so that the rule
 * "a session a user logged in to is that user's" holds across a restart too.
 */
export function restoreDefaultUserContext(session: SessionInfo, data: unknown): DefaultUserContext {
  const fresh = newDefaultUserContext(session);
  if (typeof data !== 'object' || data === null) return fresh;
  const kept = data as Partial<PersistentDefaultUserData>;
  return {
    ...fresh,
    user: typeof kept.user === 'string' ? kept.user : undefined,
    origin: typeof kept.origin === 'string' ? kept.origin : fresh.origin,
    isCrawler: kept.isCrawler === true,
  };
}
