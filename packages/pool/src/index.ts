export {
  Connection,
  type ConnectionOptions,
  type ConnectTarget,
  type Transport,
} from './connection.js';
export {
  ContentType,
  type DecodedPayload,
  decodePayload,
  type EncodedPayload,
  encodePayload,
} from './payload.js';
export { createPool, Pool, type PoolOptions, type PoolStats, vhostOf } from './pool.js';
export {
  CallbackSubscriber,
  type DeliveredMessage,
  type PublishOptions,
  type PublishOutcome,
  type ServerSubscription,
  type SubscribeOptions,
  type SubscribeOutcome,
} from './server-api.js';
export { createSessions, Sessions, type SessionsOptions } from './sessions.js';
