import { FakeClock } from '@mqtt-sessions/retain/testkit';
import { storedMessage, storedSession } from '@mqtt-sessions/session-store/testkit';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openSqliteStore } from '../src/index.js';
import { useTempFiles } from './temp-dir.js';

const newFile = useTempFiles('store');
const key = { pool: 'kit', clientId: 'c1' };

describe('one file for sessions and retained messages', () => {
  it('keeps both across a reopening', () => {
    const file = newFile();
    const clock = new FakeClock();
    const first = openSqliteStore({ file, clock });
    first.sessions.apply([
      { type: 'session', session: storedSession('c1') },
      { type: 'message', key, message: storedMessage(1) },
    ]);
    first.retain.set({ topic: 'a/b', payload: Buffer.from('ab'), qos: 1 });
    first.retain.set({
      topic: 'a/c',
      payload: Buffer.from('ac'),
      qos: 2,
      properties: { contentType: 'text/plain', messageExpiryInterval: 60 },
      propertyBytes: Buffer.from([0x03, 0, 1, 0x78]),
    });
    const session = first.sessions.load(key);
    const retained = first.retain.get('a/c');
    const bytes = first.retain.bytes();
    first.close();

    const second = openSqliteStore({ file, clock });
    expect(second.sessions.load(key)).toEqual(session);
    expect(second.retain.get('a/c')).toEqual(retained);
    expect(second.retain.count()).toBe(2);
    expect(second.retain.bytes()).toBe(bytes);
    expect(
      second.retain
        .match('a/+')
        .messages.map((m) => m.topic)
        .sort(),
    ).toEqual(['a/b', 'a/c']);
    second.close();
  });

  it('drops retained messages that expired while the file was closed', () => {
    const file = newFile();
    const clock = new FakeClock();
    const first = openSqliteStore({ file, clock });
    first.retain.set({
      topic: 'short',
      payload: Buffer.from('1'),
      qos: 0,
      properties: { messageExpiryInterval: 5 },
    });
    first.retain.set({
      topic: 'long',
      payload: Buffer.from('2'),
      qos: 0,
      properties: { messageExpiryInterval: 50 },
    });
    first.retain.set({ topic: 'never', payload: Buffer.from('3'), qos: 0 });
    const neverBytes = first.retain.bytes();
    first.close();

    clock.advance(10_000);
    const second = openSqliteStore({ file, clock });
    expect(second.retain.get('short')).toBeUndefined();
    expect(second.retain.get('long')?.properties.messageExpiryInterval).toBe(40);
    expect(second.retain.count()).toBe(2);
    clock.advance(40_000);
    expect(second.retain.count()).toBe(1);
    expect(second.retain.bytes()).toBeLessThan(neverBytes);
    second.close();
    const raw = new Database(file, { readonly: true });
    expect(raw.prepare('SELECT topic FROM retained').pluck().all()).toEqual(['never']);
    raw.close();
  });

  it('applies the default expiry of the retain options', () => {
    const clock = new FakeClock();
    const store = openSqliteStore({ file: newFile(), clock, retain: { defaultExpirySeconds: 2 } });
    store.retain.set({ topic: 't', payload: Buffer.from('x'), qos: 0 });
    expect(store.retain.get('t')?.properties.messageExpiryInterval).toBe(2);
    clock.advance(2_000);
    expect(store.retain.get('t')).toBeUndefined();
    store.close();
  });

  it('rolls a failed batch back whole', () => {
    const store = openSqliteStore({ file: newFile() });
    store.sessions.apply([{ type: 'session', session: storedSession('c1') }]);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() =>
      store.sessions.apply([
        { type: 'message', key, message: storedMessage(1) },
        { type: 'session', session: storedSession('c1', { userData: cyclic }) },
      ]),
    ).toThrow(TypeError);
    expect(store.sessions.load(key)?.messages).toEqual([]);
    store.close();
  });

  it('keeps 1 MiB payloads in messages and Wills', () => {
    const file = newFile();
    const big = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31 + 7) & 0xff;
    const will = {
      ...(storedSession('c1').will as NonNullable<ReturnType<typeof storedSession>['will']>),
      payload: big,
    };
    const first = openSqliteStore({ file });
    first.sessions.apply([
      { type: 'session', session: storedSession('c1', { will }) },
      { type: 'message', key, message: storedMessage(1, { payload: big }) },
      { type: 'message', key, message: storedMessage(2) },
    ]);
    first.close();
    const second = openSqliteStore({ file });
    const state = second.sessions.load(key);
    expect(state?.session.will?.payload.equals(big)).toBe(true);
    expect(state?.messages.map((m) => m.payload.length)).toEqual([big.length, 9]);
    expect(state?.messages[0]?.payload.equals(big)).toBe(true);
    second.close();
  });

  it('lists outlines, page by page, without reading a message row', () => {
    const file = newFile();
    const first = openSqliteStore({ file });
    const filters = (n: number) => Array.from({ length: n }, (_, i) => `f/${i}`);
    first.sessions.apply(
      Array.from({ length: 5 }, (_, s) => {
        const k = { pool: 'kit', clientId: `s${s}` };
        return [
          { type: 'session' as const, session: storedSession(`s${s}`) },
          ...filters(s).map((filter) => ({
            type: 'subscribe' as const,
            key: k,
            subscription: {
              filter,
              qos: 1 as const,
              noLocal: false,
              retainAsPublished: false,
              retainHandling: 0 as const,
              subscriptionIdentifier: undefined,
            },
          })),
          ...Array.from({ length: s }, (_, p) => ({
            type: 'release-add' as const,
            key: k,
            packetId: 100 - p,
          })),
          ...Array.from({ length: s }, (_, m) => ({
            type: 'message' as const,
            key: k,
            message: storedMessage(10 * s + m),
          })),
        ];
      }).flat(),
    );
    const loaded = [0, 1, 2, 3, 4].map((s) =>
      first.sessions.load({ pool: 'kit', clientId: `s${s}` }),
    );
    first.close();
    // Make every message row unreadable: a load fails on it, a list must not.
    const db = new Database(file);
    db.prepare("UPDATE messages SET properties = '{not json'").run();
    db.close();
    const second = openSqliteStore({ file });
    const outlines = [];
    let page = second.sessions.list('kit', null, 2);
    outlines.push(...page.sessions);
    while (page.cursor !== null) {
      page = second.sessions.list('kit', page.cursor, 2);
      outlines.push(...page.sessions);
    }
    expect(outlines).toEqual(
      loaded.map((state) => {
        const { messages, ...outline } = state as NonNullable<typeof state>;
        return outline;
      }),
    );
    expect(outlines.map((o) => o.lastSeq)).toEqual([0, 10, 21, 32, 43]);
    expect(outlines[3]?.awaitingRelease).toEqual([98, 99, 100]);
    expect(() => second.sessions.load({ pool: 'kit', clientId: 's1' })).toThrow(SyntaxError);
    second.close();
  });

  it('says where it is and how durable', () => {
    const file = newFile();
    const store = openSqliteStore({ file, durability: 'full' });
    expect(store.file).toBe(file);
    expect(store.durability).toBe('full');
    store.close();
    const reopened = openSqliteStore({ file });
    expect(reopened.durability).toBe('normal');
    reopened.close();
  });
});
