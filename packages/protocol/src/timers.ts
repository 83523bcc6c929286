/** A clock: the current time in milliseconds since the epoch. */
export interface Clock {
  now(): number;
}

/** A clock with one-shot timers; inject fake ones in tests, or drive many users from one loop. */
export interface Timers extends Clock {
  /** Calls `fn` once after `ms` milliseconds and returns a handle for {@link Timers.clearTimeout}. */
  setTimeout(fn: () => void, ms: number): unknown;
  /** Cancels a timer; a handle that already fired or was cleared is ignored. */
  clearTimeout(handle: unknown): void;
}

/**
 * The global `setTimeout`, `clearTimeout` and `Date.now`, looked up on every call so that fake
 * timers installed later (vitest, sinon) take effect. Timers are unref'd: a pending timer never
 * keeps the process alive on its own.
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
