import { once } from 'node:events';
import { connect } from 'node:net';
import type mqtt from 'mqtt';
import { generate } from 'mqtt-packet';
import selfsigned from 'selfsigned';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { Broker } from '../src/index.js';
import { connectClient, endClient, nextMessage, startBroker } from './helpers.js';

let broker: Broker | undefined;
const clients: mqtt.MqttClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => endClient(client)));
  await broker?.close();
  broker = undefined;
});

async function client(url: string, options: mqtt.IClientOptions = {}) {
  const c = await connectClient(url, options);
  clients.push(c);
  return c;
}

async function roundTrip(url: string, options: mqtt.IClientOptions, qos: 0 | 1 | 2) {
  const sub = await client(url, { ...options, clientId: `sub-${qos}-${options.protocolVersion}` });
  const pub = await client(url, { ...options, clientId: `pub-${qos}-${options.protocolVersion}` });
  await sub.subscribeAsync('e2e/+/data', { qos });
  const received = nextMessage(sub);
  await pub.publishAsync('e2e/x/data', `hello ${qos}`, { qos });
  const message = await received;
  expect(message.topic).toBe('e2e/x/data');
  expect(message.payload.toString()).toBe(`hello ${qos}`);
  expect(message.packet.qos).toBe(qos);
}

