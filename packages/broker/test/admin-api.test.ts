import type { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import type { Broker } from '../src/index.js';
import { connectClient, endClient, nextMessage, startBroker } from './helpers.js';

const TOKEN = 'a-long-random-admin-token';
let broker: Broker | undefined;
const clients: MqttClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => endClient(client)));
  await broker?.close();
  broker = undefined;
});

async function start(adminToken: string | null = TOKEN): Promise<Broker> {
  broker = await startBroker({
    wsPort: false,
    ...(adminToken === null ? {} : { adminToken }),
  });
  return broker;
}

async function client(options: Parameters<typeof connectClient>[1] = {}) {
  const url = `mqtt://127.0.0.1:${broker?.addresses().tcp}`;
  const connected = await connectClient(url, { protocolVersion: 5, ...options });
  clients.push(connected);
  return connected;
}

// biome-ignore lint/suspicious/noExplicitAny: the API answers JSON of several shapes; tests read fields
type AnswerBody = Record<string, any>;

/** Calls the admin API; resolves with the status and the JSON body. */
async function admin(
  path: string,
  init: { method?: string; body?: unknown; token?: string | null } = {},
): Promise<{ status: number; body: AnswerBody }> {
  const token = init.token === undefined ? TOKEN : init.token;
  const response = await fetch(`http://127.0.0.1:${broker?.addresses().metrics}/admin/${path}`, {
    method: init.method ?? 'GET',
    headers: {
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  return { status: response.status, body: (await response.json()) as AnswerBody };
}

describe('the admin API', () => {
  it('is off without a token, and refuses requests without the right one', async () => {
    await start(null);
    const off = await fetch(`http://127.0.0.1:${broker?.addresses().metrics}/admin/clients`);
    expect(off.status).toBe(404);
    await broker?.close();

    await start();
    expect((await admin('clients', { token: null })).status).toBe(401);
    expect((await admin('clients', { token: 'wrong' })).status).toBe(401);
    expect((await admin('clients')).status).toBe(200);
    expect((await admin('nothing-here')).status).toBe(404);
    expect((await admin('clients?limit=0')).status).toBe(400);
  });

  it('lists clients a page at a time and shows one with its subscriptions', async () => {
    await start();
    const alice = await client({ clientId: 'alice-1', username: 'alice', password: 'pw' });
    await alice.subscribeAsync('a/#', { qos: 1, nl: true });
    await client({ clientId: 'bob-1', protocolVersion: 4 });

    const first = await admin('clients?limit=1');
    expect(first.status).toBe(200);
    expect(first.body.clients).toHaveLength(1);
    expect(first.body.clients[0]).toMatchObject({
      clientId: 'alice-1',
      username: 'alice',
      connected: true,
      peerIp: expect.stringContaining('127.0.0.1'),
      protocolVersion: 5,
      subscriptions: 1,
      queued: 0,
    });
    expect(Date.parse(first.body.clients[0].connectedSince)).toBeGreaterThan(Date.now() - 60_000);
    const second = await admin(`clients?limit=1&after=${first.body.next}`);
    expect(second.body.clients.map((c: { clientId: string }) => c.clientId)).toEqual(['bob-1']);
    expect(second.body.next).toBeNull();

    const one = await admin('clients/alice-1');
    expect(one.body.subscriptions).toEqual([
      {
        filter: 'a/#',
        options: expect.objectContaining({ qos: 1, noLocal: true }),
      },
    ]);
    expect((await admin('clients/nobody')).status).toBe(404);
  });

  it('disconnects a client with 0x98 and keeps its session; DELETE discards it', async () => {
    await start();
    const device = await client({
      clientId: 'device',
      clean: false,
      properties: { sessionExpiryInterval: 600 },
    });
    const disconnected = new Promise<number | undefined>((resolve) =>
      device.once('disconnect', (packet) => resolve(packet.reasonCode)),
    );
    const answer = await admin('clients/device/disconnect', { method: 'POST' });
    expect(answer).toEqual({ status: 200, body: { clientId: 'device', disconnected: true } });
    expect(await disconnected).toBe(0x98);
    const kept = await admin('clients/device');
    expect(kept.body.connected).toBe(false);
    expect((await admin('clients/device/disconnect', { method: 'POST' })).status).toBe(409);

    expect((await admin('clients/device', { method: 'DELETE' })).body.discarded).toBe(true);
    expect((await admin('clients/device')).status).toBe(404);
  });

  it('lists subscriptions and retained messages with paging, and publishes', async () => {
    await start();
    const watcher = await client({ clientId: 'watcher' });
    await watcher.subscribeAsync(['x/1', 'x/2'], { qos: 0 });
    const subscriptions = await admin('subscriptions?limit=1');
    expect(subscriptions.body.subscriptions).toEqual([
      expect.objectContaining({ clientId: 'watcher', filter: 'x/1' }),
    ]);
    const rest = await admin(`subscriptions?after=${encodeURIComponent(subscriptions.body.next)}`);
    expect(rest.body.subscriptions).toEqual([
      expect.objectContaining({ clientId: 'watcher', filter: 'x/2' }),
    ]);

    for (const topic of ['r/1', 'r/2', 'r/3']) {
      const published = await admin('publish', {
        method: 'POST',
        body: { topic, payload: `value ${topic}`, qos: 1, retain: true },
      });
      expect(published.body.ok).toBe(true);
    }
    await admin('publish', {
      method: 'POST',
      body: {
        topic: 'r/bin',
        payload: Buffer.from([0xff, 0x00]).toString('base64'),
        encoding: 'base64',
        retain: true,
      },
    });
    const page = await admin('retained?filter=r/%2B&limit=2');
    expect(page.body.messages).toHaveLength(2);
    const next = await admin(`retained?cursor=${page.body.cursor}&limit=10`);
    const all = [...page.body.messages, ...next.body.messages];
    expect(all.map((message) => message.topic).sort()).toEqual(['r/1', 'r/2', 'r/3', 'r/bin']);
    expect(all.find((message) => message.topic === 'r/bin')).toMatchObject({
      payload: '/wA=',
      encoding: 'base64',
      bytes: 2,
    });
    expect(next.body.cursor).toBeNull();
    expect((await admin(`retained?cursor=${page.body.cursor}`)).status).toBe(400);

    const received = nextMessage(watcher);
    const sent = await admin('publish', { method: 'POST', body: { topic: 'x/1', payload: 'hi' } });
    expect(sent.body).toEqual({ ok: true, deliveries: 1 });
    expect((await received).payload.toString()).toBe('hi');
    const bad = await admin('publish', { method: 'POST', body: { topic: 'x/#', payload: 'no' } });
    expect(bad.status).toBe(400);
    expect(bad.body.reason).toBe('invalid-topic');
  });
});
