import { createBroker } from '@mqtt-sessions/broker';

export async function run() {
  const broker = await createBroker({
    port: 0,
    wsPort: false,
    metricsPort: false,
    store: 'memory',
    logLevel: 'silent',
  });
  const { tcp } = await broker.start();
  const pool = broker.pools.defaultPool;
  await pool.serverPublish('status/broker', 'up', { retain: true });
  const status = await pool.retain.get('status/broker');
  const stats = await broker.stats();
  await broker.close();
  return { tcp, status: status?.payload.toString(), stats };
}
