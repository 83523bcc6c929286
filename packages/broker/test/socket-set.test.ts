import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { SocketSet } from '../src/listeners.js';

describe('SocketSet', () => {
  it('counts open sockets, forgets destroyed ones without a listener per socket, and ends the rest', async () => {
    const set = new SocketSet();
    const accepted: Socket[] = [];
    const server = createServer((socket) => {
      set.add(socket);
      accepted.push(socket);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const clients = Array.from({ length: 6 }, () => connect(port, '127.0.0.1'));
    await Promise.all(clients.map((client) => once(client, 'connect')));
    while (accepted.length < 6) await new Promise((resolve) => setImmediate(resolve));
    expect(accepted.every((socket) => socket.listenerCount('close') === 0)).toBe(true);
    expect(set.size).toBe(6);
    accepted[0]?.destroy();
    accepted[1]?.destroy();
    expect(set.size).toBe(4);
    const closed = clients.slice(2).map((client) => once(client, 'close'));
    set.destroyAll();
    await Promise.all(closed);
    expect(set.size).toBe(0);
    for (const client of clients) client.destroy();
    server.close();
  });
});
