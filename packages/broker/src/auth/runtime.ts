import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import {
  type AccessRequest,
  createDefaultRuntime,
  type Runtime,
} from '@mqtt-sessions/runtime-default';
import { validateTopicName } from '@mqtt-sessions/topic-trie';
import { ACL_TOPIC_LIMITS, allowedOn, isAllowedByAcl } from './acl-check.js';
import { parseAcl } from './acl-parse.js';
import type { AclRules } from './acl-rules.js';
import { decideAuthConnect } from './connect.js';
import { LoginGuard } from './login-guard.js';
import { decodeMosquittoHash, isMosquittoHash, mosquittoDecoy } from './mosquitto-hash.js';
import { decodeScryptHash, hashPassword } from './scrypt.js';
import { type AuthUserContext, isServerContext } from './user-context.js';
import { parseUsersFile } from './users-file.js';

/** Options of {@link createAuthRuntime}. */
export interface AuthOptions {
  /** A users file (`username:hash` lines, see `addUser`). Without one every client is anonymous. */
  readonly usersFile?: string;
  /** An ACL file. With one, whatever it does not allow is denied; without one, all is allowed. */
  readonly aclFile?: string;
  /**
   * Accept clients that send no username and no password. Default: true without a users file,
   * false with one. `false` without a users file is refused, since no client could connect.
   */
  readonly allowAnonymous?: boolean;
  /** The pool every session goes to. Default `'default'`. */
  readonly defaultPool?: string;
  /**
   * Paces password checks against floods of bad logins; default: a `LoginGuard` with its
   * defaults (two hashes at once, turns by address, doubling delays after failures).
   */
  readonly loginGuard?: LoginGuard;
}

/**
 * A runtime for real deployments: passwords checked against a users file of scrypt hashes, and
 * publish/subscribe rights from an ACL file. The files are read once, here; to pick up changes,
 * create a new runtime.
 *
 * CONNECT (see `decideAuthConnect` for the full table): an unknown user or a wrong password gets
 * 0x86 (Bad user name or password; 3.1.1 return code 4); a client without credentials when
 * anonymous clients are not allowed, or one taking over another user's session, gets 0x87 (Not
 * authorized; 3.1.1 return code 5); an Authentication Method gets 0x8C.
 *
 * Publish, subscribe and retained delivery (checked as a subscription to the retained topic)
 * follow the ACL; server code is not subject to it (see `isServerContext`). Everything else —
 * pools, user contexts, classification, pings — is the default runtime's.
 *
 * @throws Error when a file cannot be read; `AuthFileError` (`file:line: problem`) when one does
 *   not parse.
 */
export async function createAuthRuntime(options: AuthOptions): Promise<Runtime<AuthUserContext>> {
  const { usersFile, aclFile } = options;
  const users =
    usersFile === undefined
      ? undefined
      : parseUsersFile(await readConfig(usersFile, 'users file'), usersFile);
  const acl =
    aclFile === undefined ? undefined : parseAcl(await readConfig(aclFile, 'ACL file'), aclFile);
  const allowAnonymous = options.allowAnonymous ?? users === undefined;
  if (!allowAnonymous && users === undefined) {
    throw new Error(
      'allowAnonymous: false needs a users file: without one every client is anonymous, so none could connect',
    );
  }
  const base: Runtime<AuthUserContext> = createDefaultRuntime(
    options.defaultPool === undefined ? {} : { defaultPool: options.defaultPool },
  );
  const guard = options.loginGuard ?? new LoginGuard();
  const policy = { users, allowAnonymous, decoyHash: await decoyFor(users), base, guard };
  return {
    ...base,
    connect: (packet, sessionPresent, connection, userContext) =>
      decideAuthConnect(policy, packet, sessionPresent, connection, userContext),
    isAllowed:
      acl === undefined
        ? base.isAllowed
        : (request, userContext) => isAllowedByRules(acl, request, userContext),
  };
}

function isAllowedByRules(
  acl: AclRules,
  request: AccessRequest,
  userContext: AuthUserContext,
): boolean {
  if (isServerContext(userContext)) return true;
  const who = { username: userContext.user, clientId: userContext.clientId };
  switch (request.action) {
    case 'publish':
      return isAllowedByAcl(acl, 'publish', request.topic, who);
    case 'subscribe':
      return isAllowedByAcl(acl, 'subscribe', request.topic, who);
    case 'deliver-retained':
      // A retained message's topic is a topic name, never a `$share/` subscription, so it is
      // checked directly rather than through isAllowedByAcl's `$share/` unwrapping.
      return (
        validateTopicName(request.topic, ACL_TOPIC_LIMITS).ok &&
        allowedOn(acl, 'subscribe', request.topic.split('/'), who)
      );
  }
}

/**
 * A hash of a random password at the cost of the file's first hash, so a login with an unknown
 * username takes as long as one with a wrong password. No users, nothing to hide: no decoy.
 */
async function decoyFor(
  users: ReadonlyMap<string, string> | undefined,
): Promise<string | undefined> {
  const first = users?.values().next().value;
  if (first === undefined) return undefined;
  // parseUsersFile has checked every hash; the throws only satisfy the types.
  if (isMosquittoHash(first)) {
    const mosquitto = decodeMosquittoHash(first);
    if (typeof mosquitto === 'string') throw new Error(mosquitto);
    return mosquittoDecoy(mosquitto);
  }
  const decoded = decodeScryptHash(first);
  if (typeof decoded === 'string') throw new Error(decoded);
  return hashPassword(randomBytes(16), decoded);
}

async function readConfig(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`cannot read the ${what} ${path}: ${reason}`, { cause: error });
  }
}
