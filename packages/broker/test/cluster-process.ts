import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';

const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));

/** A broker process of a test cluster: the CLI from source, joined with `--cluster`. */
export interface BrokerProcess {
  readonly child: ChildProcess;
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
  const child = spawn(
    process.execPath,
    [
      '--conditions=@mqtt-sessions/source',
      '--import',
      'tsx',
      cli,
      ...['--host', '127.0.0.1', '--port', '0', '--ws-port', 'off', '--metrics-port', 'off'],
      ...['--sys-interval', '0', '--cluster', ...redisArgs, '--redis-prefix', prefix],
      ...['--node-id', nodeId, '--cluster-lease', '1500', ...extra],
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      for (const line of stdout.split('\n'))
        if (line.includes('broker listening')) resolve(JSON.parse(line).tcp);
    });
    child.once('exit', (code) =>
      reject(new Error(`broker ${nodeId} exited with ${code}: ${stderr}`)),
    );
  });
  const exit = async (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill(signal);
    await exited;
  };
  return {
    child,
    nodeId,
    port,
    log: () => stdout,
    kill: () => exit('SIGKILL'),
    stop: () => exit('SIGTERM'),
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
  const { createServer } = await import('node:net');
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
  const child = spawn(
    process.execPath,
    [
      '--conditions=@mqtt-sessions/source',
      '--import',
      'tsx',
      cli,
      ...[
        '--host',
        '127.0.0.1',
        '--port',
        String(port),
        '--ws-port',
        'off',
        '--metrics-port',
        'off',
      ],
      ...['--sys-interval', '0', '--workers', String(workers), '--node-id', 'w'],
      ...[...redisArgs, '--redis-prefix', prefix],
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.split('broker listening').length - 1 >= workers) resolve();
    });
    child.once('exit', (code) => reject(new Error(`--workers exited with ${code}: ${stderr}`)));
  });
  return {
    port,
    log: () => stdout,
    stop: async () => {
      if (child.exitCode !== null) return child.exitCode;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const [code] = (await exited) as [number | null];
      return code;
    },
  };
}
