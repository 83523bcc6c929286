/**
 * The socket and WebSocket adapters over real sockets, with the real `mqtt` npm client: the way an
 * embedder serves a pool with `net.createServer(pool.handle)` or a `ws` server.
 */
import { once } from 'node:events';
import { type AddressInfo, createServer, type Server } from 'node:net';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { attachWebSocket, createPool, type Pool } from '../src/index.js';

let cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

function newPool(seen: unknown[]): Pool {
  const pool = createPool({
    onError: (error) => seen.push(error),
    observe: (event) => seen.push(event.type === 'connected' ? event : undefined),
  });
  cleanups.push(() => pool.close());
  return pool;
}

async function listen(server: Server | WebSocketServer): Promise<number> {
  if (server instanceof WebSocketServer) {
    await once(server, 'listening');
    return (server.address() as AddressInfo).port;
  }
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

async function client(url: string): Promise<MqttClient> {
  const connected = await connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0 });
  cleanups.push(() => connected.endAsync(true));
  return connected;
}

async function roundTrip(subscriber: MqttClient, publisher: MqttClient): Promise<string> {
  const message = new Promise<string>((resolve) =>
    subscriber.once('message', (topic, payload) => resolve(`${topic} ${payload.toString()}`)),
  );
  await subscriber.subscribeAsync('t/#', { qos: 1 });
  await publisher.publishAsync('t/1', 'hello', { qos: 1 });
  return message;
}

describe('transport adapters', () => {
  it('serves TCP with net.createServer(pool.handle), peer address and origin included', async () => {
    const seen: unknown[] = [];
    const pool = newPool(seen);
    const server = createServer(pool.handle);
    const port = await listen(server);
    cleanups.push(
      () =>
        new Promise((resolve) => {
          server.close(() => resolve());
        }),
    );
    const a = await client(`mqtt://127.0.0.1:${port}`);
    const b = await client(`mqtt://127.0.0.1:${port}`);
    expect(await roundTrip(a, b)).toBe('t/1 hello');
    const connected = seen.filter((event) => event !== undefined) as { peerIp?: string }[];
    expect(connected.map((event) => event.peerIp)).toEqual(['127.0.0.1', '127.0.0.1']);
    const session = await pool.findSession(a.options.clientId as string);
    expect(session?.userContext).toMatchObject({ origin: 'tcp' });
  });

  it('serves MQTT over WebSocket with attachWebSocket', async () => {
    const seen: unknown[] = [];
    const pool = newPool(seen);
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', path: '/mqtt' });
    wss.on('connection', (ws, request) =>
      attachWebSocket(pool, ws, { peerIp: request.socket.remoteAddress }),
    );
    const port = await listen(wss);
    cleanups.push(
      () =>
        new Promise((resolve) => {
          wss.close(() => resolve());
        }),
    );
    const a = await client(`ws://127.0.0.1:${port}/mqtt`);
    const b = await client(`ws://127.0.0.1:${port}/mqtt`);
    expect(await roundTrip(a, b)).toBe('t/1 hello');
    const session = await pool.findSession(a.options.clientId as string);
    expect(session?.userContext).toMatchObject({ origin: 'websocket' });
    expect(seen.filter((event) => event instanceof Error)).toEqual([]);
  });
});
