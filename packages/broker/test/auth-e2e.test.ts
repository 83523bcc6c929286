import { once } from 'node:events';
import { type AddressInfo, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPool, type Pool } from '@mqtt-sessions/pool';
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type AuthUserContext, addUser, createAuthRuntime } from '../src/auth/index.js';
import { EXAMPLE_ACL, TEST_COST, useTempDir } from './fixtures/auth/helpers.js';

// The auth runtime in a real pool behind a TCP port, driven by a real MQTT client: checks that
// the reason codes and ACL answers reach clients of both protocol versions as intended.

const tempDir = useTempDir();
let pool: Pool<AuthUserContext>;
let server: Server;
let port: number;
const clients: MqttClient[] = [];

beforeAll(async () => {
  const usersFile = join(await tempDir(), 'users');
  await addUser(usersFile, 'alice', 'wonderland', TEST_COST);
  const runtime = await createAuthRuntime({
    usersFile,
    aclFile: fileURLToPath(EXAMPLE_ACL),
    allowAnonymous: true,
  });
  pool = createPool({ runtime });
  server = createServer((socket) => {
    const connection = pool.connect(
      { send: (bytes) => socket.write(bytes), close: () => socket.end() },
      { peerIp: socket.remoteAddress, contextPrefs: { origin: 'tcp' } },
    );
    socket.on('data', (chunk: Buffer) => connection.receive(chunk));
    socket.on('close', () => connection.end());
    socket.on('error', () => {});
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as AddressInfo).port;
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.endAsync(true)));
});

afterAll(async () => {
  server.close();
  await pool.close();
});

async function connect(options: IClientOptions): Promise<MqttClient> {
  const client = await connectAsync({
    host: '127.0.0.1',
    port,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ...options,
  });
  clients.push(client);
  return client;
}

async function refusal(options: IClientOptions): Promise<unknown> {
  try {
    await connect(options);
  } catch (error) {
    return (error as { code?: unknown }).code;
  }
  throw new Error('the CONNECT was accepted');
}

describe('the auth runtime behind a TCP listener', () => {
  it('lets alice in with her password (MQTT 5 and 3.1.1)', async () => {
    for (const protocolVersion of [5, 4] as const) {
      const client = await connect({ protocolVersion, username: 'alice', password: 'wonderland' });
      expect(client.connected).toBe(true);
    }
  });

  it('refuses a wrong password: 0x86 in MQTT 5, return code 4 in 3.1.1', async () => {
    expect(await refusal({ protocolVersion: 5, username: 'alice', password: 'x' })).toBe(0x86);
    expect(await refusal({ protocolVersion: 4, username: 'alice', password: 'x' })).toBe(4);
    expect(await refusal({ protocolVersion: 5, username: 'mallory', password: 'x' })).toBe(0x86);
  });

  it('applies the ACL to publishes and subscriptions', async () => {
    const alice = await connect({
      protocolVersion: 5,
      clientId: 'alice-1',
      username: 'alice',
      password: 'wonderland',
    });
    await alice.publishAsync('sensors/alice/temp', '21', { qos: 1 });
    await expect(alice.publishAsync('sensors/bob/temp', '21', { qos: 1 })).rejects.toThrow(
      /Not authorized/,
    );
    const granted = await alice.subscribeAsync('chat/+/typing', { qos: 1 });
    expect(granted.map((grant) => grant.qos)).toEqual([1]);
    await expect(alice.subscribeAsync('sensors/#', { qos: 1 })).rejects.toThrow(/Not authorized/);
  });

  it("delivers the broker's own $SYS messages, which the ACL does not govern", async () => {
    const published = await pool.serverPublish('$SYS/broker/uptime', '42', { retain: true });
    expect(published.ok).toBe(true);
    const anonymous = await connect({ protocolVersion: 5 });
    const message = new Promise<string>((resolve) => {
      anonymous.on('message', (topic, payload) => resolve(`${topic}=${payload.toString()}`));
    });
    await anonymous.subscribeAsync('$SYS/broker/#');
    expect(await message).toBe('$SYS/broker/uptime=42');
  });
});
