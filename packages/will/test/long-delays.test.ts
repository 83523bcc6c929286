import { SESSION_NEVER_EXPIRES, type Timers } from '@mqtt-sessions/protocol';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MAX_TIMEOUT_MS, WillWatchdog } from '../src/index.js';
import { summary, watch, willWith } from './helpers.js';

const DAY = 24 * 3600 * 1000;

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('delays beyond what setTimeout takes', () => {
  it('does not fire at once for an expiry longer than 2^31-1 ms, and fires on time', () => {
    const { watchdog, events } = watch();
    watchdog.connected(willWith(40 * 24 * 3600), 30 * 24 * 3600);
    watchdog.disconnected({ publishWill: true });
    vi.advanceTimersByTime(1);
    expect(events).toEqual([]);
    vi.advanceTimersByTime(30 * DAY - 2);
    expect(events).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(summary(events)).toEqual([`will@${30 * DAY}`, `end:session-expired@${30 * DAY}`]);
  });

  it('publishes a Will with a delay longer than 2^31-1 ms on time', () => {
    const { watchdog, events } = watch();
    watchdog.connected(willWith(50 * 24 * 3600), SESSION_NEVER_EXPIRES);
    watchdog.disconnected({ publishWill: true });
    vi.advanceTimersByTime(50 * DAY - 1);
    expect(events).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(summary(events)).toEqual([`will@${50 * DAY}`]);
  });

  it('never ends a session with expiry 0xFFFFFFFF, but still publishes the Will after its delay', () => {
    const { watchdog, events } = watch();
    watchdog.connected(willWith(100), SESSION_NEVER_EXPIRES);
    watchdog.disconnected({ publishWill: true });
    expect(watchdog.remainingSessionExpiryMs()).toBe(Number.POSITIVE_INFINITY);
    vi.advanceTimersByTime(100_000);
    expect(summary(events)).toEqual(['will@100000']);
    vi.advanceTimersByTime(1000 * DAY);
    expect(events).toHaveLength(1);
    expect(watchdog.state).toBe('disconnected');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('ends a session with the longest finite expiry, 0xFFFFFFFE s, only after it', () => {
    const { watchdog, events } = watch();
    watchdog.connected(undefined, SESSION_NEVER_EXPIRES - 1);
    watchdog.disconnected({ publishWill: true });
    vi.advanceTimersByTime(10 * 365 * DAY);
    expect(events).toEqual([]);
    expect(watchdog.remainingSessionExpiryMs()).toBe(
      (SESSION_NEVER_EXPIRES - 1) * 1000 - 3650 * DAY,
    );
  });

  it('never asks an injected clock for a timer longer than 2^31-1 ms', () => {
    const delays: number[] = [];
    const timers: Timers = {
      setTimeout: (fn, ms) => {
        delays.push(ms);
        return globalThis.setTimeout(fn, ms);
      },
      clearTimeout: (handle) => globalThis.clearTimeout(handle as number),
      now: () => Date.now(),
    };
    const ended: string[] = [];
    const watchdog = new WillWatchdog({
      publishWill: () => {},
      endSession: (reason) => {
        ended.push(reason);
      },
      userContext: undefined,
      timers,
    });
    watchdog.connected(undefined, 60 * 24 * 3600);
    watchdog.disconnected({ publishWill: true });
    vi.advanceTimersByTime(60 * DAY);
    expect(ended).toEqual(['session-expired']);
    expect(Math.max(...delays)).toBe(MAX_TIMEOUT_MS);
    expect(delays.reduce((sum, ms) => sum + ms, 0)).toBe(60 * DAY);
  });
});
