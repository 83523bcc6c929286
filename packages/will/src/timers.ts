/** The clock the watchdog runs on; inject one in tests or to drive many watchdogs from one loop. */
export interface Timers {
  /** Calls `fn` once after `ms` milliseconds and returns a handle for {@link Timers.clearTimeout}. */
  setTimeout(fn: () => void, ms: number): unknown;
  /** Cancels a timer; a handle that already fired or was cleared is ignored. */
  clearTimeout(handle: unknown): void;
  /** The current time in milliseconds. */
  now(): number;
}

/**
 * The global `setTimeout`, `clearTimeout` and `Date.now`, looked up on every call so that fake
 * timers installed later (vitest, sinon) take effect. Timers are unref'd: a pending session expiry
 * never keeps the process alive on its own.
 */
export const systemTimers: Timers = {
  setTimeout(fn, ms) {
    const handle: unknown = globalThis.setTimeout(fn, ms);
    (handle as { unref?: () => unknown }).unref?.();
    return handle;
  },
  clearTimeout(handle) {
    globalThis.clearTimeout(handle as Parameters<typeof globalThis.clearTimeout>[0]);
  },
  now() {
    return Date.now();
  },
};
