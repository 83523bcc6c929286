import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type SessionEndReason, WillWatchdog } from '../src/index.js';
import { willWith } from './helpers.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('callbacks that fail', () => {
  it('still ends the session when publishWill throws, and rethrows to the caller', () => {
    const ended: SessionEndReason[] = [];
    const watchdog = new WillWatchdog({
      publishWill: () => {
        throw new Error('router down');
      },
      endSession: (reason) => {
        ended.push(reason);
      },
      userContext: undefined,
    });
    watchdog.connected(willWith(0), 0);
    expect(() => watchdog.disconnected({ publishWill: true })).toThrow('router down');
    expect(ended).toEqual(['session-expired']);
    expect(watchdog.state).toBe('ended');
  });

  it('reports both errors when both callbacks throw', () => {
    const watchdog = new WillWatchdog({
      publishWill: () => {
        throw new Error('one');
      },
      endSession: () => {
        throw new Error('two');
      },
      userContext: undefined,
    });
    watchdog.connected(willWith(0), 0);
    expect(() => watchdog.disconnected({ publishWill: true })).toThrow(AggregateError);
  });

  it('sends errors from timers to onError and keeps working', () => {
    const errors: unknown[] = [];
    const ended: SessionEndReason[] = [];
    const watchdog = new WillWatchdog({
      publishWill: () => {
        throw new Error('acl backend down');
      },
      endSession: (reason) => {
        ended.push(reason);
      },
      userContext: undefined,
      onError: (error) => {
        errors.push(error);
      },
    });
    watchdog.connected(willWith(10), 60);
    watchdog.disconnected({ publishWill: true });
    vi.advanceTimersByTime(10_000);
    expect(errors).toEqual([new Error('acl backend down')]);
    expect(watchdog.state).toBe('disconnected');
    vi.advanceTimersByTime(50_000);
    expect(ended).toEqual(['session-expired']);
    expect(errors).toHaveLength(1);
  });

  it('sends a rejected publish to onError', async () => {
    const errors: unknown[] = [];
    const watchdog = new WillWatchdog({
      publishWill: () => Promise.reject(new Error('async failure')),
      endSession: () => {},
      userContext: undefined,
      onError: (error) => {
        errors.push(error);
      },
    });
    watchdog.connected(willWith(0), 0);
    watchdog.disconnected({ publishWill: true });
    await vi.waitFor(() => expect(errors).toEqual([new Error('async failure')]));
  });

  it('ends the session on connect timeout even when endSession throws, once', () => {
    const errors: unknown[] = [];
    let calls = 0;
    const watchdog = new WillWatchdog({
      publishWill: () => {},
      endSession: () => {
        calls++;
        throw new Error('kill failed');
      },
      userContext: undefined,
      onError: (error) => {
        errors.push(error);
      },
    });
    watchdog.start();
    vi.advanceTimersByTime(40_000);
    expect(calls).toBe(1);
    expect(errors).toHaveLength(1);
    expect(watchdog.state).toBe('ended');
  });
});
