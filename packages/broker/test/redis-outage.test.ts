/**
 * What the broker does while its Redis is away, against a real redis-server that the test stops
 * and starts again: traffic that does not need Redis keeps flowing, what needs it is refused
 * with 0x80 within the command timeout (never a PUBACK 0x00 for a message that was not stored),
 * `/healthz` says 503, and everything works again once Redis is back.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import type { Packet } from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import type { Broker, BrokerOptions } from '../src/index.js';
import { startBroker } from './helpers.js';
import { RawClient } from './raw-client.js';

function hasRedisServer(): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v redis-server'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}

/** A throwaway redis-server on `port`, without persistence, that the test can stop. */
class RedisProcess {
  private child: ChildProcess | undefined;
  readonly port: number;

  constructor(port: number) {
    this.port = port;
  }

  async start(): Promise<void> {
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      let output = '';
      child.stdout?.on('data', (chunk) => {
        output += chunk;
        if (output.includes('Ready to accept connections')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}`)));
    });
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child === undefined || child.exitCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }
}

let redis: RedisProcess | undefined;
let broker: Broker | undefined;
const clients: RawClient[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) await client.drop().catch(() => {});
  await broker?.close();
  broker = undefined;
  await redis?.stop();
});

async function connect(port: number, options: Record<string, unknown> & { clientId: string }) {
  const { client, connack } = await RawClient.connect(port, { clean: true, ...options });
  expect(connack.reasonCode ?? connack.returnCode).toBe(0);
  clients.push(client);
  return client;
}

let nextId = 1;
/** Publishes at QoS 1 and resolves with the PUBACK and how long it took. */
async function publish(client: RawClient, topic: string, retain: boolean) {
  const messageId = nextId++;
  const started = performance.now();
  client.send({
    cmd: 'publish',
    topic,
    payload: Buffer.from('x'),
    qos: 1,
    retain,
    dup: false,
    messageId,
  } as Packet);
  const puback = await client.next('puback', 5000);
  expect(puback.messageId).toBe(messageId);
  return { reasonCode: puback.reasonCode ?? 0, ms: performance.now() - started };
}

async function healthz(target: Broker): Promise<{ status: number; body: { status: string } }> {
  const response = await fetch(`http://127.0.0.1:${target.addresses().metrics}/healthz`);
  return { status: response.status, body: (await response.json()) as { status: string } };
}

/** Polls `/healthz` until it answers `status` (ioredis notices and reconnects on its own). */
async function healthBecomes(target: Broker, status: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if ((await healthz(target)).status === status) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  expect((await healthz(target)).status).toBe(status);
}

const TIMEOUT_MS = 300;

async function brokerOn(port: number, options: Partial<BrokerOptions>): Promise<Broker> {
  broker = await startBroker({
    wsPort: false,
    redisUrl: `redis://127.0.0.1:${port}`,
    redisPrefix: `mqtt-sessions-test:outage:${process.pid}:${Date.now()}:`,
    redisTimeoutMs: TIMEOUT_MS,
    ...options,
  });
  return broker;
}

describe.skipIf(!hasRedisServer())('Redis outages', () => {
  it('retained messages on Redis: refused with 0x80 while it is away, plain traffic flows', async () => {
    redis = new RedisProcess(await freePort());
    await redis.start();
    const started = await brokerOn(redis.port, { store: 'memory', retainStore: 'redis' });
    const port = started.addresses().tcp as number;
    const subscriber = await connect(port, { clientId: 'subscriber' });
    subscriber.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 't/#', qos: 1 }] });
    await subscriber.next('suback');
    const publisher = await connect(port, { clientId: 'publisher' });
    expect((await publish(publisher, 't/retained', true)).reasonCode).toBe(0);
    expect((await healthz(started)).status).toBe(200);

    await redis.stop();
    await healthBecomes(started, 503);
    expect((await healthz(started)).body.status).toBe('unavailable');
    // The figures stay available; only the retained ones are unknown meanwhile.
    const metrics = await fetch(`http://127.0.0.1:${started.addresses().metrics}/metrics`);
    expect(metrics.status).toBe(200);
    const text = await metrics.text();
    expect(text).toMatch(/mqtt_sessions_retained_messages nan/i);
    expect(text).toMatch(/mqtt_sessions_connected_sessions 2/);

    // Not retained: Redis has no part in it, so it goes through at once.
    const plain = await publish(publisher, 't/plain', false);
    expect(plain.reasonCode).toBe(0);
    expect(plain.ms).toBeLessThan(TIMEOUT_MS);
    expect((await subscriber.next('publish')).topic).toBe('t/retained');
    expect((await subscriber.next('publish')).topic).toBe('t/plain');

    // Retained: it cannot be kept, so the publisher hears 0x80, not "stored", within the timeout.
    const refused = await publish(publisher, 't/retained', true);
    expect(refused.reasonCode).toBe(0x80);
    expect(refused.ms).toBeLessThan(TIMEOUT_MS + 1000);

    // MQTT 3.1.1 has no failing PUBACK: the connection closes instead of a plain PUBACK.
    const { client: old } = await RawClient.connect(port, {
      clientId: 'old',
      protocolVersion: 4,
      clean: true,
    });
    clients.push(old);
    old.send311({
      cmd: 'publish',
      topic: 't/old',
      payload: Buffer.from('x'),
      qos: 1,
      retain: true,
      dup: false,
      messageId: 7,
    } as Packet);
    await old.closed;
    expect(old.take('puback')).toEqual([]);

    await redis.start();
    await healthBecomes(started, 200);
    expect((await publish(publisher, 't/retained', true)).reasonCode).toBe(0);
    const late = await connect(port, { clientId: 'late' });
    late.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 't/retained', qos: 1 }] });
    const retained = await late.next('publish');
    expect(retained.retain).toBe(true);
  }, 30_000);

  it('sessions on Redis: a persistent session’s acks fail with 0x80, others flow on', async () => {
    redis = new RedisProcess(await freePort());
    await redis.start();
    const started = await brokerOn(redis.port, { store: 'redis', retainStore: 'memory' });
    const port = started.addresses().tcp as number;
    // A persistent subscriber on `stored/#`, offline: each message for it must be written.
    const persistent = await connect(port, {
      clientId: 'persistent',
      properties: { sessionExpiryInterval: 3600 },
    });
    persistent.send({
      cmd: 'subscribe',
      messageId: 1,
      subscriptions: [{ topic: 'stored/#', qos: 1 }],
    });
    await persistent.next('suback');
    await persistent.disconnect();
    clients.splice(clients.indexOf(persistent), 1);
    const subscriber = await connect(port, { clientId: 'subscriber' });
    subscriber.send({
      cmd: 'subscribe',
      messageId: 1,
      subscriptions: [{ topic: 'memory/#', qos: 1 }],
    });
    await subscriber.next('suback');
    const publisher = await connect(port, { clientId: 'publisher' });

    await redis.stop();
    await healthBecomes(started, 503);

    // Only sessions that live in memory take part: no write, no wait.
    const plain = await publish(publisher, 'memory/x', false);
    expect(plain.reasonCode).toBe(0);
    expect(plain.ms).toBeLessThan(TIMEOUT_MS);
    expect((await subscriber.next('publish')).topic).toBe('memory/x');

    // For the persistent session the message must be written before PUBACK: that fails, and
    // the publisher is disconnected with 0x80 instead of hearing "stored".
    const owner = await connect(port, { clientId: 'owner' });
    owner.send({
      cmd: 'publish',
      topic: 'stored/x',
      payload: Buffer.from('x'),
      qos: 1,
      retain: false,
      dup: false,
      messageId: 1,
    } as Packet);
    const disconnect = await owner.next('disconnect', TIMEOUT_MS + 2000);
    expect(disconnect.reasonCode).toBe(0x80);
    expect(owner.take('puback')).toEqual([]);

    await redis.start();
    await healthBecomes(started, 200);
    const again = await connect(port, { clientId: 'owner-again' });
    expect((await publish(again, 'stored/y', false)).reasonCode).toBe(0);
  }, 30_000);
});
