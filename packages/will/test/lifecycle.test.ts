import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WillWatchdog } from '../src/index.js';
import { summary, watch, willWith } from './helpers.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('sessionEnded', () => {
  it('publishes a pending Will at once when the owner ends the session [MQTT-3.1.2-8]', () => {
    const { watchdog, events } = watch();
    watchdog.connected(willWith(30), 300);
    watchdog.disconnected({ publishWill: true });
    vi.advanceTimersByTime(5_000);
    watchdog.sessionEnded();
    expect(summary(events)).toEqual(['will@5000']);
    expect(watchdog.state).toBe('ended');
    vi.advanceTimersByTime(600_000);
    expect(events).toHaveLength(1);
  });

  it('publishes the Will of a connected session that is killed', () => {
    const { watchdog, events } = watch();
    watchdog.connected(willWith(30), 300);
    watchdog.sessionEnded();
    expect(summary(events)).toEqual(['will@0']);
  });

  it('publishes nothing when the Will was deleted or already published', () => {
    const deleted = watch();
    deleted.watchdog.connected(willWith(30), 300);
    deleted.watchdog.disconnected({ publishWill: false });
    deleted.watchdog.sessionEnded();
    expect(deleted.events).toEqual([]);

    const published = watch();
    published.watchdog.connected(willWith(0), 300);
    published.watchdog.disconnected({ publishWill: true });
    published.watchdog.sessionEnded();
    expect(summary(published.events)).toEqual(['will@0']);
  });

  it('cancels the connect timeout of a session that never connected', () => {
    const { watchdog, events } = watch();
    watchdog.start();
    watchdog.sessionEnded();
    vi.advanceTimersByTime(60_000);
    expect(events).toEqual([]);
  });
});

describe('stop and discardWill', () => {
  it('stop cancels everything and publishes nothing', () => {
    const { watchdog, events } = watch();
    watchdog.connected(willWith(10), 60);
    watchdog.disconnected({ publishWill: true });
    watchdog.stop();
    vi.advanceTimersByTime(3_600_000);
    watchdog.sessionEnded();
    expect(events).toEqual([]);
    expect(watchdog.state).toBe('ended');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('discardWill deletes a pending Will and lets the session expire', () => {
    const { watchdog, events } = watch();
    watchdog.connected(willWith(10), 60);
    watchdog.disconnected({ publishWill: true });
    watchdog.discardWill();
    expect(watchdog.remainingWillDelayMs()).toBeUndefined();
    vi.advanceTimersByTime(60_000);
    expect(summary(events)).toEqual(['end:session-expired@60000']);
  });

  it('discardWill while connected means nothing is published later', () => {
    const { watchdog, events } = watch();
    watchdog.connected(willWith(0), 0);
    watchdog.discardWill();
    watchdog.disconnected({ publishWill: true });
    expect(summary(events)).toEqual(['end:session-expired@0']);
  });
});

describe('double calls and late events', () => {
  it('counts only the first disconnected: a socket close after DISCONNECT 0x00 keeps the Will deleted', () => {
    const { watchdog, events } = watch();
    watchdog.connected(willWith(10), 60);
    watchdog.disconnected({ publishWill: false });
    vi.advanceTimersByTime(30_000);
    watchdog.disconnected({ publishWill: true, sessionExpirySeconds: 0 });
    expect(events).toEqual([]);
    vi.advanceTimersByTime(30_000);
    expect(summary(events)).toEqual(['end:session-expired@60000']);
  });

  it('ignores everything but setUserContext once ended', () => {
    const { watchdog, events } = watch();
    watchdog.connected(willWith(0), 0);
    watchdog.disconnected({ publishWill: true });
    watchdog.connected(willWith(0), 0);
    watchdog.disconnected({ publishWill: true });
    watchdog.start();
    watchdog.authenticating();
    watchdog.sessionEnded();
    vi.advanceTimersByTime(60_000);
    expect(summary(events)).toEqual(['will@0', 'end:session-expired@0']);
    expect(watchdog.state).toBe('ended');
  });

  it('lets a callback call back into the watchdog without a second publish', () => {
    const events: string[] = [];
    const watchdog: WillWatchdog<string> = new WillWatchdog<string>({
      publishWill: (will) => {
        events.push(`will:${will.topic}`);
        watchdog.sessionEnded();
      },
      endSession: (reason) => {
        events.push(`end:${reason}`);
        watchdog.sessionEnded();
      },
      userContext: 'context-1',
    });
    watchdog.connected(willWith(120), 60);
    watchdog.disconnected({ publishWill: true });
    vi.advanceTimersByTime(60_000);
    expect(events).toEqual(['will:status/client-1', 'end:session-expired']);
  });

  it('refuses an interval that is not a whole number of seconds from 0 to 0xFFFFFFFF, changing nothing', () => {
    const { watchdog, events } = watch();
    watchdog.connected(willWith(10), 60);
    expect(() => watchdog.connected(willWith(-1), 60)).toThrow(RangeError);
    expect(() => watchdog.connected(willWith(10), 2 ** 32)).toThrow(RangeError);
    expect(() => watchdog.disconnected({ publishWill: true, sessionExpirySeconds: 1.5 })).toThrow(
      RangeError,
    );
    expect(watchdog.state).toBe('connected');
    watchdog.disconnected({ publishWill: true });
    vi.advanceTimersByTime(10_000);
    expect(summary(events)).toEqual(['will@10000']);
  });
});
