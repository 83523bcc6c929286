import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { createPool } from '@mqtt-sessions/pool';
import { describe, expect, it } from 'vitest';
import { SocketSet, startListeners } from '../src/listeners.js';
import type { BrokerOptions } from '../src/options.js';

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

  it('tracks the sockets of a TCP listener through the close listener of the transport: one per socket', async () => {
    const pool = createPool();
    const set = new SocketSet();
    const options = { host: '127.0.0.1', port: 0, tlsPort: false, wsPort: false, wssPort: false };
    const [listener] = await startListeners(pool, options as unknown as BrokerOptions, set);
    const port = listener?.port() ?? 0;
    const clients = Array.from({ length: 3 }, () => connect(port, '127.0.0.1'));
    await Promise.all(clients.map((client) => once(client, 'connect')));
    const tracked = () => [...(set as unknown as { sockets: Set<Socket> }).sockets];
    while (tracked().length < 3) await new Promise((resolve) => setImmediate(resolve));
    expect(tracked().map((socket) => socket.listeners('close').length)).toEqual([1, 1, 1]);
    const gone = tracked().map((socket) => once(socket, 'close'));
    for (const client of clients) client.destroy();
    await Promise.all(gone);
    expect(set.size).toBe(0);
    await listener?.close();
    await pool.close();
  });
});
