import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { SocketSet } from '../src/listeners.js';

describe('SocketSet', () => {
  it('counts open sockets, forgets closed ones through one shared listener, and ends the rest', async () => {
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
    const listeners = accepted.map((socket) => socket.listeners('close')[0]);
    expect(listeners.every((listener) => listener === listeners[0])).toBe(true);
    expect(set.size).toBe(6);
    const gone = accepted.slice(0, 2).map((socket) => once(socket, 'close'));
    accepted[0]?.destroy();
    accepted[1]?.destroy();
    await Promise.all(gone);
    expect(set.size).toBe(4);
    const closed = accepted.slice(2).map((socket) => once(socket, 'close'));
    set.destroyAll();
    await Promise.all(closed);
    expect(set.size).toBe(0);
    for (const client of clients) client.destroy();
    server.close();
  });
});
