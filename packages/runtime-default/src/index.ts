export type {
  AccessRequest,
  AuthProperties,
  ConnackProperties,
  ConnectionInfo,
  ConnectResult,
  ContextPrefs,
  MaybePromise,
  PoolChoice,
  PublishRequest,
  Runtime,
  SessionInfo,
} from './runtime.js';
