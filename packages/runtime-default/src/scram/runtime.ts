import { randomBytes, timingSafeEqual } from 'node:crypto';
import { after, type MaybePromise, ReasonCode } from '@mqtt-sessions/protocol';
import type { IAuthPacket } from 'mqtt-packet';
import type { ConnectResult, Runtime } from '../runtime.js';
import { hmac, type ScramCredentials, SHA256_BYTES, sha256, xor } from './credentials.js';
import { parseClientFinal, parseClientFirst } from './messages.js';

/** The Authentication Method this runtime answers: SCRAM with SHA-256 (RFC 7677). */
export const SCRAM_SHA_256 = 'SCRAM-SHA-256';

/**
 * The CONNACK and DISCONNECT reason code of every failed SCRAM exchange: 0x87 (Not authorized).
 * Not 0x86 (Bad User Name or Password): that code is about the CONNECT's User Name and Password
 * fields, which SCRAM does not use, and it is not a DISCONNECT reason code, so a failed
 * re-authentication could not use it.
 */
export const SCRAM_FAILURE = ReasonCode.NotAuthorized;

/** What {@link createScramRuntime} needs of a user context: the user it records. */
export interface ScramUserContext {
  /** The authenticated username; `undefined` before anybody authenticated. */
  readonly user: string | undefined;
}

/** Options of {@link createScramRuntime}. */
export interface ScramRuntimeOptions<UC extends ScramUserContext> {
  /** The runtime that decides everything but SCRAM-SHA-256 (pools, ACL, other methods...). */
  readonly base: Runtime<UC>;
  /**
   * The stored credentials of a user, or `undefined` for an unknown one. May answer with a
   * Promise (a database); a rejected one ends the connection (the session's error path).
   */
  lookup(username: string): MaybePromise<ScramCredentials | undefined>;
  /**
   * The iteration count shown to clients that name an unknown user, whose exchange goes on with
   * made-up credentials so that it looks like any other until it fails. Use the count of your
   * stored credentials; default 4096.
   */
  readonly iterations?: number;
  /** Makes the server's part of the nonce; 18 random bytes in base64 by default. For tests. */
  readonly serverNonce?: () => string;
}

/** The state of one exchange, between the server's AUTH and the client's answer. */
interface Exchange {
  readonly phase: 'connect' | 'reauthenticate';
  readonly username: string;
  readonly credentials: ScramCredentials;
  /** False for an unknown user's made-up credentials: the exchange fails whatever the proof. */
  readonly known: boolean;
  /** client nonce + server nonce. */
  readonly nonce: string;
  /** What client-final must send as `c=`: base64 of the GS2 header. */
  readonly channelBinding: string;
  /** client-first-bare + "," + server-first + ",": the AuthMessage without client-final. */
  readonly authMessageStart: string;
}

/**
 * A runtime that authenticates with SCRAM-SHA-256 (RFC 5802, RFC 7677) through MQTT 5 enhanced
 * authentication (MQTT 5 section 4.12), around a `base` runtime that decides everything else.
 *
 * With Authentication Method `SCRAM-SHA-256`, the exchange is:
 *
 * | client | server |
 * |---|---|
 * | CONNECT, Authentication Data `n,,n=user,r=<client nonce>` | |
 * | | AUTH 0x18, `r=<nonce>,s=<salt>,i=<iterations>` |
 * | AUTH 0x18, `c=biws,r=<nonce>,p=<proof>` | |
 * | | CONNACK 0x00, `v=<server signature>` |
 *
 * Re-authentication on a live connection is the same, from an AUTH 0x19 carrying client-first to
 * an AUTH 0x00 carrying server-final. Every failure (a malformed message, an unknown user, a wrong
 * proof, channel binding, a different user than the session's) answers CONNACK or DISCONNECT
 * {@link SCRAM_FAILURE} (0x87); an unknown user is not told apart from a wrong password until
 * then. The CONNECT's User Name and Password are not used: the user is the one SCRAM
 * authenticated (a `vhost:` prefix in the User Name still picks the pool).
 *
 * On success the user context becomes `{ ...userContext, user: username }`: the user context must
 * be a plain object with a `user` field (as the default runtime's is), replaced and never mutated.
 * A session that belongs to another user is refused. Each exchange runs on its own copy of the
 * user context, which keys the exchange's state in a WeakMap, so two connections of one session
 * never mix their exchanges, and an abandoned exchange goes with its copy.
 *
 * Other Authentication Methods, and CONNECTs without one, go to `base` untouched. No channel
 * binding (`p=` is refused; `y` is accepted) and no SASLprep of usernames or passwords.
 *
 * @example
 * ```ts
 * const users = new Map([['alice', await createScramCredentials('secret', { iterations: 4096 })]]);
 * const runtime = createScramRuntime({ base: createDefaultRuntime(), lookup: (name) => users.get(name) });
 * const pool = createPool({ runtime });
 * ```
 */
