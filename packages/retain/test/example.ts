import { createMemoryRetainStore } from '@mqtt-sessions/retain';

export const store = createMemoryRetainStore({ maxBytes: 64 * 1024 * 1024 });

// PUBLISH packets with RETAIN=1; mqtt-packet's properties pass straight through.
store.set({
  topic: 'home/kitchen/temperature',
  payload: Buffer.from('21.5'),
  qos: 1,
  properties: { contentType: 'text/plain', messageExpiryInterval: 3600 },
});
store.set({ topic: 'home/hall/temperature', payload: Buffer.from('19.0'), qos: 0 });
store.set({ topic: '$SYS/broker/uptime', payload: Buffer.from('42'), qos: 0 });

// A SUBSCRIBE to home/+/temperature: send the matches a page at a time.
export const delivered: string[] = [];
let page = store.match('home/+/temperature', { limit: 100 });
for (;;) {
  for (const message of page.messages) delivered.push(`${message.topic} = ${message.payload}`);
  if (page.cursor === null) break;
  page = store.match('home/+/temperature', { cursor: page.cursor, limit: 100 });
}

// An empty payload deletes the topic's retained message.
store.set({ topic: 'home/hall/temperature', payload: Buffer.alloc(0), qos: 0 });
console.log(store.stats()); // { count: 2, bytes: 1090, evictions: 0, expired: 0 }
