export type { SessionConnection, SessionLink } from './attachment.js';
export type { DisconnectProperties, ForwardedBytes } from './context.js';
export { EncodeError, encode, encodeMessageProperties } from './encode.js';
export {
  countDrop,
  createSessionMetrics,
  type DropReason,
  type SessionEvent,
  type SessionHost,
  type SessionMetrics,
} from './host.js';
export { DEFAULT_SESSION_OPTIONS, resolveSessionOptions, type SessionOptions } from './options.js';
export type { SessionJournal } from './persistence.js';
export { QueueBudget, queuedSize } from './queue-budget.js';
export { RetainedDelivery, type RetainedReceiver } from './retained.js';
export {
  Session,
  type SessionParams,
  type SessionSettings,
  type SessionStats,
  type SharedSessionSettings,
  shareSessionSettings,
} from './session.js';
