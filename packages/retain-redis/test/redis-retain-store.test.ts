import {
  createMemoryRetainStore,
  type RetainCursor,
  type RetainInput,
} from '@mqtt-sessions/retain';
import { FakeClock } from '@mqtt-sessions/retain/testkit';
import fc from 'fast-check';
import { type Command, Redis } from 'ioredis';
import { afterAll, afterEach, expect, it, vi } from 'vitest';
import { createRedisRetainStore, type RedisRetainStore, retainKeys } from '../src/index.js';
import { describeWithRedis } from './redis-for-tests.js';

function retained(topic: string, payload: string | Buffer = 'x', expiry?: number): RetainInput {
  const input: RetainInput = {
    topic,
    payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
    qos: 1,
  };
  if (expiry !== undefined) input.properties = { messageExpiryInterval: expiry };
  return input;
}

async function topicsOf(store: RedisRetainStore, filter: string): Promise<string[]> {
  const topics: string[] = [];
  let cursor: RetainCursor | null = null;
  do {
    const page = await store.match(filter, { cursor, limit: 50 });
    for (const message of page.messages) topics.push(message.topic);
    cursor = page.cursor;
  } while (cursor !== null);
  return topics.sort();
}

await describeWithRedis('RedisRetainStore on a real Redis', (url) => {
  const client = new Redis(url);
  const runPrefix = `test:retain-redis:own:${process.pid}:${Date.now()}:`;
  let prefixes = 0;
  const open: RedisRetainStore[] = [];

  function store(options: { clock?: FakeClock; keyPrefix?: string } = {}): RedisRetainStore {
    const created = createRedisRetainStore({
      client,
      keyPrefix: options.keyPrefix ?? `${runPrefix}${prefixes++}:`,
      clock: options.clock ?? new FakeClock(),
    });
    open.push(created);
    return created;
  }

  /** The index of a store as Redis holds it. */
  async function index(keyPrefix: string) {
    const keys = retainKeys(keyPrefix);
    return {
      topics: await client.zrange(keys.topics, 0, -1),
      expiring: await client.zrange(keys.expiry, 0, -1),
      sized: await client.hkeys(keys.sizes),
      bytes: Number((await client.get(keys.bytes)) ?? '0'),
    };
  }

  afterEach(async () => {
    for (const created of open.splice(0)) {
      await created.clear();
      await created.close();
    }
  });

  afterAll(async () => {
    const leftover = await client.keys(`${runPrefix}*`);
    if (leftover.length > 0) await client.del(...leftover);
    await client.quit();
    expect(leftover).toEqual([]);
  });

  it('gives an expiring message key a PX equal to its Message Expiry Interval, and others none', async () => {
    const retain = store();
    await retain.set(retained('px/expiring', 'x', 60));
    await retain.set(retained('px/forever', 'x'));
    const keys = retainKeys(retain.keyPrefix);
    const ttl = await client.pttl(`${keys.messages}px/expiring`);
    expect(ttl).toBeGreaterThan(55_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
    expect(await client.pttl(`${keys.messages}px/forever`)).toBe(-1);
  });

  it('drops the index entries of a message once Redis has removed its key (real time, up to 1 s)', async () => {
    const retain = store();
    await retain.set(retained('gone/soon', 'x', 3600));
    await retain.set(retained('gone/never', 'x'));
    const key = `${retainKeys(retain.keyPrefix).messages}gone/soon`;
    // What PX does when it fires (or what memory eviction does): Redis deletes the key by itself.
    await client.pexpire(key, 50);
    const deadline = Date.now() + 1_000;
    while ((await client.exists(key)) === 1 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await client.exists(key)).toBe(0);
    expect((await index(retain.keyPrefix)).topics).toContain('gone/soon');

    expect(await topicsOf(retain, 'gone/#')).toEqual(['gone/never']);
    const after = await index(retain.keyPrefix);
    expect(after.topics).toEqual(['gone/never']);
    expect(after.expiring).toEqual([]);
    expect(after.sized).toEqual(['gone/never']);
    expect(after.bytes).toBe(await retain.bytes());
    expect(await retain.count()).toBe(1);
  });

  it('prunes topics whose deadline passed on the store clock before Redis expires them', async () => {
    const clock = new FakeClock();
    const retain = store({ clock });
    for (let i = 0; i < 30; i++) await retain.set(retained(`exp/${i}`, 'x', 5));
    await retain.set(retained('exp/forever', 'x'));
    clock.advance(5_000);
    expect(await retain.count()).toBe(1);
    const after = await index(retain.keyPrefix);
    expect(after.topics).toEqual(['exp/forever']);
    expect(after.expiring).toEqual([]);
    expect(after.sized).toEqual(['exp/forever']);
    expect(await client.exists(`${retainKeys(retain.keyPrefix).messages}exp/0`)).toBe(0);
  });

  it('keeps stores with different key prefixes apart', async () => {
    const a = store({ keyPrefix: `${runPrefix}iso-a:` });
    const b = store({ keyPrefix: `${runPrefix}iso-b:` });
    await a.set(retained('shared/topic', 'from a'));
    await a.set(retained('only/a', 'a'));
    await b.set(retained('shared/topic', 'from b'));
    expect((await a.get('shared/topic'))?.payload.toString()).toBe('from a');
    expect((await b.get('shared/topic'))?.payload.toString()).toBe('from b');
    expect(await topicsOf(b, '#')).toEqual(['shared/topic']);
    expect(await a.count()).toBe(2);
    await a.clear();
    expect(await b.count()).toBe(1);
    expect((await b.get('shared/topic'))?.payload.toString()).toBe('from b');
    const keysOfB = await client.keys(`${runPrefix}iso-*`);
    expect(keysOfB.every((key) => key.startsWith(`${runPrefix}iso-b:`))).toBe(true);
  });

  it('reads only index entries under the literal prefix of a filter, and never $ topics for a leading wildcard', async () => {
    const retain = store();
    const inputs: Promise<void>[] = [];
    for (let i = 0; i < 500; i++) {
      inputs.push(retain.set(retained(`noise/${i}`)));
      inputs.push(retain.set(retained(`$SYS/noise/${i}`)));
      inputs.push(retain.set(retained(`home/kitchenette/${i}`)));
    }
    for (let i = 0; i < 20; i++) inputs.push(retain.set(retained(`home/kitchen/${i}`)));
    await Promise.all(inputs);

    const commands: Command[] = [];
    const send = client.sendCommand.bind(client);
    const spy = vi.spyOn(client, 'sendCommand').mockImplementation((command, stream) => {
      commands.push(command);
      return send(command, stream);
    });
    try {
      expect(await topicsOf(retain, 'home/kitchen/+')).toHaveLength(20);
      const scanned: string[] = [];
      for (const command of commands) {
        if (command.name !== 'zrangebylex') continue;
        for (const topic of (await command.promise) as string[]) scanned.push(topic);
        expect(String(command.args[1])).toBe('[home/kitchen/');
      }
      expect(scanned.length).toBeGreaterThanOrEqual(20);
      expect(scanned.every((topic) => topic.startsWith('home/kitchen/'))).toBe(true);

      commands.length = 0;
      expect(await topicsOf(retain, '+/noise/+')).toEqual([]);
      const walked: string[] = [];
      for (const command of commands) {
        if (command.name !== 'zrangebylex') continue;
        for (const topic of (await command.promise) as string[]) walked.push(topic);
      }
      expect(walked).toHaveLength(1_020); // every topic but the 500 `$SYS/...` ones
      expect(walked.some((topic) => topic.startsWith('$'))).toBe(false);
    } finally {
      spy.mockRestore();
    }
  });

  it('answers wildcard filters exactly as the trie-based memory store does', async () => {
    const levels = ['a', 'b', '', '$s', 'ä'];
    const topic = fc
      .array(fc.constantFrom(...levels), { minLength: 1, maxLength: 4 })
      .map((parts) => parts.join('/'));
    // Valid filters only (`#` last): the contract leaves invalid filters to the callers.
    const filter = fc
      .tuple(fc.array(fc.constantFrom(...levels, '+'), { maxLength: 4 }), fc.boolean())
      .filter(([parts, hash]) => parts.length > 0 || hash)
      .map(([parts, hash]) => (hash ? [...parts, '#'] : parts).join('/'));
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(topic, { maxLength: 25 }),
        fc.array(filter, { minLength: 1, maxLength: 5 }),
        async (topics, filters) => {
          const memory = createMemoryRetainStore();
          const redisStore = store();
          for (const t of topics) {
            memory.set(retained(t));
            await redisStore.set(retained(t));
          }
          for (const f of filters) {
            const expected = memory
              .match(f, { limit: 1_000 })
              .messages.map((m) => m.topic)
              .sort();
            expect(await topicsOf(redisStore, f)).toEqual(expected);
          }
          await redisStore.clear();
        },
      ),
      { numRuns: 60 },
    );
  });

  it('keeps the index and the message keys consistent under concurrent sets and deletes', async () => {
    const retain = store();
    const writes: Promise<void>[] = [];
    for (let i = 0; i < 2_000; i++) {
      const topic = `race/${i % 37}`;
      writes.push(
        retain.set(
          i % 3 === 0
            ? retained(topic, Buffer.alloc(0))
            : retained(topic, `v${i}`, i % 2 === 0 ? 100 : undefined),
        ),
      );
    }
    await Promise.all(writes);
    const keys = retainKeys(retain.keyPrefix);
    const state = await index(retain.keyPrefix);
    expect(state.sized.sort()).toEqual(state.topics.slice().sort());
    for (const t of state.topics) expect(await client.exists(`${keys.messages}${t}`)).toBe(1);
    const sizes = await client.hvals(keys.sizes);
    expect(state.bytes).toBe(sizes.reduce((sum, size) => sum + Number(size), 0));
    const messageKeys = await client.keys(`${keys.messages}*`);
    expect(messageKeys.length).toBe(state.topics.length);
  });

  it('a cursor can be used twice and by another store on the same key prefix', async () => {
    const keyPrefix = `${runPrefix}cursor:`;
    const first = store({ keyPrefix });
    for (let i = 0; i < 10; i++) await first.set(retained(`c/${i}`));
    const { cursor } = await first.match('c/+', { limit: 4 });
    const again = await first.match('c/+', { cursor, limit: 4 });
    const twice = await first.match('c/+', { cursor, limit: 4 });
    expect(twice.messages.map((m) => m.topic)).toEqual(again.messages.map((m) => m.topic));
    const second = createRedisRetainStore({ client, keyPrefix });
    const elsewhere = await second.match('c/+', { cursor, limit: 4 });
    expect(elsewhere.messages.map((m) => m.topic)).toEqual(again.messages.map((m) => m.topic));
    await expect(second.match('c/#', { cursor })).rejects.toThrow(TypeError);
    await expect(store().match('c/+', { cursor })).rejects.toThrow(TypeError);
  });

  it('reloads its scripts after SCRIPT FLUSH', async () => {
    const retain = store();
    await retain.set(retained('flush/a', 'before'));
    await client.script('FLUSH');
    await retain.set(retained('flush/a', 'after'));
    expect((await retain.get('flush/a'))?.payload.toString()).toBe('after');
  });

  it('close quits a client it created from a URL and leaves a passed client open', async () => {
    const owned = createRedisRetainStore({ url, keyPrefix: `${runPrefix}owned:` });
    await owned.set(retained('o/1'));
    await owned.clear();
    await owned.close();
    await owned.close();
    await expect(owned.client.ping()).rejects.toThrow();
    const borrowed = createRedisRetainStore({ client, keyPrefix: `${runPrefix}borrowed:` });
    await borrowed.close();
    expect(await client.ping()).toBe('PONG');
  });

  it('refuses an ioredis client with its own keyPrefix, since the scripts build keys themselves', () => {
    const prefixed = new Redis(url, { keyPrefix: 'x:', lazyConnect: true });
    expect(() => createRedisRetainStore({ client: prefixed })).toThrow(TypeError);
    prefixed.disconnect();
  });
});
