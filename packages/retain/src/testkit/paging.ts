import { expect, it } from 'vitest';
import { DEFAULT_RETAIN_PAGE_LIMIT, type RetainInput, type RetainStore } from '../contract.js';
import { type KitContext, matchAll, retained, seededRandom, setAll, topicsOf } from './harness.js';

const MANY = 10_000;

/** 10,000 topics spread over ten branches, plus topics no `p/...` filter matches. */
async function seedMany(store: RetainStore): Promise<string[]> {
  const inputs: RetainInput[] = [];
  const topics: string[] = [];
  for (let i = 0; i < MANY; i++) {
    const topic = `p/${i % 10}/${i}`;
    topics.push(topic);
    inputs.push(retained(topic, `payload ${i}`));
  }
  inputs.push(retained('q/outside'), retained('$SYS/p/0/1'), retained('p'));
  await setAll(store, inputs);
  return topics;
}

/** Every page of a match, the page sizes it had, and that every page but the last was full. */
function expectPages(pageSizes: number[], total: number, limit: number): void {
  expect(pageSizes.length).toBe(Math.max(1, Math.ceil(total / limit)));
  for (let i = 0; i < pageSizes.length - 1; i++) expect(pageSizes[i]).toBe(limit);
  expect(pageSizes[pageSizes.length - 1]).toBe(total - limit * (pageSizes.length - 1));
}

/** Paging: completeness, no duplicates, page sizes and cursors that survive changes. */
export function describePaging(context: KitContext, slowTimeout: number): void {
  for (const limit of [7, 100, 1_000, MANY, 3 * MANY]) {
    it(
      `[MQTT-3.3.1-9] paging through 10,000 messages ${limit} at a time returns each exactly once`,
      async () => {
        const { store } = context;
        const topics = await seedMany(store);
        const { messages, pageSizes } = await matchAll(store, 'p/+/+', limit);
        expect(topicsOf(messages)).toEqual(topics.slice().sort());
        expectPages(pageSizes, MANY, limit);
        const sample = messages.find((message) => message.topic === 'p/3/4243');
        expect(sample?.payload.toString()).toBe('payload 4243');
      },
      slowTimeout,
    );
  }

  it(
    '[MQTT-3.3.1-9] paging one message at a time returns each of 1,000 exactly once',
    async () => {
      const { store } = context;
      const topics = await seedMany(store);
      const { messages, pageSizes } = await matchAll(store, 'p/7/#', 1);
      expect(topicsOf(messages)).toEqual(topics.filter((topic) => topic.startsWith('p/7/')).sort());
      expectPages(pageSizes, MANY / 10, 1);
    },
    slowTimeout,
  );

  it(
    `[MQTT-3.3.1-9] [MQTT-4.7.2-1] # pages through 10,000 messages with the default limit of ${DEFAULT_RETAIN_PAGE_LIMIT}`,
    async () => {
      const { store } = context;
      const topics = await seedMany(store);
      const { messages, pageSizes } = await matchAll(store, '#');
      const expected = [...topics, 'q/outside', 'p'].sort();
      expect(topicsOf(messages)).toEqual(expected);
      expectPages(pageSizes, expected.length, DEFAULT_RETAIN_PAGE_LIMIT);
    },
    slowTimeout,
  );

  it('a match whose results fill the last page exactly ends with a null cursor', async () => {
    const { store } = context;
    for (let i = 0; i < 20; i++) await store.set(retained(`e/${i}`));
    const first = await store.match('e/+', { limit: 10 });
    expect(first.messages).toHaveLength(10);
    expect(first.cursor).not.toBeNull();
    const second = await store.match('e/+', { cursor: first.cursor, limit: 10 });
    expect(second.messages).toHaveLength(10);
    expect(second.cursor).toBeNull();
    expect(new Set(topicsOf([...first.messages, ...second.messages])).size).toBe(20);
  });

  it('an exact filter returns at most one message and a null cursor', async () => {
    const { store } = context;
    await store.set(retained('x/y', 'v'));
    const page = await store.match('x/y', { limit: 1 });
    expect(topicsOf(page.messages)).toEqual(['x/y']);
    expect(page.cursor).toBeNull();
  });

  it('a limit that is not a positive integer is refused with a RangeError', async () => {
    const { store } = context;
    await store.set(retained('x/y'));
    for (const limit of [0, -1, 1.5, Number.NaN]) {
      await expect(async () => store.match('#', { limit })).rejects.toThrow(RangeError);
    }
  });

  it(
    'a cursor survives sets and deletes between pages: unchanged topics come exactly once, deleted ones never after',
    async () => {
      const { store } = context;
      const random = seededRandom(42);
      const originals: string[] = [];
      const inputs: RetainInput[] = [];
      for (let i = 0; i < 1_000; i++) {
        originals.push(`walk/${i % 10}/${i}`);
        inputs.push(retained(`walk/${i % 10}/${i}`, 'original'));
        inputs.push(retained(`other/${i}`, 'outside'));
      }
      await setAll(store, inputs);
      const touched = new Set<string>();
      const deletedAtPage = new Map<string, number>();
      const changedAtPage = new Map<string, number>();
      const seen: { topic: string; payload: string; page: number }[] = [];
      const untouched = (): string => {
        for (;;) {
          const topic = originals[Math.floor(random() * originals.length)] as string;
          if (!touched.has(topic)) return topic;
        }
      };
      let page = await store.match('walk/#', { limit: 37 });
      for (let pageNo = 0; ; pageNo++) {
        for (const message of page.messages) {
          seen.push({ topic: message.topic, payload: message.payload.toString(), page: pageNo });
        }
        if (page.cursor === null) break;
        for (let k = 0; k < 3; k++) {
          const topic = untouched();
          touched.add(topic);
          deletedAtPage.set(topic, pageNo);
          await store.set(retained(topic, Buffer.alloc(0)));
        }
        for (let k = 0; k < 2; k++) {
          const topic = untouched();
          touched.add(topic);
          changedAtPage.set(topic, pageNo);
          await store.set(retained(topic, 'changed'));
        }
        await store.set(retained(`walk/new/${pageNo}`, 'added'));
        await store.set(retained(`other/new/${pageNo}`, 'outside'));
        page = await store.match('walk/#', { cursor: page.cursor, limit: 37 });
        expect(page.messages.length).toBeLessThanOrEqual(37);
      }
      expect(touched.size).toBeGreaterThan(50);
      const counts = new Map<string, number>();
      for (const { topic, payload, page: pageNo } of seen) {
        counts.set(topic, (counts.get(topic) ?? 0) + 1);
        expect(topic.startsWith('walk/')).toBe(true);
        const deletedAt = deletedAtPage.get(topic);
        if (deletedAt !== undefined) expect(pageNo).toBeLessThanOrEqual(deletedAt);
        const changedAt = changedAtPage.get(topic);
        if (changedAt !== undefined && pageNo > changedAt) expect(payload).toBe('changed');
      }
      for (const topic of originals) {
        if (!touched.has(topic)) expect(counts.get(topic)).toBe(1);
      }
    },
    slowTimeout,
  );
}
