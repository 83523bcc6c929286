import { describe, expect, it } from 'vitest';
import { createMemoryRegistry, MemoryRegistry, type SessionRegistry } from '../src/index.js';

interface Session {
  readonly name: string;
}

const first: Session = { name: 'first' };
const second: Session = { name: 'second' };

describe('MemoryRegistry', () => {
  it('starts empty', () => {
    const registry = createMemoryRegistry<Session>();
    expect(registry).toBeInstanceOf(MemoryRegistry);
    expect(registry.count()).toBe(0);
    expect(registry.find('a')).toBeUndefined();
    expect(registry.whois(first)).toBeUndefined();
    expect([...registry.handles()]).toEqual([]);
  });

  it('finds a registered session by client id and the client id by session', () => {
    const registry = createMemoryRegistry<Session>();
    expect(registry.register('a', first)).toEqual({ ok: true });
    expect(registry.find('a')).toBe(first);
    expect(registry.whois(first)).toBe('a');
    expect(registry.count()).toBe(1);
  });

  it('accepts registering the same session under the same client id twice', () => {
    const registry = createMemoryRegistry<Session>();
    registry.register('a', first);
    expect(registry.register('a', first)).toEqual({ ok: true });
    expect(registry.count()).toBe(1);
  });

  it('returns a duplicate with the existing session and changes nothing', () => {
    const registry = createMemoryRegistry<Session>();
    registry.register('a', first);
    expect(registry.register('a', second)).toEqual({
      ok: false,
      reason: 'duplicate',
      existing: first,
    });
    expect(registry.find('a')).toBe(first);
    expect(registry.whois(second)).toBeUndefined();
    expect(registry.count()).toBe(1);
  });

  it('throws when one session is registered under a second client id', () => {
    const registry = createMemoryRegistry<Session>();
    registry.register('a', first);
    expect(() => registry.register('b', first)).toThrow(/already registered as client id "a"/);
    expect(registry.find('b')).toBeUndefined();
  });

  it('unregisters by client id', () => {
    const registry = createMemoryRegistry<Session>();
    registry.register('a', first);
    expect(registry.unregister('a')).toBe(true);
    expect(registry.unregister('a')).toBe(false);
    expect(registry.find('a')).toBeUndefined();
    expect(registry.whois(first)).toBeUndefined();
    expect(registry.count()).toBe(0);
  });

  it('unregisters with a handle only when the handle matches, so a late unregister keeps the successor', () => {
    const registry = createMemoryRegistry<Session>();
    registry.register('a', second);
    expect(registry.unregister('a', first)).toBe(false);
    expect(registry.find('a')).toBe(second);
    expect(registry.unregister('a', second)).toBe(true);
    expect(registry.count()).toBe(0);
  });

  it('frees the client id for a new session after unregister', () => {
    const registry = createMemoryRegistry<Session>();
    registry.register('a', first);
    registry.unregister('a', first);
    expect(registry.register('a', second)).toEqual({ ok: true });
    expect(registry.whois(second)).toBe('a');
    expect(registry.register('b', first)).toEqual({ ok: true });
  });

  it('iterates the registered sessions and survives unregistering during the iteration', () => {
    const registry = createMemoryRegistry<Session>();
    const third: Session = { name: 'third' };
    registry.register('a', first);
    registry.register('b', second);
    registry.register('c', third);
    expect([...registry.handles()]).toEqual([first, second, third]);
    const seen: Session[] = [];
    for (const session of registry.handles()) {
      seen.push(session);
      const clientId = registry.whois(session);
      if (clientId !== undefined) registry.unregister(clientId, session);
    }
    expect(seen).toEqual([first, second, third]);
    expect(registry.count()).toBe(0);
  });

  it('keeps separate pools in separate instances', () => {
    const pool1 = createMemoryRegistry<Session>();
    const pool2 = createMemoryRegistry<Session>();
    pool1.register('a', first);
    expect(pool2.register('a', second)).toEqual({ ok: true });
    expect(pool1.find('a')).toBe(first);
    expect(pool2.find('a')).toBe(second);
  });

  it('works with primitive handles', () => {
    const registry = createMemoryRegistry<number>();
    registry.register('a', 0);
    expect(registry.find('a')).toBe(0);
    expect(registry.whois(0)).toBe('a');
  });

  it('implements the SessionRegistry contract and never announces a takeover', () => {
    const registry: SessionRegistry<Session> = createMemoryRegistry<Session>();
    const unsubscribe = registry.onTakeover?.(() => {
      throw new Error('never called');
    });
    expect(typeof unsubscribe).toBe('function');
    unsubscribe?.();
  });
});
