export { DEFAULT_CONNECT_TIMEOUT_MS } from './constants.js';
export { MAX_TIMEOUT_MS } from './schedule.js';
export type { WillMessage } from './will-message.js';
export {
  type DisconnectOptions,
  type SessionEndReason,
  type WatchdogState,
  WillWatchdog,
  type WillWatchdogOptions,
} from './will-watchdog.js';
