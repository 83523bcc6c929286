/**
 * The real `mqtt` npm client (MQTT.js) against a pool, over an in-memory duplex stream: no sockets,
 * but the client's own encoder, decoder, acknowledgement and session logic. Real timers, real
 * I/O ticks; every test finishes in a few milliseconds.
 */
import { type IClientOptions, type IConnackPacket, MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { type Connection, createPool, type Pool } from '../src/index.js';
import { collectMessages, duplexTo, type Received } from './mqttjs-stream.js';

/** A client with its messages collected, and a way to wait for them. */
interface Harness {
  client: MqttClient;
  connack: IConnackPacket;
  messages: Received[];
  /** Resolves once `count` messages have arrived in total. */
  waitFor(count: number): Promise<Received[]>;
  /** The pool side of the client's current stream. */
  connection(): Connection;
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

async function connect(pool: Pool, options: IClientOptions): Promise<Harness> {
  let current: Connection | undefined;
  const client = new MqttClient(
    duplexTo(pool, {
      onConnection: (connection) => {
        current = connection;
      },
    }),
    { reconnectPeriod: 0, keepalive: 30, connectTimeout: 1000, ...options },
  );
  clients.push(client);
  const collected = collectMessages(client);
  const connack = await new Promise<IConnackPacket>((resolve, reject) => {
    client.once('connect', resolve);
    client.once('error', reject);
  });
  return { client, connack, ...collected, connection: () => current as Connection };
}

for (const protocolVersion of [5, 4] as const) {
  const name = protocolVersion === 5 ? 'MQTT 5' : 'MQTT 3.1.1';

  describe(`the mqtt npm client, ${name}`, () => {
    it('publishes and subscribes at QoS 0, 1 and 2', async () => {
      const pool = newPool();
      const subscriber = await connect(pool, { protocolVersion, clientId: 'sub' });
      const granted = await subscriber.client.subscribeAsync({
        'chat/0': { qos: 0 },
        'chat/+': { qos: 2 },
      });
      expect(granted.map((g) => g.qos)).toEqual([0, 2]);
      const publisher = await connect(pool, { protocolVersion, clientId: 'pub' });
      await publisher.client.publishAsync('chat/1', 'one', { qos: 1 });
      await publisher.client.publishAsync('chat/2', 'two', { qos: 2 });
      await publisher.client.publishAsync('chat/0', 'zero', { qos: 0 });
      const got = await subscriber.waitFor(3);
      // chat/0 matches both filters: one copy, at the higher granted QoS (capped by the message's).
      expect(got.map((m) => [m.topic, m.payload, m.packet.qos])).toEqual([
        ['chat/1', 'one', 1],
        ['chat/2', 'two', 2],
        ['chat/0', 'zero', 0],
      ]);
      expect(pool.sessionStats().every((s) => s.inflight === 0 && s.awaitingRelease === 0)).toBe(
        true,
      );
    });

    it('delivers a retained message to a later subscriber with RETAIN set', async () => {
      const pool = newPool();
      const publisher = await connect(pool, { protocolVersion, clientId: 'pub' });
      await publisher.client.publishAsync('state/door', 'open', { qos: 1, retain: true });
      const late = await connect(pool, { protocolVersion, clientId: 'late' });
      await late.client.subscribeAsync('state/#', { qos: 1 });
      const [message] = await late.waitFor(1);
      expect(message?.payload).toBe('open');
      expect(message?.packet.retain).toBe(true);
      // Deleting it: an empty retained payload.
      await publisher.client.publishAsync('state/door', '', { qos: 1, retain: true });
      const later = await connect(pool, { protocolVersion, clientId: 'later' });
      await later.client.subscribeAsync('state/#', { qos: 1 });
      await late.waitFor(2); // the delete itself goes to existing subscribers
      expect(later.messages).toEqual([]);
    });

    it('publishes the Will when the stream drops', async () => {
      const pool = newPool();
      const watcher = await connect(pool, { protocolVersion, clientId: 'watcher' });
      await watcher.client.subscribeAsync('lwt/+', { qos: 1 });
      const mortal = await connect(pool, {
        protocolVersion,
        clientId: 'mortal',
        will: { topic: 'lwt/mortal', payload: Buffer.from('gone'), qos: 1, retain: false },
      });
      mortal.client.stream.destroy();
      const [will] = await watcher.waitFor(1);
      expect(will).toMatchObject({ topic: 'lwt/mortal', payload: 'gone' });
      expect(mortal.connection().isClosed).toBe(true);
    });

    it('resumes a persistent session and receives what was queued', async () => {
      const pool = newPool();
      const persistent: IClientOptions = {
        protocolVersion,
        clientId: 'persistent',
        clean: false,
        ...(protocolVersion === 5 ? { properties: { sessionExpiryInterval: 300 } } : {}),
      };
      const first = await connect(pool, persistent);
      expect(first.connack.sessionPresent).toBe(false);
      await first.client.subscribeAsync('inbox', { qos: 1 });
      await first.client.endAsync();
      expect(pool.sessionCount()).toBe(1);

      const publisher = await connect(pool, { protocolVersion, clientId: 'pub' });
      await publisher.client.publishAsync('inbox', 'while away 1', { qos: 1 });
      await publisher.client.publishAsync('inbox', 'while away 2', { qos: 2 });
      expect(pool.sessionStats().find((s) => s.clientId === 'persistent')?.queued).toBe(2);

      const second = await connect(pool, persistent);
      expect(second.connack.sessionPresent).toBe(true);
      const got = await second.waitFor(2);
      expect(got.map((m) => m.payload)).toEqual(['while away 1', 'while away 2']);
      // And the subscription is live again.
      await publisher.client.publishAsync('inbox', 'now', { qos: 1 });
      expect((await second.waitFor(3))[2]?.payload).toBe('now');
    });
  });
}
