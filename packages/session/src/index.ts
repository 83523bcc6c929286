export {
  Attachment,
  type AttachmentState,
  type DisconnectProperties,
  type SessionLink,
} from './attachment.js';
export { EncodeError, encode, type ProtocolVersion } from './encode.js';
export {
  createSessionMetrics,
  type DropReason,
  type SessionEvent,
  type SessionHost,
  type SessionMetrics,
} from './host.js';
export { after, isPromiseLike } from './maybe-promise.js';
export { DEFAULT_SESSION_OPTIONS, resolveSessionOptions, type SessionOptions } from './options.js';
export {
  connackReturnCodeV3,
  MAX_PACKET_SIZE,
  MAX_SUBSCRIPTION_IDENTIFIER,
  ReasonCode,
  ReturnCodeV3,
  SESSION_NEVER_EXPIRES,
} from './reason-codes.js';
export { Session, type SessionParams, type SessionStats } from './session.js';
