export {
  Connection,
  type ConnectionOptions,
  type ConnectTarget,
  type EntryLimits,
  type Placement,
  type Transport,
} from './connection.js';
export {
  ContentType,
  type DecodedPayload,
  decodePayload,
  type EncodedPayload,
  encodePayload,
} from './payload.js';
export { vhostOf } from './placement.js';
export {
  createPool,
  DEFAULT_QUEUE_BUDGET,
  Pool,
  type PoolOptions,
  type PoolStats,
} from './pool.js';
export { PoolHost, type PoolRelay, type Topics } from './pool-host.js';
export { createPoolSet, PoolSet, type PoolSetOptions } from './pool-set.js';
export {
  CallbackSubscriber,
  type DeliveredMessage,
  type PublishOptions,
  type PublishOutcome,
  type ServerSubscription,
  type SubscribeOptions,
  type SubscribeOutcome,
} from './server-api.js';
export {
  attachSocket,
  attachWebSocket,
  type Connectable,
  DEFAULT_HIGH_WATER_MARK,
  type SocketOptions,
  type WebSocketLike,
  type WebSocketOptions,
} from './transports.js';
