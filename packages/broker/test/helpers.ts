import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { type Broker, type BrokerOptions, createBroker } from '../src/index.js';

/** A broker on loopback with every listener on a free port, quiet logs and no $SYS timer. */
export async function startBroker(options: Partial<BrokerOptions> = {}): Promise<Broker> {
  const broker = await createBroker({
    host: '127.0.0.1',
    port: 0,
    wsPort: 0,
    metricsPort: 0,
    sysInterval: 0,
    store: 'memory',
    logger: pino({ level: 'silent' }),
    ...options,
  });
  await broker.start();
  return broker;
}

/** Connects an MQTT.js client and waits for CONNACK. */
export async function connectClient(
  url: string,
  options: IClientOptions = {},
): Promise<MqttClient> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  return client;
}

/** The next message a client receives, with a deadline. */
export function nextMessage(
  client: MqttClient,
  timeoutMs = 3000,
): Promise<{ topic: string; payload: Buffer; packet: mqtt.IPublishPacket }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no message in time')), timeoutMs);
    client.once('message', (topic, payload, packet) => {
      clearTimeout(timer);
      resolve({ topic, payload, packet });
    });
  });
}

/** Ends a client and waits until it has. */
export async function endClient(client: MqttClient): Promise<void> {
  await client.endAsync(true);
}
