import { ReasonCode } from '@mqtt-sessions/protocol';
import type { ConnectionInfo, ConnectResult, Runtime } from '@mqtt-sessions/runtime-default';
import type { LoginGuard } from './login-guard.js';
import { verifyPassword } from './scrypt.js';
import type { AuthUserContext } from './user-context.js';

/** What the CONNECT decision needs to know about the deployment. */
export interface ConnectPolicy {
  /** username -> encoded hash, or `undefined` when there is no users file. */
  readonly users: ReadonlyMap<string, string> | undefined;
  /** Accept clients that send neither username nor password. */
  readonly allowAnonymous: boolean;
  /**
   * A hash of nothing anybody knows, with the cost of the file's hashes, verified for unknown
   * usernames so the answer time does not tell which usernames exist.
   */
  readonly decoyHash: string | undefined;
  /** The default runtime, which decides everything about the session once credentials pass. */
  readonly base: Runtime<AuthUserContext>;
  /** Bounds and paces password checks (see {@link LoginGuard}). */
  readonly guard: LoginGuard;
}

type Result = ConnectResult<AuthUserContext>;

/**
 * The password handed on for a certificate identity: the default runtime logs in a username that
 * comes with a password, and here the TLS handshake stood in for the password check.
 */
const CERTIFICATE_PROOF = Buffer.from('verified TLS client certificate');
// mqtt-packet's IConnectPacket, named through the contract: the broker does not depend on mqtt-packet.
type IConnectPacket = Parameters<Runtime<AuthUserContext>['connect']>[0];

/**
 * The CONNECT decision of the auth runtime, first matching row (an empty username or password
 * counts as absent, as in the default runtime):
 *
 * | CONNECT                              | Answer                                          |
 * |--------------------------------------|-------------------------------------------------|
 * | an Authentication Method             | 0x8C Bad authentication method                  |
 * | a verified certificate identity      | accepted as that username, no password asked    |
 * | no users file                        | credentials ignored: the client is anonymous    |
 * | no username and no password          | 0x87 Not authorized unless anonymous is allowed |
 * | only one of username and password    | 0x86 Bad user name or password                  |
 * | unknown username or wrong password   | 0x86 Bad user name or password                  |
 * | good credentials                     | the default runtime's session rules             |
 *
 * The default runtime's session rules then refuse (0x87) a client that would take over a
 * session another user, or a user from an anonymous client, has logged in to.
 *
 * Usernames are looked up whole. A `vhost:user` username (which names a vhost to the pool) is
 * therefore always unknown, since users-file names cannot contain `:`.
 */
export async function decideAuthConnect(
  policy: ConnectPolicy,
  packet: IConnectPacket,
  sessionPresent: boolean,
  connection: ConnectionInfo,
  userContext: AuthUserContext,
): Promise<Result> {
  // Before credentials: accepting them would skip the exchange the client asked for.
  if (packet.properties?.authenticationMethod !== undefined) {
    return refuse(ReasonCode.BadAuthenticationMethod, userContext);
  }
  const users = policy.users;
  const delegate = (forwarded: IConnectPacket) =>
    policy.base.connect(forwarded, sessionPresent, connection, userContext);
  // Set by the TLS listener from a certificate the handshake verified, only when the broker takes
  // certificate identities as usernames: the handshake was the proof, so no password is asked.
  const identity = connection.contextPrefs.certificateIdentity;
  if (typeof identity === 'string') {
    return delegate({ ...packet, username: identity, password: CERTIFICATE_PROOF });
  }
  if (users === undefined) {
    // Without a users file nobody can prove a name, and an unproven name must not pick up the
    // rights of `user` sections or `%u` rules; clients that always send credentials still work.
    const { username: _username, password: _password, ...anonymous } = packet;
    return delegate(anonymous);
  }
  const username = packet.username === '' ? undefined : packet.username;
  const password =
    packet.password !== undefined && packet.password.length > 0 ? packet.password : undefined;
  if (username === undefined && password === undefined) {
    if (!policy.allowAnonymous) return refuse(ReasonCode.NotAuthorized, userContext);
    return delegate(packet);
  }
  if (username === undefined || password === undefined) {
    return refuse(ReasonCode.BadUserNameOrPassword, userContext);
  }
  // An unknown user is checked against the decoy, through the same guard, so that it takes as long.
  const hash = users.get(username) ?? policy.decoyHash;
  const known = users.has(username);
  const ok = await policy.guard.check(connection.peerIp, async () =>
    hash === undefined ? false : (await verifyPassword(password, hash)) && known,
  );
  if (!ok) return refuse(ReasonCode.BadUserNameOrPassword, userContext);
  return delegate(packet);
}

function refuse(reasonCode: number, userContext: AuthUserContext): Result {
  return { type: 'connack', reasonCode, userContext };
}
