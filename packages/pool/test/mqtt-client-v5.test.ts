/**
 * The real `mqtt` npm client (MQTT.js) against a pool with the MQTT 5 features a client sees:
 * topic aliases both ways, subscription identifiers, shared subscriptions, request/response. Over
 * an in-memory duplex stream (see mqtt-client.test.ts); every packet both ways is also decoded
 * here, so a test can check what was on the wire and not only what MQTT.js reports.
 */
import { type IClientOptions, type IPublishPacket, MqttClient } from 'mqtt';
import { type Packet, parser } from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { createPool, type Pool } from '../src/index.js';
import { collectMessages, duplexTo, type Received } from './mqttjs-stream.js';

/** An MQTT.js client, what it received, and every packet of its connection decoded. */
interface Harness {
  client: MqttClient;
  messages: Received[];
  /** Packets MQTT.js sent to the pool. */
  sent: Packet[];
  /** Packets the pool sent to MQTT.js. */
  received: Packet[];
  /** Resolves once `count` messages have arrived in total. */
  waitFor(count: number): Promise<Received[]>;
}

let pools: Pool[] = [];
let clients: MqttClient[] = [];

afterEach(async () => {
  await Promise.all(clients.map((client) => client.endAsync(true)));
  await Promise.all(pools.map((pool) => pool.close()));
  clients = [];
  pools = [];
});

function newPool(): Pool {
  const pool = createPool({ onError: (error) => expect.fail(String(error)) });
  pools.push(pool);
  return pool;
}

function decoder(into: Packet[]) {
  const decode = parser({ protocolVersion: 5 });
  decode.on('packet', (packet: Packet) => into.push(packet));
  decode.on('error', (error: Error) => expect.fail(error.message));
  return decode;
}

async function connect(pool: Pool, options: IClientOptions): Promise<Harness> {
  const sent: Packet[] = [];
  const received: Packet[] = [];
  const client = new MqttClient(
    () => {
      // Fresh decoders per stream: each connection starts with its own CONNECT.
      const toPool = decoder(sent);
      const fromPool = decoder(received);
      return duplexTo(pool, {
        toPool: (bytes) => toPool.parse(bytes),
        fromPool: (bytes) => fromPool.parse(bytes),
      })();
    },
    { protocolVersion: 5, reconnectPeriod: 0, keepalive: 30, connectTimeout: 1000, ...options },
  );
  clients.push(client);
  const collected = collectMessages(client);
  await new Promise((resolve, reject) => {
    client.once('connect', resolve);
    client.once('error', reject);
  });
  return { client, sent, received, ...collected };
}

function publishes(packets: Packet[]): IPublishPacket[] {
  return packets.filter((p) => p.cmd === 'publish') as IPublishPacket[];
}

