/**
 * The real `mqtt` npm client (MQTT.js) completing SCRAM-SHA-256 enhanced authentication against a
 * pool, over an in-memory duplex stream: CONNECT with `properties.authenticationMethod` and
 * client-first, MQTT.js's `handleAuth` hook answering the server's AUTH, and re-authentication.
 */
import { createDefaultRuntime, type DefaultUserContext } from '@mqtt-sessions/runtime-default';
import {
  createScramCredentials,
  createScramRuntime,
  type ScramCredentials,
} from '@mqtt-sessions/runtime-default/scram';
import { type IClientOptions, type IConnackPacket, MqttClient, type PacketCallback } from 'mqtt';
import type { IAuthPacket, Packet } from 'mqtt-packet';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createPool, type Pool } from '../src/index.js';
import { duplexTo } from './mqttjs-stream.js';
import { ScramClient } from './scram-client.js';

type UC = DefaultUserContext;
const METHOD = 'SCRAM-SHA-256';
const users = new Map<string, ScramCredentials>();
let pools: Pool<UC>[] = [];
let clients: MqttClient[] = [];

beforeAll(async () => {
  users.set('alice', await createScramCredentials('wonderland', { iterations: 4096 }));
});

afterEach(async () => {
  await Promise.all(clients.map((client) => client.endAsync(true)));
  await Promise.all(pools.map((pool) => pool.close()));
  clients = [];
  pools = [];
});

function newPool(): Pool<UC> {
  const runtime = createScramRuntime({
    base: createDefaultRuntime(),
    lookup: (name) => users.get(name),
  });
  const pool = createPool<UC>({ runtime, onError: (error) => expect.fail(String(error)) });
  pools.push(pool);
  return pool;
}

/**
 * MQTT.js with the client side of SCRAM in its `handleAuth` hook: it answers AUTH 0x18
 * (server-first) with client-final, and checks server-final on AUTH 0x00.
 */
class ScramMqttClient extends MqttClient {
  scram: ScramClient;
  /** Server-final signatures that verified, from CONNACK and from re-authentications. */
  readonly verified: boolean[] = [];
  private reauthDone: ((packet: IAuthPacket) => void) | undefined;

  constructor(pool: Pool<UC>, scram: ScramClient, options: IClientOptions) {
    super(duplexTo(pool), {
      protocolVersion: 5,
      reconnectPeriod: 0,
      connectTimeout: 2000,
      manualConnect: true,
      ...options,
      properties: { authenticationMethod: METHOD, authenticationData: scram.first() },
    });
    this.scram = scram;
    this.on('connect', (connack: IConnackPacket) => {
      this.verified.push(this.scram.verify(connack.properties?.authenticationData));
    });
    clients.push(this);
  }

  override handleAuth(packet: IAuthPacket, callback: PacketCallback): void {
    const data = packet.properties?.authenticationData;
    if (packet.reasonCode === 0x18) {
      const answer: Packet = {
        cmd: 'auth',
        reasonCode: 0x18,
        properties: { authenticationMethod: METHOD, authenticationData: this.scram.final(data) },
      };
      callback(undefined, answer);
      return;
    }
    // 0x00: re-authentication finished.
    this.verified.push(this.scram.verify(data));
    this.reauthDone?.(packet);
    callback();
  }

  /**
   * Re-authenticates (MQTT 5 section 4.12.1). MQTT.js has no public call that sends an AUTH, so
   * this uses its packet sender, the one its own `handleAuth` answers go through.
   */
  reauthenticate(scram: ScramClient): Promise<IAuthPacket> {
    this.scram = scram;
    const done = new Promise<IAuthPacket>((resolve) => {
      this.reauthDone = resolve;
    });
    const sender = this as unknown as { _sendPacket(packet: Packet): void };
    sender._sendPacket({
      cmd: 'auth',
      reasonCode: 0x19,
      properties: { authenticationMethod: METHOD, authenticationData: scram.first() },
    });
    return done;
  }
}

function connected(client: MqttClient): Promise<IConnackPacket> {
  return new Promise((resolve, reject) => {
    client.once('connect', resolve);
    client.once('error', reject);
    client.connect();
  });
}

describe('the mqtt npm client with SCRAM-SHA-256', () => {
  it('completes the exchange, verifies the server, publishes and re-authenticates [MQTT-4.12.0-3] [MQTT-4.12.1-1]', async () => {
    const pool = newPool();
    const client = new ScramMqttClient(pool, new ScramClient('alice', 'wonderland'), {
      clientId: 'mqttjs-alice',
    });
    const connack = await connected(client);
    expect(connack.reasonCode).toBe(0);
    expect(connack.properties?.authenticationMethod).toBe(METHOD);
    expect(client.verified).toEqual([true]);
    expect(pool.getUserContext('mqttjs-alice')).toMatchObject({ user: 'alice' });

    await client.subscribeAsync('wonderland/#', { qos: 1 });
    const message = new Promise<string>((resolve) =>
      client.once('message', (_topic, payload) => resolve(payload.toString())),
    );
    await client.publishAsync('wonderland/rabbit', 'late', { qos: 1 });
    expect(await message).toBe('late');

    const done = await client.reauthenticate(new ScramClient('alice', 'wonderland'));
    expect(done.reasonCode).toBe(0);
    expect(client.verified).toEqual([true, true]);
    expect(client.connected).toBe(true);
    await client.publishAsync('wonderland/hatter', 'tea', { qos: 1 });
  });

  it('gets an error with reason code 0x87 for a wrong password [MQTT-4.12.0-4]', async () => {
    const pool = newPool();
    const client = new ScramMqttClient(pool, new ScramClient('alice', 'queen'), {
      clientId: 'mqttjs-wrong',
    });
    const error = await connected(client).then(
      () => expect.fail('connected with a wrong password'),
      (failure: unknown) => failure as { code?: number },
    );
    expect(error.code).toBe(0x87);
    expect(pool.sessionCount()).toBe(0);
  });
});
