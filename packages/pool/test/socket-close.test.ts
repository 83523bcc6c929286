import { once } from 'node:events';
import { type AddressInfo, createServer, connect as netConnect, type Socket } from 'node:net';
import { generate } from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { attachSocket, createPool, type Pool } from '../src/index.js';

let pool: Pool | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

describe('attachSocket onClose', () => {
  it('hears each socket close after its connection ended, through the one close listener of the socket', async () => {
    const current = createPool();
    pool = current;
    const accepted: Socket[] = [];
    const heard: { socket: Socket; connectedThen: number }[] = [];
    const onClose = (socket: Socket) => {
      heard.push({ socket, connectedThen: current.connectedCount() });
    };
    const server = createServer((socket) => {
      accepted.push(socket);
      attachSocket(current, socket, { onClose });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;

    const clients = ['one', 'two'].map((clientId) => {
      const client = netConnect(port, '127.0.0.1');
      client.write(
        generate({
          cmd: 'connect',
          protocolId: 'MQTT',
          protocolVersion: 4,
          clientId,
          clean: true,
          keepalive: 0,
        }),
      );
      return client;
    });
    // Each client hears its CONNACK: the sessions are live.
    await Promise.all(clients.map((client) => once(client, 'data')));
    expect(current.connectedCount()).toBe(2);

    const listeners = accepted.map((socket) => socket.listeners('close'));
    expect(listeners.map((list) => list.length)).toEqual([1, 1]);
    expect(listeners[0]?.[0]).toBe(listeners[1]?.[0]); // one function for every socket of the hook

    const closed = accepted.map((socket) => once(socket, 'close'));
    clients[0]?.destroy();
    await closed[0];
    expect(heard).toEqual([{ socket: accepted[0], connectedThen: 1 }]);
    clients[1]?.destroy();
    await closed[1];
    expect(heard.map((entry) => entry.socket)).toEqual(accepted);
    expect(heard[1]?.connectedThen).toBe(0);
    server.close();
  });
});