describe('the mqtt npm client, MQTT 5 features', () => {
  it('topic aliases: the server sends them to a client that allows them, and resolves the ones the client sends [MQTT-3.3.2-11] [MQTT-3.3.2-12]', async () => {
    const pool = newPool();
    const reader = await connect(pool, {
      clientId: 'reader',
      properties: { topicAliasMaximum: 4 },
    });
    await reader.client.subscribeAsync('sensors/#', { qos: 1 });
    const writer = await connect(pool, { clientId: 'writer', autoUseTopicAlias: true });
    // Alias 1 set explicitly with the topic, then used automatically; alias 2 used explicitly.
    await writer.client.publishAsync('sensors/kitchen/temperature', '20', {
      qos: 1,
      properties: { topicAlias: 1 },
    });
    await writer.client.publishAsync('sensors/kitchen/temperature', '21', { qos: 1 });
    await writer.client.publishAsync('sensors/hall/temperature', '18', {
      qos: 1,
      properties: { topicAlias: 2 },
    });
    await writer.client.publishAsync('', '17', { qos: 1, properties: { topicAlias: 2 } });
    const got = await reader.waitFor(4);
    expect(got.map((m) => [m.topic, m.payload])).toEqual([
      ['sensors/kitchen/temperature', '20'],
      ['sensors/kitchen/temperature', '21'],
      ['sensors/hall/temperature', '18'],
      ['sensors/hall/temperature', '17'],
    ]);
    // On the wire: the writer left the topic out twice; the server did too, to the reader.
    const fromWriter = publishes(writer.sent);
    expect(fromWriter.map((p) => [p.topic, p.properties?.topicAlias])).toEqual([
      ['sensors/kitchen/temperature', 1],
      ['', 1],
      ['sensors/hall/temperature', 2],
      ['', 2],
    ]);
    const toReader = publishes(reader.received);
    expect(toReader.map((p) => p.topic)).toEqual([
      'sensors/kitchen/temperature',
      '',
      'sensors/hall/temperature',
      '',
    ]);
    expect(toReader.every((p) => (p.properties?.topicAlias ?? 0) >= 1)).toBe(true);
    expect(toReader.every((p) => (p.properties?.topicAlias ?? 99) <= 4)).toBe(true);
  });

  it('subscription identifiers: one message matching two subscriptions carries both identifiers [MQTT-3.3.4-3] [MQTT-3.3.4-4]', async () => {
    const pool = newPool();
    const reader = await connect(pool, { clientId: 'ids' });
    await reader.client.subscribeAsync('home/+/light', {
      qos: 1,
      properties: { subscriptionIdentifier: 7 },
    });
    await reader.client.subscribeAsync('home/#', {
      qos: 0,
      properties: { subscriptionIdentifier: 300 },
    });
    await reader.client.subscribeAsync('home/attic/light', { qos: 0 });
    const writer = await connect(pool, { clientId: 'writer' });
    await writer.client.publishAsync('home/attic/light', 'on', { qos: 1 });
    await writer.client.publishAsync('home/door', 'open', { qos: 1 });
    const [light, door] = await reader.waitFor(2);
    expect(reader.messages).toHaveLength(2);
    expect(light?.topic).toBe('home/attic/light');
    expect(light?.packet.qos).toBe(1);
    expect(
      [light?.packet.properties?.subscriptionIdentifier]
        .flat()
        .sort((a, b) => (a as number) - (b as number)),
    ).toEqual([7, 300]);
    expect(door?.packet.properties?.subscriptionIdentifier).toBe(300);
  });

  it('shared subscriptions: two clients in one group, each message to exactly one of them [MQTT-4.8.2-1] [MQTT-4.8.2-3]', async () => {
    const pool = newPool();
    const workers = await Promise.all(
      ['worker-a', 'worker-b'].map(async (clientId) => {
        const worker = await connect(pool, { clientId });
        await worker.client.subscribeAsync('$share/workers/jobs/+', { qos: 1 });
        return worker;
      }),
    );
    const boss = await connect(pool, { clientId: 'boss' });
    const jobs = Array.from({ length: 10 }, (_, i) => `job-${i}`);
    for (const job of jobs) await boss.client.publishAsync(`jobs/${job}`, job, { qos: 1 });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('not every job arrived')), 1000);
      const check = () => {
        if (workers.reduce((n, w) => n + w.messages.length, 0) >= jobs.length) {
          clearTimeout(timer);
          resolve();
        } else setTimeout(check, 2);
      };
      check();
    });
    const [a, b] = workers.map((w) => w.messages.map((m) => m.payload)) as [string[], string[]];
    expect([...a, ...b].sort()).toEqual([...jobs].sort());
    expect(a.length).toBeGreaterThan(0);
    expect(b.length).toBeGreaterThan(0);
    expect(a.filter((job) => b.includes(job))).toEqual([]);
    expect(workers.every((w) => w.messages.every((m) => m.topic.startsWith('jobs/')))).toBe(true);
  });

  it('request/response: Response Topic, Correlation Data and User Properties go through untouched [MQTT-3.3.2-15] [MQTT-3.3.2-16] [MQTT-3.3.2-17]', async () => {
    const pool = newPool();
    const responder = await connect(pool, { clientId: 'responder' });
    await responder.client.subscribeAsync('service/time', { qos: 1 });
    responder.client.on('message', (_topic, payload, packet) => {
      const { responseTopic, correlationData } = packet.properties ?? {};
      if (responseTopic === undefined) return;
      responder.client.publish(responseTopic, `time for ${payload.toString()}`, {
        qos: 1,
        properties: correlationData === undefined ? {} : { correlationData },
      });
    });
    const requester = await connect(pool, { clientId: 'requester' });
    await requester.client.subscribeAsync('reply/requester', { qos: 1 });
    const correlationData = Buffer.from([0x00, 0xde, 0xad, 0xbe, 0xef, 0xff]);
    await requester.client.publishAsync('service/time', 'utc', {
      qos: 1,
      properties: {
        responseTopic: 'reply/requester',
        correlationData,
        userProperties: { trace: 't-1', hops: ['a', 'b'] },
        contentType: 'text/plain',
      },
    });
    const [request] = await responder.waitFor(1);
    expect(request?.packet.properties).toMatchObject({
      responseTopic: 'reply/requester',
      correlationData,
      userProperties: { trace: 't-1', hops: ['a', 'b'] },
      contentType: 'text/plain',
    });
    const [response] = await requester.waitFor(1);
    expect(response?.topic).toBe('reply/requester');
    expect(response?.payload).toBe('time for utc');
    expect(
      Buffer.compare(response?.packet.properties?.correlationData as Buffer, correlationData),
    ).toBe(0);
  });
});
