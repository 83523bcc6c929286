export {
  createDefaultRuntime,
  DEFAULT_POOL,
  type DefaultRuntimeOptions,
} from './default-runtime.js';
export type {
  AccessDecision,
  AccessDenied,
  AccessRequest,
  AuthProperties,
  ConnackProperties,
  ConnectionInfo,
  ConnectResult,
  ContextPrefs,
  PoolChoice,
  PublishRequest,
  Runtime,
  SessionInfo,
} from './runtime.js';
export type { DefaultUserContext, PersistentDefaultUserData } from './user-context.js';
