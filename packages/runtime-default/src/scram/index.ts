/**
 * `@mqtt-sessions/runtime-default/scram`: SCRAM-SHA-256 enhanced authentication (MQTT 5
 * section 4.12) as a runtime that wraps another.
 */
export {
  createScramCredentials,
  type ScramCredentialOptions,
  type ScramCredentials,
} from './credentials.js';
export {
  createScramRuntime,
  SCRAM_FAILURE,
  SCRAM_SHA_256,
  type ScramRuntimeOptions,
  type ScramUserContext,
} from './runtime.js';
