export {
  Attachment,
  type AttachmentState,
  type DisconnectProperties,
  type SessionLink,
} from './attachment.js';
export { EncodeError, encode } from './encode.js';
export {
  createSessionMetrics,
  type DropReason,
  type SessionEvent,
  type SessionHost,
  type SessionMetrics,
} from './host.js';
export { DEFAULT_SESSION_OPTIONS, resolveSessionOptions, type SessionOptions } from './options.js';
export { Session, type SessionParams, type SessionStats } from './session.js';
