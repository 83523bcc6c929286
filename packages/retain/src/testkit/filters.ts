import { expect, it } from 'vitest';
import type { RetainStore } from '../contract.js';
import { type KitContext, matchedTopics, retained } from './harness.js';

const TOPICS = [
  'a',
  'a/b',
  'a/b/c',
  'a/x/c',
  'a//c',
  'a/b/c/d',
  'a/c',
  'ab',
  'ab/c',
  'b/b',
  '/a',
  '$SYS/broker/uptime',
  '$SYS',
  '$data/a',
  'x/$y/z',
];

async function seed(store: RetainStore): Promise<void> {
  for (const topic of TOPICS) await store.set(retained(topic, topic));
}

/** Topic filters: `+`, `#`, their mix, the `$` rule and odd strings. */
export function describeFilters(context: KitContext): void {
  it('[MQTT-3.3.1-9] a filter without wildcards matches only its own topic', async () => {
    const { store } = context;
    await seed(store);
    expect(await matchedTopics(store, 'a/b')).toEqual(['a/b']);
    expect(await matchedTopics(store, 'a')).toEqual(['a']);
    expect(await matchedTopics(store, 'a/b/x')).toEqual([]);
  });

  it('[MQTT-4.7.1-2] + matches exactly one level, an empty one too', async () => {
    const { store } = context;
    await seed(store);
    expect(await matchedTopics(store, 'a/+/c')).toEqual(['a//c', 'a/b/c', 'a/x/c']);
    expect(await matchedTopics(store, 'a/+')).toEqual(['a/b', 'a/c']);
    expect(await matchedTopics(store, '+/b')).toEqual(['a/b', 'b/b']);
    expect(await matchedTopics(store, '+/+/+/+')).toEqual(['a/b/c/d']);
    expect(await matchedTopics(store, '+')).toEqual(['a', 'ab']);
    expect(await matchedTopics(store, '+/a')).toEqual(['/a']);
  });

  it('[MQTT-4.7.1-1] # matches the parent level and every level below it', async () => {
    const { store } = context;
    await seed(store);
    expect(await matchedTopics(store, 'a/#')).toEqual([
      'a',
      'a//c',
      'a/b',
      'a/b/c',
      'a/b/c/d',
      'a/c',
      'a/x/c',
    ]);
    expect(await matchedTopics(store, 'a/b/c/#')).toEqual(['a/b/c', 'a/b/c/d']);
    expect(await matchedTopics(store, 'ab/#')).toEqual(['ab', 'ab/c']);
  });

  it('[MQTT-4.7.1-1] [MQTT-4.7.1-2] + and # combine', async () => {
    const { store } = context;
    await seed(store);
    expect(await matchedTopics(store, '+/b/#')).toEqual(['a/b', 'a/b/c', 'a/b/c/d', 'b/b']);
    expect(await matchedTopics(store, 'a/+/c/#')).toEqual(['a//c', 'a/b/c', 'a/b/c/d', 'a/x/c']);
  });

  it('[MQTT-4.7.2-1] a filter starting with # or + matches no topic starting with $', async () => {
    const { store } = context;
    await seed(store);
    const all = await matchedTopics(store, '#');
    expect(all).toEqual(TOPICS.filter((topic) => !topic.startsWith('$')).sort());
    expect(await matchedTopics(store, '+/broker/uptime')).toEqual([]);
    expect(await matchedTopics(store, '+/+/+')).not.toContain('$SYS/broker/uptime');
    expect(await matchedTopics(store, '+/a')).toEqual(['/a']);
  });

  it('[MQTT-4.7.2-1] a filter starting with a $ level matches topics starting with $', async () => {
    const { store } = context;
    await seed(store);
    expect(await matchedTopics(store, '$SYS/#')).toEqual(['$SYS', '$SYS/broker/uptime']);
    expect(await matchedTopics(store, '$SYS/+/uptime')).toEqual(['$SYS/broker/uptime']);
    expect(await matchedTopics(store, '$data/a')).toEqual(['$data/a']);
  });

  it('[MQTT-4.7.2-1] a level starting with $ below the first level is an ordinary level', async () => {
    const { store } = context;
    await seed(store);
    expect(await matchedTopics(store, 'x/+/z')).toEqual(['x/$y/z']);
    expect(await matchedTopics(store, '#')).toContain('x/$y/z');
  });

  it('a literal level does not match a longer level that starts with it', async () => {
    const { store } = context;
    for (const topic of [
      'home/kitchen',
      'home/kitchenette/x',
      'home/kitchen/x',
      'homes/kitchen/x',
    ]) {
      await store.set(retained(topic));
    }
    expect(await matchedTopics(store, 'home/kitchen/#')).toEqual([
      'home/kitchen',
      'home/kitchen/x',
    ]);
    expect(await matchedTopics(store, 'home/kitchen/+')).toEqual(['home/kitchen/x']);
    expect(await matchedTopics(store, 'home/+/x')).toEqual([
      'home/kitchen/x',
      'home/kitchenette/x',
    ]);
  });

  it('matches levels of non-ASCII UTF-8 topics', async () => {
    const { store } = context;
    for (const topic of [
      'häuser/küche/licht',
      'häuser/bad/licht',
      'häuser/küche',
      '家/客厅/灯',
      'ä',
    ]) {
      await store.set(retained(topic));
    }
    expect(await matchedTopics(store, 'häuser/+/licht')).toEqual([
      'häuser/bad/licht',
      'häuser/küche/licht',
    ]);
    expect(await matchedTopics(store, '家/#')).toEqual(['家/客厅/灯']);
    expect(await matchedTopics(store, 'häuser/küche/#')).toEqual([
      'häuser/küche',
      'häuser/küche/licht',
    ]);
  });

  it('a filter that matches nothing returns an empty page with a null cursor', async () => {
    const { store } = context;
    await seed(store);
    expect(await store.match('nothing/+/here')).toEqual({ messages: [], cursor: null });
    expect(await store.match('nothing/here')).toEqual({ messages: [], cursor: null });
  });

  it('odd filter strings return a page and do not throw', async () => {
    const { store } = context;
    await seed(store);
    const odd = [
      '',
      '/',
      '//',
      '#/a',
      'a/#/b',
      'a+',
      '++',
      '+#',
      '\u0000',
      '\ud800',
      'a'.repeat(70_000),
      Array(300).fill('+').join('/'),
      `${'x/'.repeat(5_000)}#`,
    ];
    for (const filter of odd) {
      const page = await store.match(filter, { limit: 5 });
      expect(Array.isArray(page.messages)).toBe(true);
      expect(page.messages.length).toBeLessThanOrEqual(5);
    }
  });
}
