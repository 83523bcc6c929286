import type { Timers } from '@mqtt-sessions/protocol';

/**
 * The longest delay `setTimeout` takes (2^31 - 1 ms, about 24.8 days). Node fires a longer one
 * after 1 ms instead, so longer delays are chained from timers of at most this length.
 */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/**
 * Calls `fire` once after `delayMs` (any finite length), unless the returned function cancels it
 * first. Long delays run as a chain of timers; the chain counts elapsed chunks rather than reading
 * the clock, so a wall-clock jump does not move the deadline.
 */
export function schedule(timers: Timers, delayMs: number, fire: () => void): () => void {
  let remaining = delayMs;
  let handle: unknown;
  let active = true;
  const tick = (): void => {
    if (!active) return;
    if (remaining > 0) {
      arm();
      return;
    }
    active = false;
    fire();
  };
  const arm = (): void => {
    const chunk = Math.min(remaining, MAX_TIMEOUT_MS);
    remaining -= chunk;
    handle = timers.setTimeout(tick, chunk);
  };
  arm();
  return () => {
    if (!active) return;
    active = false;
    timers.clearTimeout(handle);
  };
}
