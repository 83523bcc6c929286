import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { generate, type Packet, parser } from 'mqtt-packet';
import { afterEach, expect, it } from 'vitest';
import type { Broker } from '../src/index.js';
import { connectClient, endClient, startBroker } from './helpers.js';

let broker: Broker | undefined;

/**
 * A full garbage collection, so that memory readings count what is held, not garbage that a
 * collection has not reached yet (the test process runs without --expose-gc).
 */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

afterEach(async () => {
  await broker?.close();
  broker = undefined;
});

/** A raw MQTT 5 client on a socket: it subscribes, then stops reading. */
async function stalledSubscriber(port: number, topic: string): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  const decoder = parser({ protocolVersion: 5 });
  const packets: Packet[] = [];
  decoder.on('packet', (packet: Packet) => packets.push(packet));
  socket.on('data', (chunk) => decoder.parse(chunk));
  socket.write(
    generate(
      {
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 5,
        clientId: 'slow',
        clean: true,
        keepalive: 0,
      },
      { protocolVersion: 5 },
    ),
  );
  socket.write(
    generate(
      { cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 0 }] },
      { protocolVersion: 5 },
    ),
  );
  while (!packets.some((p) => p.cmd === 'suback'))
    await new Promise((resolve) => setTimeout(resolve, 5));
  socket.pause(); // never read again: the kernel buffers fill, then the broker's socket
  return socket;
}

it('a subscriber that never reads does not grow broker memory without bound', async () => {
  const maxQueued = 100;
  broker = await startBroker({
    session: { maxQueued, incomingRate: 1_000_000, incomingBurst: 1_000_000 },
  });
  const port = broker.addresses().tcp as number;
  const slow = await stalledSubscriber(port, 'flood/#');
  const publisher = await connectClient(`mqtt://127.0.0.1:${port}`, { clientId: 'flooder' });
  const payload = Buffer.alloc(4096, 7);
  collectGarbage();
  const before = process.memoryUsage();
  const total = 20_000; // 80 MB offered to the stalled subscriber
  for (let i = 0; i < total; i += 500) {
    for (let j = 0; j < 500; j++) publisher.publish('flood/x', payload, { qos: 0 });
    await publisher.publishAsync('flood/x', payload, { qos: 1 }); // a round trip paces the loop
  }
  collectGarbage();
  const after = process.memoryUsage();
  const session = await broker.pools.defaultPool.findSession('slow');
  const stats = session?.stats();
  expect(stats?.queued).toBeLessThanOrEqual(maxQueued);
  expect(stats?.dropped).toBeGreaterThan(total / 2);
  // What the broker holds for the slow client: the bounded queue plus socket buffers, far below
  // the 80 MB offered, counted after a collection (garbage not collected yet made this flaky).
  const grown = after.external + after.arrayBuffers - (before.external + before.arrayBuffers);
  // Measured after a collection: 9.5 MB alone (the socket buffers of both sides, the client's
  // own), up to 17.5 MB seen while other test files run in the same process.
  expect(grown).toBeLessThan(30 * 1024 * 1024);
  await endClient(publisher);
  slow.destroy();
}, 30_000);
