import type { DefaultUserContext } from '@mqtt-sessions/runtime-default';

/**
 * The user context of the auth runtime: the default runtime's, where `user` is the username
 * whose password was checked against the users file (`undefined` for an anonymous client).
 */
export interface AuthUserContext extends DefaultUserContext {}

/**
 * True for the user context of server code: the broker's own `$SYS` publishes, and any
 * `serverPublish`/`serverSubscribe` made without a user context. The pool makes those contexts
 * with an empty routing id, while every client session has one from the registry (`r:` + 20
 * characters), so no client can pass for server code.
 */
export function isServerContext(userContext: AuthUserContext): boolean {
  return userContext.routingId === '';
}
