import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { summary, watch, willWith } from './helpers.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('connect timeout', () => {
  it('ends a session whose CONNECT never completes at 20 s, and not before', () => {
    const { watchdog, events } = watch();
    watchdog.start();
    expect(watchdog.state).toBe('connecting');
    vi.advanceTimersByTime(19_999);
    expect(events).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(summary(events)).toEqual(['end:connect-timeout@20000']);
    expect(watchdog.state).toBe('ended');
    vi.advanceTimersByTime(60_000);
    expect(events).toHaveLength(1);
  });

  it('does nothing before start', () => {
    const { events } = watch();
    vi.advanceTimersByTime(60_000);
    expect(events).toEqual([]);
  });

  it('is cancelled by connected', () => {
    const { watchdog, events } = watch();
    watchdog.start();
    vi.advanceTimersByTime(10_000);
    watchdog.connected(willWith(0), 300);
    vi.advanceTimersByTime(60_000);
    expect(events).toEqual([]);
    expect(watchdog.state).toBe('connected');
  });

  it('is armed once: a second start keeps the first deadline', () => {
    const { watchdog, events } = watch();
    watchdog.start();
    vi.advanceTimersByTime(15_000);
    watchdog.start();
    vi.advanceTimersByTime(5_000);
    expect(summary(events)).toEqual(['end:connect-timeout@20000']);
  });

  it('takes its length from connectTimeoutMs; Infinity disables it', () => {
    const short = watch({ connectTimeoutMs: 5_000 });
    short.watchdog.start();
    vi.advanceTimersByTime(5_000);
    expect(summary(short.events)).toEqual(['end:connect-timeout@5000']);

    const never = watch({ connectTimeoutMs: Number.POSITIVE_INFINITY });
    never.watchdog.start();
    vi.advanceTimersByTime(365 * 24 * 3600 * 1000);
    expect(never.events).toEqual([]);
  });

  it('refuses a negative or NaN connectTimeoutMs', () => {
    expect(() => watch({ connectTimeoutMs: -1 })).toThrow(RangeError);
    expect(() => watch({ connectTimeoutMs: Number.NaN })).toThrow(RangeError);
  });

  it('starts again on each enhanced-authentication step, so a stalled exchange still ends', () => {
    const { watchdog, events } = watch();
    watchdog.start();
    vi.advanceTimersByTime(15_000);
    watchdog.authenticating();
    vi.advanceTimersByTime(19_999);
    expect(events).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(summary(events)).toEqual(['end:connect-timeout@35000']);
  });

  it('ignores authenticating outside the handshake of a new session', () => {
    const { watchdog, events } = watch();
    watchdog.connected(undefined, 300);
    watchdog.authenticating();
    vi.advanceTimersByTime(60_000);
    expect(events).toEqual([]);
    watchdog.disconnected({ publishWill: true });
    watchdog.authenticating();
    expect(watchdog.remainingSessionExpiryMs()).toBe(300_000);
    vi.advanceTimersByTime(300_000);
    expect(summary(events)).toEqual(['end:session-expired@360000']);
  });
});
