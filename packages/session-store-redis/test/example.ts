import { createRedisSessionStore } from '@mqtt-sessions/session-store-redis';

export async function example(url = 'redis://127.0.0.1:6379'): Promise<string[]> {
  // The store owns a client it makes from a URL; pass { client } to share one of yours, or
  // { cluster: ['127.0.0.1:7000', ...] } for a Redis Cluster.
  const store = createRedisSessionStore({ url, keyPrefix: 'example:sessions:' });
  const key = { pool: 'default', clientId: 'sensor-1' };

  // One batch, one Lua script: Redis stores all of it or none of it.
  await store.apply([
    {
      type: 'session',
      session: {
        ...key,
        protocolVersion: 5,
        expiryInterval: 3600,
        expiresAt: undefined, // connected: the expiry clock has not started
        userData: null,
        lastPacketId: 0,
        will: undefined,
      },
    },
    {
      type: 'subscribe',
      key,
      subscription: {
        filter: 'commands/sensor-1/#',
        qos: 1,
        noLocal: false,
        retainAsPublished: false,
        retainHandling: 0,
        subscriptionIdentifier: undefined,
      },
    },
    {
      type: 'message',
      key,
      message: {
        seq: 1,
        topic: 'commands/sensor-1/reboot',
        payload: Buffer.from([0x00, 0xff]), // bytes come back as they went in
        qos: 1,
        retain: false,
        properties: {},
        expiresAt: undefined,
        subscriptionIds: undefined,
        shared: undefined,
        stage: 'queued',
        packetId: 0,
        sent: false,
      },
    },
  ]);

  // What a restarted broker, or another one, reads back: the outlines of the sessions (all but
  // their messages) at start, a session's messages when its client comes back.
  const lines: string[] = [];
  let page = await store.list('default', null, 100);
  for (;;) {
    for (const { session, subscriptions, lastSeq } of page.sessions) {
      lines.push(`${session.clientId}: ${subscriptions.map((s) => s.filter).join(', ')}`);
      lines.push(`  messages up to seq ${lastSeq}`);
    }
    if (page.cursor === null) break;
    page = await store.list('default', page.cursor, 100);
  }
  const state = await store.load(key); // sensor-1 connects again
  for (const m of state?.messages ?? []) {
    lines.push(`  ${m.seq} ${m.topic} ${m.payload.toString('hex')}`);
  }

  await store.apply([{ type: 'delete', key }]); // the session and all its keys
  await store.close(); // quits the client the store created
  return lines;
}