describe('broker end to end', () => {
  for (const protocolVersion of [5, 4] as const) {
    it(`MQTT.js v${protocolVersion} over TCP: publish and subscribe at QoS 0, 1 and 2`, async () => {
      broker = await startBroker();
      const url = `mqtt://127.0.0.1:${broker.addresses().tcp}`;
      for (const qos of [0, 1, 2] as const) await roundTrip(url, { protocolVersion }, qos);
    });
  }

  it('MQTT.js over WebSocket on /mqtt with the mqtt subprotocol [MQTT-6.0.0-4]', async () => {
    broker = await startBroker();
    const url = `ws://127.0.0.1:${broker.addresses().ws}/mqtt`;
    await roundTrip(url, { protocolVersion: 5 }, 1);
  });

  it('closes a WebSocket that sends a text frame instead of a binary one [MQTT-6.0.0-1]', async () => {
    broker = await startBroker();
    const ws = new WebSocket(`ws://127.0.0.1:${broker.addresses().ws}/mqtt`, 'mqtt');
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.send('not mqtt'); // a text frame
    expect(await closed).toBe(1003);
  });

  it('refuses a WebSocket upgrade on another path with 400, and serves /mqtt after it', async () => {
    broker = await startBroker();
    const port = broker.addresses().ws as number;
    const wrong = new WebSocket(`ws://127.0.0.1:${port}/other`, 'mqtt');
    const status = await new Promise<number | undefined>((resolve) => {
      wrong.once('unexpected-response', (_request, response) => resolve(response.statusCode));
      wrong.once('error', () => resolve(undefined));
    });
    expect(status).toBe(400);
    await roundTrip(`ws://127.0.0.1:${port}/mqtt`, { protocolVersion: 5 }, 1);
  });

  it('takes a CONNECT sent in the same write as the first upgrade request', async () => {
    // The ws package is loaded on the first upgrade: bytes that arrive meanwhile must wait.
    broker = await startBroker();
    const port = broker.addresses().ws as number;
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    const connectPacket = generate(
      {
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 4,
        clientId: 'early',
        clean: true,
        keepalive: 30,
      },
      { protocolVersion: 4 },
    );
    // One masked binary frame carrying the CONNECT (client frames must be masked).
    const mask = Buffer.from([1, 2, 3, 4]);
    const masked = Buffer.from(connectPacket.map((byte, i) => byte ^ (mask[i % 4] as number)));
    const frame = Buffer.concat([Buffer.from([0x82, 0x80 | masked.length]), mask, masked]);
    const request =
      'GET /mqtt HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n' +
      'Sec-WebSocket-Protocol: mqtt\r\n\r\n';
    socket.write(Buffer.concat([Buffer.from(request), frame]));
    let received = Buffer.alloc(0);
    const connack = new Promise<Buffer>((resolve) => {
      socket.on('data', (chunk: Buffer) => {
        received = Buffer.concat([received, chunk]);
        const end = received.indexOf('\r\n\r\n');
        // After the 101 response: a binary frame of 4 bytes, the CONNACK 20 02 00 00.
        if (end !== -1 && received.length >= end + 4 + 2 + 4) {
          resolve(received.subarray(end + 4));
        }
      });
    });
    const frameBack = await connack;
    expect(received.toString('latin1')).toMatch(/^HTTP\/1\.1 101 /);
    expect([...frameBack.subarray(0, 6)]).toEqual([0x82, 0x04, 0x20, 0x02, 0x00, 0x00]);
    socket.destroy();
  });

  it('MQTT.js over TLS and WSS with a throwaway self-signed certificate', async () => {
    const pems = await selfsigned.generate([{ name: 'commonName', value: 'localhost' }], {
      keySize: 2048,
      notAfterDate: new Date(Date.now() + 86_400_000),
    });
    broker = await startBroker({
      tls: { cert: pems.cert, key: pems.private },
      tlsPort: 0,
      wssPort: 0,
    });
    const tlsOptions = {
      protocolVersion: 5 as const,
      ca: pems.cert,
      rejectUnauthorized: true,
      servername: 'localhost',
    };
    await roundTrip(`mqtts://localhost:${broker.addresses().tls}`, tlsOptions, 1);
    await roundTrip(
      `wss://localhost:${broker.addresses().wss}/mqtt`,
      { ...tlsOptions, clientId: 'wss' },
      0,
    );
  });

  it('keeps retained messages and the Will across real connections', async () => {
    broker = await startBroker();
    const url = `mqtt://127.0.0.1:${broker.addresses().tcp}`;
    const publisher = await client(url, { clientId: 'retainer' });
    await publisher.publishAsync('state/lamp', 'on', { qos: 1, retain: true });
    const watcher = await client(url, { clientId: 'watcher' });
    const retained = nextMessage(watcher);
    await watcher.subscribeAsync('state/#', { qos: 1 });
    const message = await retained;
    expect(message.payload.toString()).toBe('on');
    expect(message.packet.retain).toBe(true);

    const dying = await client(url, {
      clientId: 'dying',
      will: { topic: 'state/dying', payload: Buffer.from('gone'), qos: 1, retain: false },
    });
    const will = nextMessage(watcher);
    dying.stream.destroy(); // no DISCONNECT: the Will goes out
    expect((await will).payload.toString()).toBe('gone');
  });

  it('publishes $SYS figures and serves /metrics and /healthz', async () => {
    broker = await startBroker();
    const url = `mqtt://127.0.0.1:${broker.addresses().tcp}`;
    const c = await client(url, { clientId: 'sys-reader' });
    await c.publishAsync('count/me', 'x', { qos: 1 });
    await broker.close(); // restart with $SYS updates on: they publish at start
    broker = await startBroker({ sysInterval: 60 });
    const reader = await client(`mqtt://127.0.0.1:${broker.addresses().tcp}`, {
      clientId: 'sys-reader-2',
    });
    const seen = new Map<string, string>();
    reader.on('message', (topic, payload) => seen.set(topic, payload.toString()));
    await reader.subscribeAsync('$SYS/broker/#');
    await waitUntil(() => seen.has('$SYS/broker/retained/bytes'));
    expect(seen.get('$SYS/broker/version')).toMatch(/^\d+\.\d+\.\d+/);
    expect(Number(seen.get('$SYS/broker/clients/connected'))).toBeGreaterThanOrEqual(0);
    expect(Number(seen.get('$SYS/broker/uptime'))).toBeGreaterThanOrEqual(0);

    const metrics = await (
      await fetch(`http://127.0.0.1:${broker.addresses().metrics}/metrics`)
    ).text();
    expect(metrics).toMatch(/^mqtt_sessions_connected_sessions 1$/m);
    expect(metrics).toMatch(/^mqtt_sessions_connects_total 1$/m);
    expect(metrics).toMatch(/^mqtt_sessions_retained_messages \d+$/m);
    expect(metrics).toContain('process_resident_memory_bytes');
    const health = await fetch(`http://127.0.0.1:${broker.addresses().metrics}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
  });

  it('answers a $SYS top request with the sessions that have the most queued', async () => {
    broker = await startBroker();
    const url = `mqtt://127.0.0.1:${broker.addresses().tcp}`;
    const c = await client(url, { clientId: 'top-asker' });
    await c.subscribeAsync('$SYS/broker/top/queues');
    const answer = nextMessage(c);
    await c.publishAsync('$SYS/broker/top/request', '');
    const top = JSON.parse((await answer).payload.toString()) as { clientId: string }[];
    expect(top.map((s) => s.clientId)).toContain('top-asker');
  });

  it('refuses client PUBLISH to $SYS/ topics with 0x87, except the top request (section 4.7.2)', async () => {
    broker = await startBroker();
    const c = await client(`mqtt://127.0.0.1:${broker.addresses().tcp}`, {
      clientId: 'sys-writer',
      protocolVersion: 5,
    });
    await expect(c.publishAsync('$SYS/broker/uptime', 'forever', { qos: 1 })).rejects.toThrow(
      /135|Not authorized/i,
    );
    const pool = broker.pools.defaultPool;
    expect(await pool.retain.get('$SYS/broker/uptime')).toBeUndefined();
  });

  it('shuts down gracefully: v5 clients get DISCONNECT 0x8B', async () => {
    broker = await startBroker();
    const c = await client(`mqtt://127.0.0.1:${broker.addresses().tcp}`, {
      protocolVersion: 5,
      clientId: 'leaving',
    });
    const disconnect = new Promise<number | undefined>((resolve) =>
      c.once('disconnect', (packet) => resolve(packet.reasonCode)),
    );
    await broker.close();
    expect(await disconnect).toBe(0x8b);
  });
});

async function waitUntil(done: () => boolean, timeoutMs = 3000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
