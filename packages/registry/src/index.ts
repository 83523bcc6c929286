export { createMemoryRegistry, MemoryRegistry } from './memory-registry.js';
export {
  createClientId,
  createRoutingId,
  GENERATED_ID_LENGTH,
  ID_ALPHABET,
  ROUTING_ID_PREFIX,
} from './random-id.js';
export type {
  DuplicateClientId,
  LocalRegisterResult,
  Registered,
  RegisterResult,
  RemoteClientId,
  SessionRegistry,
  TakeoverListener,
} from './session-registry.js';
export {
  type ClientIdErrorReason,
  type ClientIdLimits,
  type ClientIdValidation,
  DEFAULT_MAX_CLIENT_ID_BYTES,
  MAX_UTF8_STRING_BYTES,
  MIN_CLIENT_ID_LIMIT,
  validateClientId,
} from './validate-client-id.js';
