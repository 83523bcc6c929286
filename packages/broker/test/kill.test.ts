/**
 * What the broker acknowledges survives `kill -9`. A real broker process (the CLI) takes a stream
 * of QoS 1 and QoS 2 PUBLISH for two offline persistent sessions and is killed with SIGKILL at a
 * seeded random moment mid-load. A second process on the same store must then deliver every
 * message the first one acknowledged (PUBACK or PUBREC), in order, each QoS 2 message exactly
 * once to the QoS 2 subscriber, and publish a delayed Will exactly once, whether it fell due
 * before the kill or after it.
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Packet } from 'mqtt-packet';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { mulberry32 } from '../abuse/prng.js';
import { spawnCli } from './cli-process.js';
import { RawClient } from './raw-client.js';

const redisUrl = process.env.REDIS_URL;
const MESSAGES = 1000;
const WINDOW = 40;
const SEEDS = [1, 2, 3];

const children: ChildProcess[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});
afterAll(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** Starts the CLI from source on the given store arguments; resolves with its MQTT port. */
async function startBroker(storeArgs: string[]): Promise<{ child: ChildProcess; port: number }> {
  // Room for every message in the offline sessions' queues (the default holds 1000).
  const broker = await spawnCli(['--port', '0', '--max-queued', '2000', ...storeArgs]);
  children.push(broker.child);
  return { child: broker.child, port: broker.port };
}

async function kill(child: ChildProcess): Promise<void> {
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

/** Opens a persistent session (expiry one hour) subscribed to `filter`, then leaves it. */
async function leaveSubscribed(port: number, clientId: string, filter: string, qos: 1 | 2) {
  const { client } = await RawClient.connect(port, {
    clientId,
    clean: true,
    properties: { sessionExpiryInterval: 3600 },
  });
  client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: filter, qos }] });
  await client.next('suback');
  await client.disconnect();
}

/**
 * Publishes QoS 1 (even) and QoS 2 (odd) messages `load/<n>` with at most WINDOW unacknowledged,
 * and kills the broker once `killAfter` of them are acknowledged. Resolves with the numbers of
 * the acknowledged messages.
 */
async function publishUntilKilled(
  port: number,
  broker: ChildProcess,
  killAfter: number,
): Promise<Set<number>> {
  const { client } = await RawClient.connect(port, { clientId: 'publisher', clean: true });
  const acked = new Set<number>();
  let next = 0;
  let killed: Promise<void> | undefined;
  const sendMore = () => {
    while (killed === undefined && next < MESSAGES && next - acked.size < WINDOW) {
      const n = next++;
      client.send({
        cmd: 'publish',
        topic: `load/${n}`,
        payload: Buffer.from(String(n)),
        qos: n % 2 === 0 ? 1 : 2,
        messageId: n + 1,
        dup: false,
        retain: false,
      });
    }
  };
  client.listen((packet) => {
    if (packet.cmd !== 'puback' && packet.cmd !== 'pubrec') return;
    const n = (packet.messageId as number) - 1;
    expect(packet.reasonCode ?? 0, `ack of message ${n}`).toBeLessThan(0x80);
    acked.add(n);
    if (packet.cmd === 'pubrec')
      client.send({ cmd: 'pubrel', messageId: packet.messageId as number });
    if (acked.size >= killAfter) killed ??= kill(broker);
    else sendMore();
  });
  sendMore();
  await client.closed;
  await killed;
  return acked;
}

interface Delivery {
  readonly topic: string;
  readonly payload: string;
  readonly qos: number;
}

/**
 * Resumes a persistent session and acknowledges everything it is sent (PUBACK, or PUBREC then
 * PUBCOMP on PUBREL) until a message on `endTopic` arrives; resolves with what arrived before it.
 */
async function resumeUntil(
  port: number,
  clientId: string,
  endTopic: string,
  publishEnd: () => Promise<void>,
): Promise<Delivery[]> {
  const { client, connack } = await RawClient.connect(port, {
    clientId,
    clean: false,
    properties: { sessionExpiryInterval: 3600 },
  });
  expect(connack.sessionPresent, `${clientId} finds its session`).toBe(true);
  const deliveries: Delivery[] = [];
  const ended = new Promise<void>((resolve) => {
    client.listen((packet: Packet) => {
      if (packet.cmd === 'pubrel') {
        client.send({ cmd: 'pubcomp', messageId: packet.messageId as number });
        return;
      }
      if (packet.cmd !== 'publish') return;
      if (packet.qos === 1) client.send({ cmd: 'puback', messageId: packet.messageId as number });
      if (packet.qos === 2) client.send({ cmd: 'pubrec', messageId: packet.messageId as number });
      if (packet.topic === endTopic) resolve();
      else
        deliveries.push({
          topic: packet.topic,
          payload: packet.payload.toString(),
          qos: packet.qos,
        });
    });
  });
  await publishEnd();
  await ended;
  await client.disconnect();
  return deliveries;
}

