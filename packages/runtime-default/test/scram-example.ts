import { createDefaultRuntime } from '@mqtt-sessions/runtime-default';
import {
  createScramCredentials,
  createScramRuntime,
  type ScramCredentials,
} from '@mqtt-sessions/runtime-default/scram';

// Keep credentials, never passwords: a salt, an iteration count and two keys per user.
const users = new Map<string, ScramCredentials>([
  ['alice', await createScramCredentials('correct horse battery staple', { iterations: 4096 })],
]);

/** SCRAM-SHA-256 for clients that ask for it; everything else is the default runtime's. */
export const runtime = createScramRuntime({
  base: createDefaultRuntime(),
  lookup: (username) => users.get(username),
});

// Give it to createPool({ runtime }) from @mqtt-sessions/pool. A client connects with
// Authentication Method SCRAM-SHA-256 and client-first (`n,,n=alice,r=<nonce>`) as Authentication
// Data, answers the server's AUTH with client-final, and finds server-final in the CONNACK.
