import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { connectAsync } from 'mqtt';
import { describe, expect, it } from 'vitest';

describe('the README example', () => {
  it('is the same code as test/example.ts', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const example = readFileSync(new URL('./example.ts', import.meta.url), 'utf8');
    expect(readme).toContain(`\`\`\`ts\n${example}\`\`\``);
  });

  it('serves MQTT over TCP to the mqtt client, and server code sees the messages', async () => {
    const { listen, pool, readings } = await import('./example.js');
    const server = listen(0);
    await new Promise((resolve) => server.once('listening', resolve));
    const { port } = server.address() as AddressInfo;
    const client = await connectAsync({
      host: '127.0.0.1',
      port,
      protocolVersion: 5,
      clientId: 'kitchen-sensor',
      reconnectPeriod: 0,
    });
    try {
      await client.subscribeAsync('sensors/kitchen/ack', { qos: 1 });
      const ack = new Promise<string>((resolve) =>
        client.once('message', (_topic, payload) => resolve(payload.toString())),
      );
      await client.publishAsync('sensors/kitchen/temperature', '21.5', { qos: 1 });
      expect(await ack).toBe('thanks');
      expect(readings).toEqual(['kitchen: 21.5']);
      expect(pool.connectedCount()).toBe(1);
    } finally {
      await client.endAsync();
      await new Promise((resolve) => server.close(resolve));
      await pool.close();
    }
  });
});
