import { expect, it } from 'vitest';
import { type KitContext, matchedTopics, retained } from './harness.js';

/** count, bytes, clear and close. */
export function describeAccounting(context: KitContext): void {
  it('an empty store counts 0 messages and 0 bytes', async () => {
    const { store } = context;
    expect(await store.count()).toBe(0);
    expect(await store.bytes()).toBe(0);
  });

  it('count is the number of topics holding a message', async () => {
    const { store } = context;
    await store.set(retained('c/1'));
    await store.set(retained('c/2'));
    await store.set(retained('c/3'));
    await store.set(retained('c/2', 'again'));
    expect(await store.count()).toBe(3);
    await store.set(retained('c/1', Buffer.alloc(0)));
    expect(await store.count()).toBe(2);
  });

  it('bytes grows with payloads and falls back when messages go', async () => {
    const { store } = context;
    await store.set(retained('b/1', Buffer.alloc(1_000)));
    const one = await store.bytes();
    expect(one).toBeGreaterThanOrEqual(1_000);
    await store.set(retained('b/2', Buffer.alloc(2_000)));
    const two = await store.bytes();
    expect(two - one).toBeGreaterThanOrEqual(2_000);
    await store.set(retained('b/1', Buffer.alloc(5_000)));
    expect((await store.bytes()) - two).toBeGreaterThanOrEqual(4_000);
    await store.set(retained('b/1', Buffer.alloc(1_000)));
    expect(await store.bytes()).toBe(two);
    await store.set(retained('b/2', Buffer.alloc(0)));
    expect(await store.bytes()).toBe(one);
    await store.set(retained('b/1', Buffer.alloc(0)));
    expect(await store.bytes()).toBe(0);
  });

  it('bytes counts the topic and the properties as well as the payload', async () => {
    const { store } = context;
    await store.set(retained('b/plain', 'x'));
    const plain = await store.bytes();
    await store.set(retained('b/plain', Buffer.alloc(0)));
    await store.set(retained(`b/${'t'.repeat(300)}`, 'x'));
    expect(await store.bytes()).toBeGreaterThanOrEqual(plain + 290);
    await store.clear();
    const userProperties = { key: 'v'.repeat(400) };
    await store.set(retained('b/plain', 'x', 0, { contentType: 'c'.repeat(500), userProperties }));
    expect(await store.bytes()).toBeGreaterThanOrEqual(plain + 900);
  });

  it('clear removes every message, $ topics included, and the store stays usable', async () => {
    const { store } = context;
    for (const topic of ['a', 'a/b', '$SYS/x', 'z/z']) await store.set(retained(topic));
    await store.set(retained('e', 'x', 0, { messageExpiryInterval: 100 }));
    await store.clear();
    expect(await store.count()).toBe(0);
    expect(await store.bytes()).toBe(0);
    expect(await store.get('a/b')).toBeUndefined();
    expect(await matchedTopics(store, '#')).toEqual([]);
    expect(await matchedTopics(store, '$SYS/#')).toEqual([]);
    await store.set(retained('a/b', 'after'));
    expect((await store.get('a/b'))?.payload.toString()).toBe('after');
    expect(await store.count()).toBe(1);
  });

  it('close resolves and may be called twice', async () => {
    const { store } = context;
    // Left empty: a store that shares its connection keeps its data after close.
    context.closed = true;
    await expect(Promise.resolve(store.close())).resolves.toBeUndefined();
    await expect(Promise.resolve(store.close())).resolves.toBeUndefined();
  });
}
