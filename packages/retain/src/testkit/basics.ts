import { expect, it } from 'vitest';
import { type KitContext, matchedTopics, retained, seededRandom } from './harness.js';

/** set, get, replace and delete, including the empty-payload delete. */
export function describeBasics(context: KitContext): void {
  it('[MQTT-3.3.1-5] get returns a stored message with its topic, payload, QoS and store time', async () => {
    const { store, clock } = context;
    await store.set(retained('home/kitchen/light', 'on', 1));
    const message = await store.get('home/kitchen/light');
    expect(message).toEqual({
      topic: 'home/kitchen/light',
      payload: Buffer.from('on'),
      qos: 1,
      properties: {},
      storedAt: clock.now(),
    });
  });

  it('[MQTT-3.3.1-5] a second set on a topic replaces the first', async () => {
    const { store, clock } = context;
    await store.set(retained('home/kitchen/light', 'on', 2, { contentType: 'text/plain' }));
    clock.advance(5_000);
    await store.set(retained('home/kitchen/light', 'off', 0));
    const message = await store.get('home/kitchen/light');
    expect(message?.payload).toEqual(Buffer.from('off'));
    expect(message?.qos).toBe(0);
    expect(message?.properties).toEqual({});
    expect(message?.storedAt).toBe(clock.now());
    expect(await store.count()).toBe(1);
    expect(await matchedTopics(store, '#')).toEqual(['home/kitchen/light']);
  });

  it('keeps QoS 0, 1 and 2 as given', async () => {
    const { store } = context;
    await store.set(retained('q/0', 'a', 0));
    await store.set(retained('q/1', 'b', 1));
    await store.set(retained('q/2', 'c', 2));
    expect((await store.get('q/0'))?.qos).toBe(0);
    expect((await store.get('q/1'))?.qos).toBe(1);
    expect((await store.get('q/2'))?.qos).toBe(2);
  });

  it('get of a topic that holds no message returns undefined', async () => {
    const { store } = context;
    await store.set(retained('a/b'));
    expect(await store.get('a/c')).toBeUndefined();
    expect(await store.get('a')).toBeUndefined();
    expect(await store.get('a/b/c')).toBeUndefined();
  });

  it('[MQTT-3.3.1-6] an empty payload removes the retained message of its topic', async () => {
    const { store } = context;
    await store.set(retained('sensor/1', 'on', 1));
    await store.set(retained('sensor/1', Buffer.alloc(0), 1));
    expect(await store.get('sensor/1')).toBeUndefined();
    expect(await matchedTopics(store, 'sensor/#')).toEqual([]);
    expect(await store.count()).toBe(0);
    expect(await store.bytes()).toBe(0);
  });

  it('[MQTT-3.3.1-7] an empty payload on a topic without a message stores nothing', async () => {
    const { store } = context;
    await store.set(retained('sensor/2', Buffer.alloc(0)));
    expect(await store.get('sensor/2')).toBeUndefined();
    expect(await store.count()).toBe(0);
    expect((await store.match('#')).messages).toEqual([]);
  });

  it('[MQTT-3.3.1-6] an empty payload deletes even with content type application/json (defect 22 of the original)', async () => {
    const { store } = context;
    await store.set(retained('cfg', '{"a":1}', 0, { contentType: 'application/json' }));
    await store.set(retained('cfg', Buffer.alloc(0), 0, { contentType: 'application/json' }));
    expect(await store.get('cfg')).toBeUndefined();
    expect(await store.count()).toBe(0);
  });

  it('deleting a topic leaves its parent, children and siblings alone', async () => {
    const { store } = context;
    for (const topic of ['a', 'a/b', 'a/b/c', 'a/c']) await store.set(retained(topic, topic));
    await store.set(retained('a/b', Buffer.alloc(0)));
    expect(await matchedTopics(store, '#')).toEqual(['a', 'a/b/c', 'a/c']);
    expect((await store.get('a/b/c'))?.payload).toEqual(Buffer.from('a/b/c'));
  });

  it('compares topics exactly: case, leading and trailing slashes and empty levels differ', async () => {
    const { store } = context;
    const topics = ['a/b', 'A/b', 'a/b/', '/a/b', 'a//b', 'a/b ', 'ä/b'];
    for (const topic of topics) await store.set(retained(topic, `payload of ${topic}`));
    for (const topic of topics) {
      expect((await store.get(topic))?.payload.toString()).toBe(`payload of ${topic}`);
    }
    expect(await store.count()).toBe(topics.length);
  });

  it('interleaved sets and deletes leave the store equal to a model of them', async () => {
    const { store } = context;
    const random = seededRandom(0x5eed);
    const model = new Map<string, string>();
    for (let step = 0; step < 2_000; step++) {
      const topic = `m/${Math.floor(random() * 8)}/${Math.floor(random() * 8)}`;
      if (random() < 0.35) {
        await store.set(retained(topic, Buffer.alloc(0)));
        model.delete(topic);
      } else {
        const payload = `v${step}`;
        await store.set(retained(topic, payload));
        model.set(topic, payload);
      }
    }
    expect(await store.count()).toBe(model.size);
    expect(await matchedTopics(store, '#')).toEqual([...model.keys()].sort());
    for (let a = 0; a < 8; a++) {
      for (let b = 0; b < 8; b++) {
        const topic = `m/${a}/${b}`;
        expect((await store.get(topic))?.payload.toString()).toBe(model.get(topic));
      }
    }
  });
}
