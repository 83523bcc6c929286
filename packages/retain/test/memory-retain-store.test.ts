import { FakeClock } from '@mqtt-sessions/retain/testkit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  copyRetainedProperties,
  createMemoryRetainStore,
  DEFAULT_MAX_RETAINED_BYTES,
  estimateRetainedBytes,
  MemoryRetainStore,
  type RetainCursor,
  type RetainInput,
} from '../src/index.js';

function retained(topic: string, payload: Buffer | string, expiry?: number): RetainInput {
  const input: RetainInput = {
    topic,
    payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
    qos: 0,
  };
  if (expiry !== undefined) input.properties = { messageExpiryInterval: expiry };
  return input;
}

const empty = (topic: string) => retained(topic, Buffer.alloc(0));

describe('MemoryRetainStore memory cap', () => {
  it('port of retained_memory_limit_test: with a cap between one and two 64 KiB messages the older is evicted', () => {
    const store = createMemoryRetainStore({ clock: new FakeClock() });
    const topic1 = 'retained-memory-limit-1';
    const topic2 = 'retained-memory-limit-2';
    const msg1 = retained(topic1, Buffer.alloc(64 * 1024, 1));
    const msg2 = retained(topic2, Buffer.alloc(64 * 1024, 2));

    store.set(msg2);
    const withOne = store.bytes();
    store.set(empty(topic2));
    store.set(msg1);
    store.set(msg2);
    const withTwo = store.bytes();
    store.set(empty(topic1));
    store.set(empty(topic2));

    const limit = Math.floor((withOne + withTwo) / 2);
    store.setLimits({ maxBytes: limit });
    store.set(msg1);
    store.set(msg2);
    expect(store.get(topic1)).toBeUndefined();
    expect(store.get(topic2)?.payload.equals(msg2.payload)).toBe(true);
    expect(store.bytes()).toBeLessThanOrEqual(limit);
    expect(store.stats().evictions).toBe(1);
  });

  it('defaults to a cap of 500 MiB', () => {
    expect(DEFAULT_MAX_RETAINED_BYTES).toBe(524_288_000);
    const store = createMemoryRetainStore();
    store.set(retained('big', Buffer.alloc(1024 * 1024)));
    expect(store.count()).toBe(1);
  });

  it('evicts the least recently stored or updated message first: re-setting a topic makes it newest', () => {
    const store = createMemoryRetainStore({ clock: new FakeClock(), maxMessages: 3 });
    store.set(retained('a', '1'));
    store.set(retained('b', '1'));
    store.set(retained('c', '1'));
    store.set(retained('a', '2'));
    store.set(retained('d', '1'));
    expect(store.get('b')).toBeUndefined();
    expect(store.get('a')?.payload.toString()).toBe('2');
    store.set(retained('e', '1'));
    expect(store.get('c')).toBeUndefined();
    expect(store.stats()).toMatchObject({ count: 3, evictions: 2, expired: 0 });
  });

  it('removes expired messages before it evicts an older live one', () => {
    const clock = new FakeClock();
    const size = estimateRetainedBytes('x', Buffer.alloc(100), {});
    const store = createMemoryRetainStore({ clock, maxBytes: size * 3 });
    store.set(retained('a', Buffer.alloc(100)));
    store.set(retained('b', Buffer.alloc(100), 10));
    store.set(retained('c', Buffer.alloc(100)));
    clock.advance(10_000);
    store.set(retained('d', Buffer.alloc(100)));
    expect(store.get('a')).toBeDefined();
    expect(store.get('b')).toBeUndefined();
    expect(store.stats()).toMatchObject({ count: 3, evictions: 0, expired: 1 });
  });

  it('keeps count at or under maxMessages and counts each eviction', () => {
    const store = createMemoryRetainStore({ clock: new FakeClock(), maxMessages: 10 });
    for (let i = 0; i < 100; i++) store.set(retained(`t/${i}`, 'x'));
    expect(store.count()).toBe(10);
    expect(store.stats().evictions).toBe(90);
    expect(
      store
        .match('t/+', { limit: 100 })
        .messages.map((m) => m.topic)
        .sort(),
    ).toEqual(Array.from({ length: 10 }, (_, i) => `t/${90 + i}`).sort());
  });

  it('does not store a message bigger than maxBytes, and drops the old message of its topic', () => {
    const store = createMemoryRetainStore({ clock: new FakeClock(), maxBytes: 10_000 });
    store.set(retained('keep', 'x'));
    store.set(retained('big', 'small'));
    store.set(retained('big', Buffer.alloc(20_000)));
    expect(store.get('big')).toBeUndefined();
    expect(store.get('keep')).toBeDefined();
    expect(store.stats()).toMatchObject({ count: 1, evictions: 1 });
  });

  it('setLimits evicts at once and refuses caps that are not positive numbers', () => {
    const store = createMemoryRetainStore({ clock: new FakeClock() });
    for (let i = 0; i < 5; i++) store.set(retained(`t/${i}`, 'x'));
    store.setLimits({ maxMessages: 2 });
    expect(store.count()).toBe(2);
    expect(store.get('t/4')).toBeDefined();
    expect(() => store.setLimits({ maxBytes: 0 })).toThrow(RangeError);
    expect(() => store.setLimits({ maxMessages: Number.NaN })).toThrow(RangeError);
    expect(() => createMemoryRetainStore({ maxBytes: -1 })).toThrow(RangeError);
  });

  it('agrees with a naive model of caps, expiry and eviction order', () => {
    const topics = ['a', 'a/b', 'b', 'c/d/e', 'd', 'e/f', '$x', 'g'];
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('set' as const),
        topic: fc.integer({ min: 0, max: topics.length - 1 }),
        size: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 400 })),
        expiry: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }),
      }),
      fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 3_000 }) }),
    );
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 120 }),
        fc.integer({ min: 1, max: 6 }),
        (ops, maxMessages) => {
          const clock = new FakeClock();
          const maxBytes = 1_400;
          const store = createMemoryRetainStore({ clock, maxBytes, maxMessages });
          const model = new NaiveModel(maxBytes, maxMessages);
          for (const step of ops) {
            if (step.kind === 'advance') {
              clock.advance(step.ms);
              continue;
            }
            const input = retained(
              topics[step.topic] as string,
              Buffer.alloc(step.size, 7),
              step.expiry,
            );
            store.set(input);
            model.set(input, clock.now());
            for (const topic of topics) {
              expect(store.get(topic)?.payload.length).toBe(model.get(topic, clock.now())?.size);
            }
            expect(store.stats()).toEqual(model.stats(clock.now()));
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('MemoryRetainStore stats, options and cursors', () => {
  it('stats reports count, bytes, evictions and expiries', () => {
    const clock = new FakeClock();
    const store = createMemoryRetainStore({ clock, maxMessages: 2 });
    store.set(retained('a', 'x', 1));
    store.set(retained('b', 'x'));
    clock.advance(1_000);
    store.set(retained('c', 'x')); // a has expired
    store.set(retained('d', 'x')); // b is evicted
    const expected =
      estimateRetainedBytes('c', Buffer.from('x'), {}) +
      estimateRetainedBytes('d', Buffer.from('x'), {});
    expect(store.stats()).toEqual({ count: 2, bytes: expected, evictions: 1, expired: 1 });
  });

  it('answers synchronously: no method returns a Promise', () => {
    const store = createMemoryRetainStore();
    const results = [
      store.set(retained('a', 'x')),
      store.get('a'),
      store.match('#'),
      store.count(),
      store.bytes(),
      store.clear(),
      store.close(),
    ];
    for (const result of results) expect(result).not.toBeInstanceOf(Promise);
    expect(store).toBeInstanceOf(MemoryRetainStore);
  });

  it('applies defaultExpirySeconds to messages without an interval, and an interval wins over it', () => {
    const clock = new FakeClock();
    const store = createMemoryRetainStore({ clock, defaultExpirySeconds: 3600 });
    store.set(retained('default', 'x'));
    store.set(retained('own', 'x', 7200));
    expect(store.get('default')?.properties.messageExpiryInterval).toBe(3600);
    clock.advance(3_600_000);
    expect(store.get('default')).toBeUndefined();
    expect(store.get('own')?.properties.messageExpiryInterval).toBe(3600);
  });

  it('accounts bytes with estimateRetainedBytes of the stored properties', () => {
    const store = createMemoryRetainStore();
    const properties = {
      contentType: 'text/plain',
      topicAlias: 4,
      userProperties: { a: ['1', '2'] },
    };
    store.set({ topic: 'x/y', payload: Buffer.from('hello'), qos: 1, properties });
    expect(store.bytes()).toBe(
      estimateRetainedBytes('x/y', Buffer.from('hello'), copyRetainedProperties(properties)),
    );
  });

  it('refuses a cursor of another store, of another filter, or one already used', () => {
    const store = createMemoryRetainStore();
    const other = createMemoryRetainStore();
    for (let i = 0; i < 10; i++) {
      store.set(retained(`t/${i}`, 'x'));
      other.set(retained(`t/${i}`, 'x'));
    }
    const cursor = store.match('t/+', { limit: 2 }).cursor as RetainCursor;
    const foreign = other.match('t/+', { limit: 2 }).cursor as RetainCursor;
    expect(() => store.match('t/+', { cursor: foreign })).toThrow(TypeError);
    expect(() => store.match('t/#', { cursor })).toThrow(TypeError);
    expect(() => store.match('t/+', { cursor: {} as RetainCursor })).toThrow(TypeError);
    expect(store.match('t/+', { cursor, limit: 2 }).messages).toHaveLength(2);
    expect(() => store.match('t/+', { cursor })).toThrow(TypeError);
  });

  it('a cursor returns the current message of a topic replaced while the walk was paused', () => {
    const store = createMemoryRetainStore();
    for (let i = 0; i < 3; i++) store.set(retained(`t/${i}`, 'old'));
    const first = store.match('t/+', { limit: 2 });
    for (let i = 0; i < 3; i++) store.set(retained(`t/${i}`, 'new'));
    const second = store.match('t/+', { cursor: first.cursor, limit: 2 });
    expect(second.messages.map((message) => message.payload.toString())).toEqual(['new']);
    expect(second.cursor).toBeNull();
  });

  it('a cursor taken before clear returns nothing stale after it', () => {
    const store = createMemoryRetainStore();
    for (let i = 0; i < 10; i++) store.set(retained(`t/${i}`, 'old'));
    const { cursor } = store.match('t/#', { limit: 3 });
    store.clear();
    store.set(retained('t/new', 'new'));
    const page = store.match('t/#', { cursor, limit: 100 });
    expect(page.messages.every((message) => message.payload.toString() === 'new')).toBe(true);
    expect(page.cursor).toBeNull();
  });

  it('shares one frozen message object for a message that never expires', () => {
    const store = createMemoryRetainStore();
    store.set(retained('a', 'x'));
    const first = store.get('a');
    expect(store.get('a')).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(Object.isFrozen(first?.properties)).toBe(true);
  });
});

/** A deliberately simple model: arrays and full scans, the way the store must not work. */
class NaiveModel {
  private entries: { topic: string; size: number; bytes: number; expiresAt: number }[] = [];
  private evictions = 0;
  private expired = 0;
  private readonly maxBytes: number;
  private readonly maxMessages: number;

  constructor(maxBytes: number, maxMessages: number) {
    this.maxBytes = maxBytes;
    this.maxMessages = maxMessages;
  }

  set(input: RetainInput, now: number): void {
    this.sweep(now);
    const without = this.entries.filter((entry) => entry.topic !== input.topic);
    if (input.payload.length === 0) {
      this.entries = without;
      return;
    }
    const interval = input.properties?.messageExpiryInterval;
    const expiresAt = interval === undefined ? Number.POSITIVE_INFINITY : now + interval * 1000;
    const bytes = estimateRetainedBytes(
      input.topic,
      input.payload,
      copyRetainedProperties(input.properties),
    );
    this.entries = without;
    if (expiresAt <= now) {
      this.expired++;
      return;
    }
    if (bytes > this.maxBytes) {
      this.evictions++;
      return;
    }
    this.entries.push({ topic: input.topic, size: input.payload.length, bytes, expiresAt });
    while (this.total() > this.maxBytes || this.entries.length > this.maxMessages) {
      this.entries.shift();
      this.evictions++;
    }
  }

  get(topic: string, now: number): { size: number } | undefined {
    this.sweep(now);
    return this.entries.find((entry) => entry.topic === topic);
  }

  stats(now: number) {
    this.sweep(now);
    return {
      count: this.entries.length,
      bytes: this.total(),
      evictions: this.evictions,
      expired: this.expired,
    };
  }

  private total(): number {
    return this.entries.reduce((sum, entry) => sum + entry.bytes, 0);
  }

  private sweep(now: number): void {
    const live = this.entries.filter((entry) => entry.expiresAt > now);
    this.expired += this.entries.length - live.length;
    this.entries = live;
  }
}
