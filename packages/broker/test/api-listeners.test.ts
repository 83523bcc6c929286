import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createBroker } from '../src/index.js';

describe('createBroker', () => {
  it('opens only the listeners it is given: no WebSocket, no metrics by default', async () => {
    const broker = await createBroker({
      host: '127.0.0.1',
      port: 0,
      store: 'memory',
      sysInterval: 0,
      logger: pino({ level: 'silent' }),
    });
    try {
      const addresses = await broker.start();
      expect(addresses.tcp).toBeGreaterThan(0);
      expect(addresses).toMatchObject({ ws: undefined, wss: undefined, metrics: undefined });
      expect(broker.urls()).toEqual([`mqtt://127.0.0.1:${addresses.tcp}`]);
    } finally {
      await broker.close();
    }
  });
});
