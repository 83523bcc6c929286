import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { summary, watch, willWith } from './helpers.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('Will and session expiry after a disconnect', () => {
  it('publishes the Will after its delay and ends the session at its expiry [MQTT-3.1.2-8]', () => {
    const { watchdog, events } = watch();
    watchdog.connected(willWith(10), 60);
    watchdog.disconnected({ publishWill: true });
    expect(watchdog.state).toBe('disconnected');
    vi.advanceTimersByTime(9_999);
    expect(events).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(summary(events)).toEqual(['will@10000']);
    vi.advanceTimersByTime(49_999);
    expect(summary(events)).toEqual(['will@10000']);
    vi.advanceTimersByTime(1);
    expect(summary(events)).toEqual(['will@10000', 'end:session-expired@60000']);
    expect(watchdog.state).toBe('ended');
  });

  it('publishes the Will when the session ends, if that comes before its delay [MQTT-3.1.2-8]', () => {
    const { watchdog, events } = watch();
    watchdog.connected(willWith(600), 60);
    watchdog.disconnected({ publishWill: true });
    vi.advanceTimersByTime(59_999);
    expect(events).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(summary(events)).toEqual(['will@60000', 'end:session-expired@60000']);
    vi.advanceTimersByTime(600_000);
    expect(events).toHaveLength(2);
  });

  it('publishes the Will with the end when the delay equals the expiry', () => {
    const { watchdog, events } = watch();
    watchdog.connected(willWith(60), 60);
    watchdog.disconnected({ publishWill: true });
    vi.advanceTimersByTime(60_000);
    expect(summary(events)).toEqual(['will@60000', 'end:session-expired@60000']);
  });

  it('publishes the Will and ends the session at once when the session expiry is 0', () => {
    const { watchdog, events } = watch();
    watchdog.connected(willWith(30), 0);
    watchdog.disconnected({ publishWill: true });
    expect(summary(events)).toEqual(['will@0', 'end:session-expired@0']);
    expect(watchdog.state).toBe('ended');
  });

  it('publishes a Will without delay at once while the session lives on', () => {
    const { watchdog, events } = watch();
    watchdog.connected(willWith(0), 300);
    watchdog.disconnected({ publishWill: true });
    expect(summary(events)).toEqual(['will@0']);
    vi.advanceTimersByTime(300_000);
    expect(summary(events)).toEqual(['will@0', 'end:session-expired@300000']);
  });

  it('deletes the Will on DISCONNECT with reason 0x00, and still expires the session [MQTT-3.1.2-10]', () => {
    const { watchdog, events } = watch();
    watchdog.connected(willWith(0), 60);
    watchdog.disconnected({ publishWill: false });
    vi.advanceTimersByTime(60_000);
    expect(summary(events)).toEqual(['end:session-expired@60000']);
  });

  it('deletes the Will on DISCONNECT with reason 0x00 when the session ends at once [MQTT-3.1.2-10]', () => {
    const { watchdog, events } = watch();
    watchdog.connected(willWith(0), 0);
    watchdog.disconnected({ publishWill: false });
    expect(summary(events)).toEqual(['end:session-expired@0']);
  });

  it('takes the session expiry of the DISCONNECT over the one of the CONNECT', () => {
    const { watchdog, events } = watch();
    watchdog.connected(willWith(600), 60);
    watchdog.disconnected({ publishWill: true, sessionExpirySeconds: 120 });
    expect(watchdog.remainingSessionExpiryMs()).toBe(120_000);
    vi.advanceTimersByTime(120_000);
    expect(summary(events)).toEqual(['will@120000', 'end:session-expired@120000']);
  });

  it('does not publish the Will after a reconnect before its delay [MQTT-3.1.3-9]', () => {
    const { watchdog, events } = watch();
    watchdog.connected(willWith(10), 60);
    watchdog.disconnected({ publishWill: true });
    vi.advanceTimersByTime(9_000);
    watchdog.connected(undefined, 60);
    expect(watchdog.state).toBe('connected');
    vi.advanceTimersByTime(3_600_000);
    expect(events).toEqual([]);
  });

  it('publishes the Will of the latest connection only', () => {
    const { watchdog, events } = watch();
    watchdog.connected(willWith(10, 'old'), 60);
    watchdog.disconnected({ publishWill: true });
    watchdog.connected(willWith(10, 'new'), 60);
    watchdog.disconnected({ publishWill: true });
    vi.advanceTimersByTime(10_000);
    expect(events.map((event) => event.type === 'will' && event.will.topic)).toEqual(['new']);
  });

  it('replaces the Will without publishing it when a new connection takes over [MQTT-3.1.2-8]', () => {
    const { watchdog, events } = watch();
    watchdog.connected(willWith(0, 'old'), 60);
    watchdog.connected(willWith(0, 'new'), 60);
    watchdog.disconnected({ publishWill: true });
    expect(events.map((event) => event.type === 'will' && event.will.topic)).toEqual(['new']);
  });

  it('publishes the Will with the latest user context', () => {
    const { watchdog, events } = watch();
    watchdog.connected(willWith(10), 60);
    watchdog.setUserContext('context-2');
    watchdog.disconnected({ publishWill: true });
    watchdog.setUserContext('context-3');
    vi.advanceTimersByTime(10_000);
    expect(events[0]).toMatchObject({ type: 'will', userContext: 'context-3' });
  });

  it('hands over the Will as stored: message expiry untouched, no delay among the properties', () => {
    const { watchdog, events } = watch();
    const will = willWith(5);
    watchdog.connected(will, 60);
    watchdog.disconnected({ publishWill: true });
    vi.advanceTimersByTime(5_000);
    expect(events[0]).toMatchObject({ type: 'will', will });
    const published = events[0]?.type === 'will' ? events[0].will : undefined;
    expect(published?.properties).toEqual({
      messageExpiryInterval: 120,
      contentType: 'text/plain',
    });
  });

  it('counts down the session expiry for introspection', () => {
    const { watchdog } = watch();
    expect(watchdog.remainingSessionExpiryMs()).toBeUndefined();
    watchdog.connected(willWith(30), 300);
    expect(watchdog.remainingSessionExpiryMs()).toBeUndefined();
    watchdog.disconnected({ publishWill: true });
    expect(watchdog.remainingSessionExpiryMs()).toBe(300_000);
    expect(watchdog.remainingWillDelayMs()).toBe(30_000);
    vi.advanceTimersByTime(100_000);
    expect(watchdog.remainingSessionExpiryMs()).toBe(200_000);
    expect(watchdog.remainingWillDelayMs()).toBeUndefined();
    vi.advanceTimersByTime(200_000);
    expect(watchdog.remainingSessionExpiryMs()).toBeUndefined();
  });

  it('reports a Will that waits for the session end with the session expiry', () => {
    const { watchdog } = watch();
    watchdog.connected(willWith(600), 60);
    watchdog.disconnected({ publishWill: true });
    expect(watchdog.remainingWillDelayMs()).toBe(60_000);
  });

  it('ends a session that disconnects during its handshake at once by default', () => {
    const { watchdog, events } = watch();
    watchdog.start();
    watchdog.disconnected({ publishWill: true });
    expect(summary(events)).toEqual(['end:session-expired@0']);
  });
});
