import type { SessionKey } from '@mqtt-sessions/session-store';
import { storedMessage, storedSession } from '@mqtt-sessions/session-store/testkit';
import { Cluster, type Command, Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import {
  createRedisSessionStore,
  poolIndexKey,
  type RedisClient,
  type RedisSessionStore,
  sessionKeys,
} from '../src/index.js';
import { APPLY_SCRIPT } from '../src/scripts.js';
import { BINARY, sessionWithMessages } from './fixtures.js';
import {
  deleteKeysUnder,
  describeWithRedis,
  describeWithRedisCluster,
  keysUnder,
} from './redis-for-tests.js';

/** Where a suite runs: a single Redis or a Cluster. */
interface Target {
  readonly cluster: boolean;
  /** A new client of the target, which the caller closes. */
  client(options?: { enableAutoPipelining?: boolean }): RedisClient;
}

const awkwardIds = ['', '{', '}', '{}', 'a}b{c', ':', 'a:b', '%', '%7B', 'nul\u0000nl\n', '😀'];

function behaviours(target: Target): void {
  const runPrefix = `test:session-store-redis:own:${process.pid}:${Date.now()}:`;
  const admin = target.client();
  let prefixes = 0;
  const open: RedisSessionStore[] = [];

  /** A store on its own prefix; with `client` it shares that client (and leaves it open). */
  function store(client: RedisClient = admin): RedisSessionStore {
    const created = createRedisSessionStore({ client, keyPrefix: `${runPrefix}${prefixes++}:` });
    open.push(created);
    return created;
  }

  /** The names of the commands a client sends while `body` runs. */
  async function commandsOf(client: RedisClient, body: () => Promise<void>): Promise<string[]> {
    const names: string[] = [];
    // Connect and load the scripts first, so that neither the handshake nor a NOSCRIPT retry
    // (after the SCRIPT FLUSH test) is counted.
    await client.ping();
    const nodes = client instanceof Cluster ? client.nodes('master') : [client];
    for (const node of nodes) await node.script('LOAD', APPLY_SCRIPT.source);
    const original = client.sendCommand.bind(client);
    const spy = vi.spyOn(client, 'sendCommand').mockImplementation((command: Command) => {
      names.push(command.name.toLowerCase());
      return original(command);
    });
    try {
      await body();
    } finally {
      spy.mockRestore();
    }
    return names;
  }

  afterEach(async () => {
    for (const created of open.splice(0)) await created.close();
  });

  afterAll(async () => {
    await deleteKeysUnder(admin, runPrefix);
    await admin.quit();
  });

  it('keeps sessions whose pool and client id hold braces, colons, % and controls apart', async () => {
    const s = store();
    const keys: SessionKey[] = [];
    for (const pool of ['p', 'a:b', '{x}']) {
      for (const clientId of awkwardIds) keys.push({ pool, clientId });
    }
    await s.apply(
      keys.flatMap((key, i) => [
        { type: 'session' as const, session: storedSession(key.clientId, { ...key, userData: i }) },
        { type: 'message' as const, key, message: storedMessage(i, { topic: `t/${i}` }) },
        { type: 'release-add' as const, key, packetId: i + 1 },
      ]),
    );
    for (const [i, key] of keys.entries()) {
      const state = await s.load(key);
      expect(state?.session).toEqual(storedSession(key.clientId, { ...key, userData: i }));
      expect(state?.messages.map((m) => m.topic)).toEqual([`t/${i}`]);
      expect(state?.awaitingRelease).toEqual([i + 1]);
    }
    expect(await s.count('a:b')).toBe(awkwardIds.length);
    const listed = await s.list('{x}', null, 100);
    expect(listed.sessions.map((state) => state.session.clientId)).toEqual(
      [...awkwardIds].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))),
    );
  });

  it('returns payloads, property bytes, correlation data and Will payloads byte for byte', async () => {
    const s = store();
    const key = { pool: 'kit', clientId: 'bin' };
    const big = Buffer.alloc(1024 * 1024, 0xab);
    const session = storedSession('bin', {
      will: {
        topic: 'will/bin',
        payload: BINARY,
        qos: 2,
        retain: false,
        properties: { correlationData: BINARY, payloadFormatIndicator: false },
        propertyBytes: BINARY,
        delayInterval: 0,
        dueAt: undefined,
      },
    });
    const messages = [
      storedMessage(1, {
        payload: BINARY,
        propertyBytes: BINARY,
        properties: {
          correlationData: BINARY,
          messageExpiryInterval: 60,
          userProperties: { ü: ['😀', ''], '': '' },
        },
      }),
      storedMessage(2, {
        payload: Buffer.alloc(0),
        propertyBytes: Buffer.alloc(0),
        properties: {},
      }),
      storedMessage(3, { payload: big }),
    ];
    await s.apply([
      { type: 'session', session },
      ...messages.map((message) => ({ type: 'message' as const, key, message })),
    ]);
    const state = await s.load(key);
    expect(state?.session).toEqual(session);
    expect(state?.session.will?.payload.equals(BINARY)).toBe(true);
    expect(state?.session.will?.propertyBytes?.equals(BINARY)).toBe(true);
    // toEqual walks a Buffer byte by byte: compare the megabyte with equals().
    expect(state?.messages.slice(0, 2)).toEqual(messages.slice(0, 2));
    expect({ ...state?.messages[2], payload: undefined }).toEqual({
      ...messages[2],
      payload: undefined,
    });
    expect(state?.messages[0]?.payload.equals(BINARY)).toBe(true);
    expect(state?.messages[0]?.propertyBytes?.equals(BINARY)).toBe(true);
    expect(state?.messages[0]?.properties.correlationData?.equals(BINARY)).toBe(true);
    expect(state?.messages[1]?.propertyBytes?.length).toBe(0);
    expect(state?.messages[2]?.payload.equals(big)).toBe(true);
  });

  it('writes nothing of a batch that holds a change it cannot store', async () => {
    const s = store();
    const ok = storedSession('ok');
    await expect(
      s.apply([
        { type: 'session', session: ok },
        {
          type: 'message',
          key: { pool: 'kit', clientId: 'ok' },
          message: storedMessage(Number.NaN),
        },
      ]),
    ).rejects.toThrow(TypeError);
    await expect(
      s.apply([
        { type: 'session', session: ok },
        { type: 'session', session: storedSession('lone\uD800') },
      ]),
    ).rejects.toThrow(TypeError);
    await expect(
      s.apply([
        { type: 'session', session: ok },
        { type: 'release-add', key: { pool: 'kit', clientId: 'ok' }, packetId: 0 },
      ]),
    ).rejects.toThrow(TypeError);
    await expect(
      s.apply([
        { type: 'session', session: ok },
        { type: 'session', session: storedSession('cyclic', { userData: { big: 1n } }) },
      ]),
    ).rejects.toThrow(TypeError);
    expect(await s.load({ pool: 'kit', clientId: 'ok' })).toBeUndefined();
    expect(await s.count('kit')).toBe(0);
  });

  it('lays out a session as five keys under one hash tag and a pool index, and deletes them all', async () => {
    const s = store();
    const key = { pool: 'kit', clientId: 'layout' };
    await s.apply([
      { type: 'session', session: storedSession('layout') },
      {
        type: 'subscribe',
        key,
        subscription: {
          filter: 'a/#',
          qos: 1,
          noLocal: false,
          retainAsPublished: false,
          retainHandling: 0,
          subscriptionIdentifier: undefined,
        },
      },
      { type: 'message', key, message: storedMessage(1) },
      { type: 'release-add', key, packetId: 7 },
    ]);
    const names = sessionKeys(s.keyPrefix, key);
    expect(await keysUnder(admin, s.keyPrefix)).toEqual(
      [...Object.values(names), poolIndexKey(s.keyPrefix, 'kit')].sort(),
    );
    await s.apply([{ type: 'message-done', key, seq: 1 }]);
    // Redis drops a hash or sorted set with its last field.
    expect(await keysUnder(admin, s.keyPrefix)).not.toContain(names.messages);
    await s.apply([{ type: 'delete', key }]);
    expect(await keysUnder(admin, s.keyPrefix)).toEqual([]);
  });

  it('lists in byte order of client id, with a reusable cursor, and checks the limit', async () => {
    const s = store();
    const ids = ['b', 'a', 'ä', 'A', '10', '9'];
    await s.apply(ids.map((id) => ({ type: 'session' as const, session: storedSession(id) })));
    const first = await s.list('kit', null, 4);
    expect(first.sessions.map((state) => state.session.clientId)).toEqual(['10', '9', 'A', 'a']);
    expect(first.cursor).toBe('a');
    const again = await s.list('kit', first.cursor, 4);
    expect(again.sessions.map((state) => state.session.clientId)).toEqual(['b', 'ä']);
    expect(again.cursor).toBeNull();
    expect((await s.list('kit', first.cursor, 4)).sessions).toHaveLength(2);
    await expect(s.list('kit', null, 0)).rejects.toThrow(RangeError);
    await expect(s.list('kit', null, 1.5)).rejects.toThrow(RangeError);
  });

  it('skips an index entry whose session is gone (what a crash on a Cluster can leave)', async () => {
    const s = store();
    await s.apply([
      { type: 'session', session: storedSession('here') },
      { type: 'session', session: storedSession('later') },
    ]);
    await admin.zadd(poolIndexKey(s.keyPrefix, 'kit'), 0, 'ghost');
    const page = await s.list('kit', null, 2);
    expect(page.sessions.map((state) => state.session.clientId)).toEqual(['here']);
    expect(page.cursor).toBe('here');
    const rest = await s.list('kit', page.cursor, 2);
    expect(rest.sessions.map((state) => state.session.clientId)).toEqual(['later']);
    expect(rest.cursor).toBeNull();
    // count() is the index's size: it includes the stray entry.
    expect(await s.count('kit')).toBe(3);
  });

  it('lists outlines from the order sorted set without reading the messages hash', async () => {
    const s = store();
    const key = { pool: 'kit', clientId: 'outlined' };
    await s.apply([
      ...sessionWithMessages('kit', 'outlined', 3),
      { type: 'release-add', key, packetId: 4 },
      { type: 'message', key, message: storedMessage(2 ** 40) },
      { type: 'message-done', key, seq: 2 },
    ]);
    const names = sessionKeys(s.keyPrefix, key);
    // Replace the messages hash with a string: a read of it fails (WRONGTYPE), a list does not.
    await admin.del(names.messages);
    await admin.set(names.messages, 'not a hash');
    const page = await s.list('kit', null, 10);
    expect(page.sessions).toHaveLength(1);
    expect(page.sessions[0]?.lastSeq).toBe(2 ** 40);
    expect(page.sessions[0]?.awaitingRelease).toEqual([4]);
    expect(page.sessions[0]).not.toHaveProperty('messages');
    await expect(s.load(key)).rejects.toThrow('WRONGTYPE');
  });

  it('keeps the pool index exact when one batch creates and deletes, or deletes and creates', async () => {
    const s = store();
    const gone = { pool: 'kit', clientId: 'gone' };
    const back = { pool: 'kit', clientId: 'back' };
    await s.apply([{ type: 'session', session: storedSession('back') }]);
    await s.apply([
      { type: 'session', session: storedSession('gone') },
      { type: 'message', key: gone, message: storedMessage(1) },
      { type: 'delete', key: gone },
      { type: 'delete', key: back },
      { type: 'session', session: storedSession('back', { userData: 'again' }) },
      { type: 'delete', key: { pool: 'kit', clientId: 'never' } },
    ]);
    expect(await s.count('kit')).toBe(1);
    const page = await s.list('kit', null, 10);
    expect(page.sessions.map((state) => state.session.userData)).toEqual(['again']);
    expect(await s.load(gone)).toBeUndefined();
    expect(await admin.zrange(poolIndexKey(s.keyPrefix, 'kit'), 0, -1)).toEqual([back.clientId]);
  });

  it('runs its scripts again from their source after SCRIPT FLUSH', async () => {
    const s = store();
    await s.apply(sessionWithMessages('kit', 'flushed', 2));
    const nodes = admin instanceof Cluster ? admin.nodes('master') : [admin];
    for (const node of nodes) await node.script('FLUSH');
    await s.apply(sessionWithMessages('kit', 'flushed', 3));
    expect((await s.load({ pool: 'kit', clientId: 'flushed' }))?.messages).toHaveLength(3);
  });

  it('leaves a client passed in open, quits one it made, and refuses calls once closed', async () => {
    const shared = target.client();
    const s = store(shared);
    await s.close();
    await s.close();
    expect(await shared.ping()).toBe('PONG');
    await shared.quit();
    await expect(s.load({ pool: 'kit', clientId: 'x' })).rejects.toThrow('closed');
    await expect(s.apply([])).rejects.toThrow('closed');
  });

  it('works through a client of yours with auto-pipelining on', async () => {
    const client = target.client({ enableAutoPipelining: true });
    const s = store(client);
    await s.apply([
      ...sessionWithMessages('kit', 'auto-a', 5),
      ...sessionWithMessages('kit', 'auto-b', 5),
    ]);
    const page = await s.list('kit', null, 10);
    expect(page.sessions.map((outline) => outline.lastSeq)).toEqual([5, 5]);
    expect((await s.load({ pool: 'kit', clientId: 'auto-b' }))?.messages).toHaveLength(5);
    await s.close();
    await client.quit();
  });

  if (!target.cluster) {
    it('sends a whole batch as one command: sessions of several pools, messages and all', async () => {
      const client = target.client();
      const s = store(client);
      const batch = [
        ...sessionWithMessages('p1', 'a', 100),
        ...sessionWithMessages('p1', 'b', 100),
        ...sessionWithMessages('p2', 'c', 100),
      ];
      expect(await commandsOf(client, () => s.apply(batch))).toEqual(['evalsha']);
      expect(await s.count('p1')).toBe(2);
      await s.close();
      await client.quit();
    });

    it('never shows a reader half a batch, across sessions', async () => {
      const s = store();
      const reader = target.client() as Redis;
      const a = sessionKeys(s.keyPrefix, { pool: 'kit', clientId: 'a' });
      const b = sessionKeys(s.keyPrefix, { pool: 'kit', clientId: 'b' });
      const seen = new Set<string>();
      let done = false;
      const reading = (async () => {
        while (!done) {
          const replies = await reader
            .multi()
            .exists(a.record)
            .zcard(a.order)
            .exists(b.record)
            .zcard(b.order)
            .exec();
          seen.add(JSON.stringify(replies?.map(([, value]) => value)));
        }
      })();
      for (let round = 0; round < 5; round++) {
        await s.apply([
          ...sessionWithMessages('kit', 'a', 2000),
          ...sessionWithMessages('kit', 'b', 2000),
        ]);
        await s.apply([
          { type: 'delete', key: { pool: 'kit', clientId: 'a' } },
          { type: 'delete', key: { pool: 'kit', clientId: 'b' } },
        ]);
      }
      done = true;
      await reading;
      await reader.quit();
      for (const state of seen) expect(['[0,0,0,0]', '[1,2000,1,2000]']).toContain(state);
    });
  } else {
    it('splits a batch by session: one script per session, index commands only around creation and deletion', async () => {
      const client = target.client();
      const s = store(client);
      const created = [
        ...sessionWithMessages('p1', 'a', 10),
        ...sessionWithMessages('p1', 'b', 10),
        ...sessionWithMessages('p2', 'c', 10),
      ];
      expect((await commandsOf(client, () => s.apply(created))).sort()).toEqual([
        'evalsha',
        'evalsha',
        'evalsha',
        'zadd',
        'zadd',
      ]);
      const messagesOnly = ['a', 'b', 'c'].map((clientId, i) => ({
        type: 'message' as const,
        key: { pool: i < 2 ? 'p1' : 'p2', clientId },
        message: storedMessage(11),
      }));
      expect(await commandsOf(client, () => s.apply(messagesOnly))).toEqual([
        'evalsha',
        'evalsha',
        'evalsha',
      ]);
      const deleted = [
        { type: 'delete' as const, key: { pool: 'p1', clientId: 'a' } },
        { type: 'delete' as const, key: { pool: 'p1', clientId: 'b' } },
      ];
      expect((await commandsOf(client, () => s.apply(deleted))).sort()).toEqual([
        'evalsha',
        'evalsha',
        'zrem',
      ]);
      expect(await s.count('p1')).toBe(0);
      expect(await s.count('p2')).toBe(1);
      await s.close();
      await client.quit();
    });

    it('spreads sessions over the masters, each session whole on one node', async () => {
      const s = store();
      await s.apply(
        Array.from({ length: 30 }, (_, i) => sessionWithMessages('kit', `spread-${i}`, 3)).flat(),
      );
      const masters = (admin as Cluster).nodes('master');
      const perNode = await Promise.all(masters.map((node) => node.keys(`${s.keyPrefix}s:*`)));
      expect(perNode.filter((keys) => keys.length > 0).length).toBeGreaterThan(1);
      for (const keys of perNode) {
        const tags = new Map<string, number>();
        for (const name of keys) {
          const tag = name.slice(name.indexOf('{'), name.indexOf('}') + 1);
          tags.set(tag, (tags.get(tag) ?? 0) + 1);
        }
        // record, subscriptions-less, order, messages: 3 keys per session, all on this node.
        for (const count of tags.values()) expect(count).toBe(3);
      }
      expect(await s.count('kit')).toBe(30);
    });
  }

  it('stores a batch far larger than one script call takes, in order, with auto-pipelining', async () => {
    // One session with 20,000 queued messages (the broker's fan-in to one persistent
    // subscriber) and 2,000 sessions of 3: together over 300,000 arguments, which once
    // overflowed ioredis's stack and crashed the process.
    const client = target.client({ enableAutoPipelining: true });
    try {
      const s = store(client);
      const changes = sessionWithMessages('big', 'subscriber', 20_000);
      for (let i = 0; i < 2000; i++) changes.push(...sessionWithMessages('big', `c${i}`, 3));
      await s.apply(changes);
      const loaded = await s.load({ pool: 'big', clientId: 'subscriber' });
      expect(loaded?.messages.map((message) => message.seq)).toEqual(
        Array.from({ length: 20_000 }, (_, i) => i + 1),
      );
      expect(await s.count('big')).toBe(2001);
      expect((await s.load({ pool: 'big', clientId: 'c1999' }))?.messages).toHaveLength(3);
    } finally {
      client.disconnect();
    }
  }, 60_000);
}

await describeWithRedis('RedisSessionStore on a real Redis', (url) => {
  describe('single Redis', () =>
    behaviours({ cluster: false, client: (options = {}) => new Redis(url, options) }));
});

describeWithRedisCluster('RedisSessionStore on a real Redis Cluster', (seeds) => {
  describe('Redis Cluster', () =>
    behaviours({ cluster: true, client: (options = {}) => new Cluster(seeds, options) }));
});
