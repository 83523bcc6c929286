import { createRedisRetainStore } from '@mqtt-sessions/retain-redis';

export async function example(url = 'redis://127.0.0.1:6379'): Promise<string[]> {
  // The store owns a client it makes from a URL; pass { client } to share one of yours.
  const store = createRedisRetainStore({ url, keyPrefix: 'broker-1:retain:' });
  await store.set({
    topic: 'home/kitchen/temperature',
    payload: Buffer.from('21.5'),
    qos: 1,
    properties: { messageExpiryInterval: 3600 }, // Redis drops the key after an hour
  });
  await store.set({ topic: 'home/hall/temperature', payload: Buffer.from('19.0'), qos: 0 });

  const delivered: string[] = [];
  let page = await store.match('home/+/temperature', { limit: 100 });
  for (;;) {
    for (const message of page.messages) delivered.push(`${message.topic} = ${message.payload}`);
    if (page.cursor === null) break;
    page = await store.match('home/+/temperature', { cursor: page.cursor, limit: 100 });
  }

  await store.clear(); // deletes every key under broker-1:retain:
  await store.close(); // quits the client the store created
  return delivered;
}
