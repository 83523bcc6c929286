import { ReasonCode } from '@mqtt-sessions/protocol';
import { decideConnect } from './connect-decision.js';
import type { PoolChoice, Runtime } from './runtime.js';
import {
  type DefaultUserContext,
  newDefaultUserContext,
  persistentDefaultUserData,
  restoreDefaultUserContext,
} from './user-context.js';

/** The name of the pool the default runtime puts every session in. */
export const DEFAULT_POOL = 'default';

/** Options of {@link createDefaultRuntime}. */
export interface DefaultRuntimeOptions {
  /** The pool for connections that name no vhost, and for every vhost without `vhosts`. Default `'default'`. */
  readonly defaultPool?: string;
  /**
   * Maps vhost names to pool names. When given, a vhost not in the map is refused; when absent,
   * every vhost goes to the default pool.
   */
  readonly vhosts?: Readonly<Record<string, string>>;
}

/**
 * The default, permissive runtime, for development and tests: everybody may connect (anonymously,
 * or with any password on the first login to a session), publish and subscribe.
 *
 * **It does not check passwords.** Real deployments plug in their own {@link Runtime}; the README
 * shows one that checks passwords and confines users to their own topics.
 *
 * Its CONNECT decision, in order:
 * 1. an Authentication Method: CONNACK 0x8C (enhanced authentication is not supported);
 * 2. no username and no password: accepted, unless a user has logged in to the session (0x87);
 * 3. username and password: accepted on the first login to the session (the session's user
 *    becomes the username), or for the same user on a present session; else 0x87;
 * 4. anything else (a username without a password, a password without a username): 0x87.
 */
export function createDefaultRuntime(
  options: DefaultRuntimeOptions = {},
): Runtime<DefaultUserContext> {
  const defaultPool = options.defaultPool ?? DEFAULT_POOL;
  // A Map, not the object itself: a vhost named `__proto__` or `toString` must not find anything.
  const vhosts = options.vhosts === undefined ? undefined : new Map(Object.entries(options.vhosts));
  return {
    vhostPool(vhost: string): PoolChoice {
      if (vhosts === undefined) return { ok: true, pool: defaultPool };
      const pool = vhosts.get(vhost);
      return pool === undefined
        ? { ok: false, reason: `unknown vhost ${JSON.stringify(vhost)}` }
        : { ok: true, pool };
    },
    defaultPool: () => defaultPool,
    newUserContext: newDefaultUserContext,
    persistentUserData: persistentDefaultUserData,
    restoreUserContext: restoreDefaultUserContext,
    connect: decideConnect,
    // Enhanced authentication is not supported, during CONNECT and on a live connection alike.
    reauth: (_packet, _phase, userContext) => ({
      type: 'connack',
      reasonCode: ReasonCode.BadAuthenticationMethod,
      userContext,
    }),
    isAllowed: () => true,
    isValidMessage: () => true,
    controlMessage: (_levels, _packet, userContext) => userContext,
    ping: (userContext) => userContext,
    isWebsocketOrigin: (userContext) => userContext.origin === 'websocket',
    isCrawler: (userContext) => userContext.isCrawler,
    isAnonymousUser: (userContext) => userContext.user === undefined,
    responseInformation: () => undefined,
  };
}
