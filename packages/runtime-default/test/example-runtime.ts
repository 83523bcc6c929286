import { timingSafeEqual } from 'node:crypto';
import {
  createDefaultRuntime,
  type DefaultUserContext,
  type Runtime,
} from '@mqtt-sessions/runtime-default';

const BAD_USERNAME_OR_PASSWORD = 0x86; // CONNACK reason code

/**
 * A runtime that checks passwords against a map and confines each user to the topics under
 * `users/{username}/`. Anything it does not override comes from the default runtime.
 * (A real deployment keeps salted password hashes, such as scrypt's, never the passwords.)
 */
export function createExampleRuntime(
  passwords: ReadonlyMap<string, string>,
): Runtime<DefaultUserContext> {
  const base = createDefaultRuntime();
  return {
    ...base,
    connect(packet, sessionPresent, connection, userContext) {
      const { username, password } = packet;
      const expected = username === undefined ? undefined : passwords.get(username);
      if (
        username === undefined ||
        !isTopicLevel(username) ||
        password === undefined ||
        expected === undefined ||
        !sameBytes(password, Buffer.from(expected, 'utf8'))
      ) {
        return { type: 'connack', reasonCode: BAD_USERNAME_OR_PASSWORD, userContext };
      }
      // The default decides the rest: no enhanced auth, and one user per session.
      return base.connect(packet, sessionPresent, connection, userContext);
    },
    isAllowed(request, userContext) {
      const levels = request.topic.split('/');
      return (
        userContext.user !== undefined && levels[0] === 'users' && levels[1] === userContext.user
      );
    },
  };
}

// A name with '/', '+' or '#' would reach into other users' topics.
function isTopicLevel(name: string): boolean {
  return name.length > 0 && !/[/+#]/.test(name);
}

// Compares in constant time, so the answer time does not tell how much of a guess was right.
function sameBytes(given: Buffer, expected: Buffer): boolean {
  return given.length === expected.length && timingSafeEqual(given, expected);
}
