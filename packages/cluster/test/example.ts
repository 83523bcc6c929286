import { createClusterNode } from '@mqtt-sessions/cluster';
import { createPool } from '@mqtt-sessions/pool';
import type { Session } from '@mqtt-sessions/session';
import { createRedisSessionStore } from '@mqtt-sessions/session-store-redis';

export async function example(url = 'redis://127.0.0.1:6379'): Promise<string[]> {
  // Two brokers as one service; in production each is its own process, on its own machine.
  const brokers = await Promise.all(
    ['broker-a', 'broker-b'].map(async (nodeId) => {
      const node = createClusterNode({ url, nodeId, keyPrefix: 'example:' });
      const pool = createPool({
        registry: node.registry<Session>('default'), // one owner per client id, cluster-wide
        store: createRedisSessionStore({ url, keyPrefix: 'example:sessions:' }),
        sharedStore: true, // sessions load from the store when their client connects
      });
      await node.join([pool]); // before the pool takes connections
      return { node, pool };
    }),
  );
  const [a, b] = brokers as [(typeof brokers)[0], (typeof brokers)[0]];

  const received: string[] = [];
  await b.pool.serverSubscribe('alerts/#', (message) => {
    received.push(`${message.topic}: ${message.payload}`);
  });
  // Routes travel through Redis: wait until broker A knows that B wants alerts/#.
  while (!a.node.routesTo('broker-b', 'default', 'alerts/#')) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await a.pool.serverPublish('alerts/fire', 'hall', { qos: 1 }); // resolves once Redis has it
  while (received.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));

  for (const { node, pool } of brokers) {
    // Stops taking messages, closes the pool (its persistent sessions are stored), then leaves:
    // another node takes its sessions over.
    await node.leave(() => pool.close());
  }
  return received;
}