export function createScramRuntime<UC extends ScramUserContext>(
  options: ScramRuntimeOptions<UC>,
): Runtime<UC> {
  const { base, lookup } = options;
  const decoyIterations = options.iterations ?? 4096;
  const serverNonce = options.serverNonce ?? (() => randomBytes(18).toString('base64'));
  // Made-up salts for unknown users come from this key: the same username always gets the same
  // salt, as a real user does, and nobody can predict them.
  const decoyKey = randomBytes(SHA256_BYTES);
  const exchanges = new WeakMap<UC, Exchange>();

  function decoy(username: string): ScramCredentials {
    return {
      salt: hmac(decoyKey, `salt:${username}`).subarray(0, 16),
      iterations: decoyIterations,
      storedKey: randomBytes(SHA256_BYTES),
      serverKey: randomBytes(SHA256_BYTES),
    };
  }

  function fail(userContext: UC): ConnectResult<UC> {
    return { type: 'connack', reasonCode: SCRAM_FAILURE, userContext };
  }

  /** client-first -> server-first, remembering the exchange on a fresh copy of the context. */
  function start(
    data: Buffer | undefined,
    phase: Exchange['phase'],
    userContext: UC,
  ): MaybePromise<ConnectResult<UC>> {
    const first = parseClientFirst(data);
    if (first === undefined) return fail(userContext);
    return after(lookup(first.username), (found) => {
      const credentials = found ?? decoy(first.username);
      const nonce = first.nonce + serverNonce();
      const serverFirst = `r=${nonce},s=${credentials.salt.toString('base64')},i=${credentials.iterations}`;
      const key: UC = { ...userContext };
      exchanges.set(key, {
        phase,
        username: first.username,
        credentials,
        known: found !== undefined,
        nonce,
        channelBinding: Buffer.from(first.gs2Header).toString('base64'),
        authMessageStart: `${first.bare},${serverFirst},`,
      });
      return {
        type: 'auth',
        reasonCode: ReasonCode.ContinueAuthentication,
        properties: { authenticationData: Buffer.from(serverFirst) },
        userContext: key,
      };
    });
  }

  /** client-final -> server-final (CONNACK or AUTH 0x00), or a failure. */
  function finish(
    data: Buffer | undefined,
    phase: Exchange['phase'],
    userContext: UC,
  ): ConnectResult<UC> {
    const exchange = exchanges.get(userContext);
    exchanges.delete(userContext);
    // A missing exchange, or one of the other phase: the session's context was replaced by
    // another connection's exchange in between. The proof could not match anyway; fail early.
    if (exchange === undefined || exchange.phase !== phase) return fail(userContext);
    const final = parseClientFinal(data);
    if (final === undefined) return fail(userContext);
    const { credentials, username } = exchange;
    const authMessage = exchange.authMessageStart + final.withoutProof;
    const clientSignature = hmac(credentials.storedKey, authMessage);
    const clientKey = sha256(xor(final.proof, clientSignature));
    const proofMatches =
      credentials.storedKey.length === SHA256_BYTES &&
      timingSafeEqual(clientKey, credentials.storedKey);
    if (
      !proofMatches ||
      !exchange.known ||
      final.channelBinding !== exchange.channelBinding ||
      final.nonce !== exchange.nonce
    ) {
      return fail(userContext);
    }
    // A session belongs to one user: no taking over another's, no changing users by
    // re-authenticating (MQTT 5 section 4.12.1 lets the server refuse that).
    if (userContext.user !== undefined && userContext.user !== username) return fail(userContext);
    const serverSignature = hmac(credentials.serverKey, authMessage).toString('base64');
    const properties = { authenticationData: Buffer.from(`v=${serverSignature}`) };
    const authenticated: UC = { ...userContext, user: username };
    return phase === 'connect'
      ? { type: 'connack', reasonCode: 0, properties, userContext: authenticated }
      : { type: 'auth', reasonCode: 0, properties, userContext: authenticated };
  }

  return {
    ...base,
    connect(packet, sessionPresent, connection, userContext) {
      const properties = packet.properties;
      if (properties?.authenticationMethod !== SCRAM_SHA_256) {
        return base.connect(packet, sessionPresent, connection, userContext);
      }
      return start(properties.authenticationData, 'connect', userContext);
    },
    reauth(packet: IAuthPacket, phase, userContext) {
      const properties = packet.properties;
      if (properties?.authenticationMethod !== SCRAM_SHA_256) {
        return base.reauth(packet, phase, userContext);
      }
      const code = packet.reasonCode ?? 0;
      if (phase === 'reauthenticate' && code === ReasonCode.ReAuthenticate) {
        exchanges.delete(userContext); // a new start drops an unfinished exchange
        return start(properties.authenticationData, phase, userContext);
      }
      if (code !== ReasonCode.ContinueAuthentication) return fail(userContext);
      return finish(properties.authenticationData, phase, userContext);
    },
  };
}
