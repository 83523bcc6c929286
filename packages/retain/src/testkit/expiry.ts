import { expect, it } from 'vitest';
import { type KitContext, matchAll, matchedTopics, retained, topicsOf } from './harness.js';

/** Message expiry on the store clock, which the kit moves by hand. */
export function describeExpiry(context: KitContext): void {
  it('[MQTT-3.3.2-5] a message is not returned once its expiry interval has passed', async () => {
    const { store, clock } = context;
    await store.set(retained('t/expiring', 'soon', 1, { messageExpiryInterval: 10 }));
    await store.set(retained('t/forever', 'always'));
    clock.advance(9_999);
    expect(await store.get('t/expiring')).toBeDefined();
    clock.advance(1);
    expect(await store.get('t/expiring')).toBeUndefined();
    expect(await matchedTopics(store, 't/#')).toEqual(['t/forever']);
    expect(await matchedTopics(store, 't/expiring')).toEqual([]);
  });

  it('[MQTT-3.3.2-5] an expired message is not counted in count or bytes', async () => {
    const { store, clock } = context;
    await store.set(retained('t/forever', 'always'));
    const bytesBefore = await store.bytes();
    await store.set(retained('t/expiring', 'soon', 0, { messageExpiryInterval: 3 }));
    expect(await store.count()).toBe(2);
    clock.advance(3_000);
    expect(await store.count()).toBe(1);
    expect(await store.bytes()).toBe(bytesBefore);
  });

  it('[MQTT-3.3.2-6] a returned message carries the seconds left of its expiry, rounded up', async () => {
    const { store, clock } = context;
    await store.set(retained('t/e', 'x', 0, { messageExpiryInterval: 10 }));
    expect((await store.get('t/e'))?.properties.messageExpiryInterval).toBe(10);
    clock.advance(1);
    expect((await store.get('t/e'))?.properties.messageExpiryInterval).toBe(10);
    clock.advance(999);
    expect((await store.get('t/e'))?.properties.messageExpiryInterval).toBe(9);
    clock.advance(6_500);
    expect((await store.get('t/e'))?.properties.messageExpiryInterval).toBe(3);
    const page = await store.match('t/+');
    expect(page.messages[0]?.properties.messageExpiryInterval).toBe(3);
  });

  it('[MQTT-3.3.2-6] a live message never reports an expiry interval of 0', async () => {
    const { store, clock } = context;
    await store.set(retained('t/e', 'x', 0, { messageExpiryInterval: 1 }));
    clock.advance(999);
    expect((await store.get('t/e'))?.properties.messageExpiryInterval).toBe(1);
  });

  it('[MQTT-3.3.2-5] a message expiry interval of 0 is expired at once', async () => {
    const { store } = context;
    await store.set(retained('t/e', 'old'));
    await store.set(retained('t/e', 'new', 0, { messageExpiryInterval: 0 }));
    expect(await store.get('t/e')).toBeUndefined();
    expect(await store.count()).toBe(0);
  });

  it('a message without a Message Expiry Interval never expires and reports none', async () => {
    const { store, clock } = context;
    await store.set(retained('t/forever', 'always'));
    clock.advance(10 * 365 * 24 * 3600 * 1000);
    const message = await store.get('t/forever');
    expect(message?.payload).toEqual(Buffer.from('always'));
    expect(message?.properties).not.toHaveProperty('messageExpiryInterval');
  });

  it('replacing a message replaces its expiry too', async () => {
    const { store, clock } = context;
    await store.set(retained('t/a', 'v1', 0, { messageExpiryInterval: 5 }));
    await store.set(retained('t/b', 'v1'));
    clock.advance(4_000);
    await store.set(retained('t/a', 'v2'));
    await store.set(retained('t/b', 'v2', 0, { messageExpiryInterval: 5 }));
    clock.advance(4_000);
    expect((await store.get('t/a'))?.payload.toString()).toBe('v2');
    expect((await store.get('t/b'))?.properties.messageExpiryInterval).toBe(1);
    clock.advance(1_000);
    expect(await store.get('t/b')).toBeUndefined();
    expect(await store.get('t/a')).toBeDefined();
  });

  it('a topic whose message expired can be set again', async () => {
    const { store, clock } = context;
    await store.set(retained('t/e', 'first', 0, { messageExpiryInterval: 2 }));
    clock.advance(5_000);
    expect(await store.get('t/e')).toBeUndefined();
    await store.set(retained('t/e', 'second', 0, { messageExpiryInterval: 2 }));
    const message = await store.get('t/e');
    expect(message?.payload.toString()).toBe('second');
    expect(message?.storedAt).toBe(clock.now());
    expect(await store.count()).toBe(1);
  });

  it('[MQTT-3.3.2-5] messages that expire while a match is paged are not returned later', async () => {
    const { store, clock } = context;
    for (let i = 0; i < 40; i++) {
      const properties = i % 2 === 0 ? { messageExpiryInterval: 5 } : {};
      await store.set(retained(`page/${i}`, `v${i}`, 0, properties));
    }
    const first = await store.match('page/+', { limit: 4 });
    expect(first.cursor).not.toBeNull();
    clock.advance(5_000);
    const rest = await matchAll(store, 'page/+');
    expect(rest.messages.every((message) => Number(message.topic.slice(5)) % 2 === 1)).toBe(true);
    let page = first;
    const later = [];
    while (page.cursor !== null) {
      page = await store.match('page/+', { cursor: page.cursor, limit: 4 });
      later.push(...page.messages);
    }
    expect(later.every((message) => Number(message.topic.slice(5)) % 2 === 1)).toBe(true);
    const seen = new Set(topicsOf([...first.messages, ...later]));
    for (let i = 1; i < 40; i += 2) expect(seen.has(`page/${i}`)).toBe(true);
  });
}