/** Publishes one QoS 1 message from a short-lived client. */
async function publishOnce(port: number, topic: string): Promise<void> {
  const { client } = await RawClient.connect(port, { clientId: `end-${topic}`, clean: true });
  client.send({
    cmd: 'publish',
    topic,
    payload: Buffer.from('end'),
    qos: 1,
    messageId: 1,
  } as Packet);
  await client.next('puback');
  await client.disconnect();
}

/** The acknowledged messages must all be there, first arrivals in publishing order. */
function expectEveryAckedMessage(deliveries: Delivery[], acked: Set<number>, label: string) {
  const numbers = deliveries.map((delivery) => Number(delivery.payload));
  for (const delivery of deliveries) {
    const n = Number(delivery.payload);
    expect(Number.isInteger(n) && n >= 0 && n < MESSAGES, `${label}: ${delivery.payload}`).toBe(
      true,
    );
    expect(delivery.topic, label).toBe(`load/${n}`);
  }
  const firsts = numbers.filter((n, index) => numbers.indexOf(n) === index);
  expect(firsts, `${label}: first arrivals in publishing order`).toEqual(
    [...firsts].sort((a, b) => a - b),
  );
  const missing = [...acked].filter((n) => !firsts.includes(n));
  expect(missing, `${label}: acknowledged but not delivered`).toEqual([]);
}

interface StoreCase {
  readonly name: string;
  readonly skip: boolean;
  args(seed: number): Promise<string[]>;
}

const STORES: StoreCase[] = [
  {
    name: 'sqlite',
    skip: false,
    async args() {
      const dir = await mkdtemp(join(tmpdir(), 'mqtt-sessions-kill-'));
      dirs.push(dir);
      return ['--store', 'sqlite', '--data-dir', dir];
    },
  },
  {
    name: `redis${redisUrl === undefined ? ' (skipped: REDIS_URL is unset)' : ''}`,
    skip: redisUrl === undefined,
    async args(seed) {
      const prefix = `mqtt-sessions-test:kill:${process.pid}:${Date.now()}:${seed}:`;
      return ['--store', 'redis', '--redis-url', String(redisUrl), '--redis-prefix', prefix];
    },
  },
];

describe.each(STORES)('kill -9 mid-load on the $name store', (store) => {
  it.skipIf(store.skip).each(SEEDS)(
    'seed %i: every acknowledged message and the Will arrive after a restart',
    async (seed) => {
      const next = mulberry32(seed);
      const args = await store.args(seed);
      const first = await startBroker(args);

      await leaveSubscribed(first.port, 'at-least-once', 'load/#', 1);
      await leaveSubscribed(first.port, 'exactly-once', 'load/#', 2);
      await leaveSubscribed(first.port, 'will-watcher', 'will/#', 2);

      // A Will delayed by one second, due during the load or after the kill, by the seed.
      const { client: willClient } = await RawClient.connect(first.port, {
        clientId: 'will-owner',
        clean: true,
        properties: { sessionExpiryInterval: 3600 },
        will: {
          topic: 'will/owner',
          payload: Buffer.from('gone'),
          qos: 1,
          retain: false,
          properties: { willDelayInterval: 1 },
        },
      });
      await willClient.drop();
      const willDueAt = Date.now() + 1000;

      const killAfter = 50 + Math.floor(next() * (MESSAGES - 100));
      const acked = await publishUntilKilled(first.port, first.child, killAfter);
      expect(acked.size).toBeGreaterThanOrEqual(killAfter);
      expect(acked.size).toBeLessThan(MESSAGES);

      // The second process starts once the Will is overdue, so it must publish it on restore
      // unless the first process already did.
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, willDueAt - Date.now())));
      const second = await startBroker(args);

      const atLeastOnce = await resumeUntil(second.port, 'at-least-once', 'load/end', () =>
        publishOnce(second.port, 'load/end'),
      );
      expectEveryAckedMessage(atLeastOnce, acked, 'QoS 1 subscriber');

      const exactlyOnce = await resumeUntil(second.port, 'exactly-once', 'load/end', () =>
        publishOnce(second.port, 'load/end'),
      );
      expectEveryAckedMessage(exactlyOnce, acked, 'QoS 2 subscriber');
      const twice = exactlyOnce
        .filter((delivery) => delivery.qos === 2)
        .map((delivery) => delivery.payload)
        .filter((payload, index, all) => all.indexOf(payload) !== index);
      expect(twice, 'QoS 2 messages delivered twice').toEqual([]);

      const wills = await resumeUntil(second.port, 'will-watcher', 'will/end', () =>
        publishOnce(second.port, 'will/end'),
      );
      expect(wills).toEqual([{ topic: 'will/owner', payload: 'gone', qos: 1 }]);
      await kill(second.child);
    },
    60_000,
  );
});
