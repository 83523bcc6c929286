export {
  DEFAULT_CONNECT_TIMEOUT_MS,
  MAX_INTERVAL_SECONDS,
  SESSION_NEVER_EXPIRES,
} from './constants.js';
export { MAX_TIMEOUT_MS } from './schedule.js';
export { systemTimers, type Timers } from './timers.js';
export type { WillMessage } from './will-message.js';
export {
  type DisconnectOptions,
  type SessionEndReason,
  type WatchdogState,
  WillWatchdog,
  type WillWatchdogOptions,
} from './will-watchdog.js';
