/**
 * The vocabulary of MQTT 5 and 3.1.1 that every other package shares: reason codes and the
 * packets that may carry each, protocol limits, the message property set, MaybePromise helpers,
 * one clock and timers interface with a shared deadline queue, and the expiry arithmetic. No dependencies.
 *
 * @packageDocumentation
 */
export { DeadlineQueue, deadlinesOf, type Scheduled } from './deadlines.js';
export { expiresAt, isExpired, secondsLeft } from './expiry.js';
export {
  MAX_FOUR_BYTE_INTEGER,
  MAX_PACKET_IDENTIFIER,
  MAX_PACKET_SIZE,
  MAX_RECEIVE_MAXIMUM,
  MAX_STRING_BYTES,
  MAX_SUBSCRIPTION_IDENTIFIER,
  MAX_VARIABLE_BYTE_INTEGER,
  ProtocolLevel,
  type ProtocolVersion,
  SESSION_NEVER_EXPIRES,
} from './limits.js';
export { after, isPromiseLike, type MaybePromise } from './maybe-promise.js';
export {
  forwardedProperties,
  type MessageProperties,
  type QoS,
  type UserProperties,
} from './message.js';
export {
  CLIENT_DISCONNECT_REASON_CODES,
  isReasonCodeOf,
  REASON_CODES,
  type ReasonCodePacket,
  SERVER_DISCONNECT_REASON_CODES,
} from './reason-code-sets.js';
export {
  connackReturnCodeV3,
  isFailure,
  ReasonCode,
  ReturnCodeV3,
  SUBACK_FAILURE_V3,
} from './reason-codes.js';
export { type Clock, systemTimers, type Timers } from './timers.js';
