import { createServer } from 'node:net';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { spawnCli } from './cli-process.js';

/** A broker process of a test cluster: the CLI with `--cluster`. */
export interface BrokerProcess {
  readonly nodeId: string;
  readonly port: number;
  /** Everything it wrote to stdout (its JSON log lines). */
  readonly log: () => string;
  /** SIGKILL, and wait for the exit. */
  kill(): Promise<void>;
  /** SIGTERM, and wait for the exit. */
  stop(): Promise<void>;
}

/**
 * Starts `mqtt-sessions --cluster` on a free port, on the Redis of `redisArgs` (`--redis-url ...`
 * or `--redis-cluster ...`); resolves once it listens.
 */
export async function startClusterBroker(
  redisArgs: readonly string[],
  prefix: string,
  nodeId: string,
  extra: readonly string[] = [],
): Promise<BrokerProcess> {
  const broker = await spawnCli([
    ...['--port', '0', '--cluster', ...redisArgs, '--redis-prefix', prefix],
    ...['--node-id', nodeId, '--cluster-lease', '1500', ...extra],
  ]);
  return {
    nodeId,
    port: broker.port,
    log: broker.log,
    kill: async () => {
      await broker.exit('SIGKILL');
    },
    stop: async () => {
      await broker.exit('SIGTERM');
    },
  };
}

/** What an MQTT.js client received. */
export interface Received {
  readonly topic: string;
  readonly payload: string;
  readonly packet: mqtt.IPublishPacket;
}

/** An MQTT.js v5 client with what it receives kept from its first packet, and its CONNACK. */
export interface TestClient {
  readonly client: MqttClient;
  readonly received: Received[];
  readonly connack: mqtt.IConnackPacket;
}

/** Connects MQTT.js (v5) to a broker of the cluster. */
export function connectV5(
  broker: BrokerProcess,
  clientId: string,
  options: IClientOptions = {},
): Promise<TestClient> {
  const client = mqtt.connect({
    host: '127.0.0.1',
    port: broker.port,
    clientId,
    protocolVersion: 5,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
    ...options,
  });
  const received: Received[] = [];
  client.on('message', (topic, payload, packet) => {
    received.push({ topic, payload: payload.toString(), packet });
  });
  return new Promise((resolve, reject) => {
    client.once('connect', (connack) => resolve({ client, received, connack }));
    client.once('error', (error) => {
      client.end(true);
      reject(error);
    });
    client.once('close', () => reject(new Error(`${clientId}: closed before CONNACK`)));
  });
}

/** Resolves once `check` holds, polling every 10 ms; fails after `timeoutMs`. */
export async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * Publishes QoS 0 probes to `topic` from `publisher` until `subscriber` has one: a route travels
 * between brokers through Redis, a moment after the SUBACK.
 */
export async function awaitRoute(
  publisher: TestClient,
  subscriber: TestClient,
  topic: string,
): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!subscriber.received.some((message) => message.topic === topic)) {
    if (Date.now() > deadline) throw new Error(`no route for ${topic}`);
    await publisher.client.publishAsync(topic, 'probe', { qos: 0 });
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Starts `mqtt-sessions --workers N` on a free port; resolves once every worker listens, with a
 * `stop` that sends SIGTERM and resolves with the supervisor's exit status.
 */
export async function startWorkers(
  redisArgs: readonly string[],
  workers: number,
): Promise<{ port: number; log: () => string; stop: () => Promise<number | null> }> {
  // node:cluster workers share a port the supervisor names: pick a free one first.
  const port = await new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        resolve(typeof address === 'object' && address !== null ? address.port : 0),
      );
    });
  });
  const prefix = `workers-${Math.random().toString(16).slice(2, 10)}:`;
  const supervisor = await spawnCli(
    [
      ...['--port', String(port), '--workers', String(workers), '--node-id', 'w'],
      ...[...redisArgs, '--redis-prefix', prefix],
    ],
    workers,
  );
  return { port, log: supervisor.log, stop: () => supervisor.exit('SIGTERM') };
}
