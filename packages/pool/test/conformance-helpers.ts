/**
 * Shared set-up of the conformance tests (`conformance-*.test.ts`): a pool on manual timers, a
 * bystander client that must not notice another client's broken packets, and raw packet bytes.
 * Each test names the MQTT 5 normative statements it proves; docs/conformance.md maps them.
 */
import {
  createDefaultRuntime,
  type DefaultUserContext,
  type Runtime,
} from '@mqtt-sessions/runtime-default';
import { generate, type IConnectPacket, type Packet } from 'mqtt-packet';
import { expect } from 'vitest';
import type { Pool, PoolOptions } from '../src/index.js';
import { subscribe, TestClient, testPool } from './helpers.js';

export type UC = DefaultUserContext;

/** A pool on manual timers that records unexpected errors. */
export function setup(options: PoolOptions<UC> = {}) {
  return testPool<UC>(options);
}

/** A connected MQTT 5 client (clean start, keep-alive 0). */
export function connected(
  pool: Pool<UC>,
  clientId: string,
  overrides: Partial<IConnectPacket> = {},
): TestClient {
  const client = new TestClient(pool);
  const connack = client.connect({ clientId, ...overrides });
  expect(connack.reasonCode).toBe(0);
  return client;
}

/**
 * A client that subscribes to `bystander/#` before another client misbehaves; {@link unaffected}
 * then checks that it is still connected and still gets messages.
 */
export function bystander(pool: Pool<UC>): TestClient {
  const client = connected(pool, 'bystander');
  subscribe(client, 'bystander/#', 0, {}, 9);
  return client;
}

/** The bystander is still connected and a message still reaches it. */
export function unaffected(pool: Pool<UC>, client: TestClient): void {
  expect(client.closed).toBe(false);
  void pool.serverPublish('bystander/ping', 'still here');
  const got = client.next('publish');
  expect(got.payload.toString()).toBe('still here');
}

/** The raw bytes the pool sent to a client, from chunk `from` on. */
export function wire(client: TestClient, from = 0): number[] {
  return [...Buffer.concat(client.bytes.slice(from))];
}

/** A packet encoded as MQTT 5 bytes. */
export function bytes5(packet: Packet): Buffer {
  return generate(packet, { protocolVersion: 5 });
}

/** The bytes of an MQTT 5 CONNECT. */
export function connectBytes(overrides: Partial<IConnectPacket> = {}): Buffer {
  return bytes5({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 5,
    clientId: 'raw',
    clean: true,
    keepalive: 0,
    ...overrides,
  });
}

/** The connection was closed, and the server sent nothing after chunk `from`. */
export function closedSilently(client: TestClient, from: number): void {
  expect(client.closed).toBe(true);
  expect(client.bytes.length).toBe(from);
}

/**
 * A CONNECT was refused: an MQTT 5 CONNACK with `reasonCode` and no properties was all the server
 * sent, and the connection closed.
 */
export function refusedWith(client: TestClient, reasonCode: number): void {
  expect(wire(client)).toEqual([0x20, 0x03, 0x00, reasonCode, 0x00]);
  expect(client.closed).toBe(true);
}

/** The connection was closed after a DISCONNECT with `reasonCode`, and nothing else came. */
export function disconnectedWith(client: TestClient, reasonCode: number): void {
  const packets = client.drain();
  expect(packets.map((p) => p.cmd)).toEqual(['disconnect']);
  expect((packets[0] as { reasonCode?: number }).reasonCode).toBe(reasonCode);
  expect(client.closed).toBe(true);
}

/** The default runtime with some of its functions replaced. */
export function runtimeWith(overrides: Partial<Runtime<UC>>): Runtime<UC> {
  return { ...createDefaultRuntime(), ...overrides };
}

/** An encoded User Property (identifier 0x26 and two length-prefixed strings). */
export function userPropertyBytes(name: string, value: string): Buffer {
  const n = Buffer.from(name);
  const v = Buffer.from(value);
  return Buffer.concat([
    Buffer.from([0x26, n.length >> 8, n.length & 0xff]),
    n,
    Buffer.from([v.length >> 8, v.length & 0xff]),
    v,
  ]);
}

/**
 * User Properties in an order that no JavaScript object keeps: a name repeated around another
 * (a=1, b=2, a=3), and names that look like integers, which objects sort first ("2" before "1").
 */
export const ORDERED_USER_PROPERTIES = Buffer.concat([
  userPropertyBytes('a', '1'),
  userPropertyBytes('b', '2'),
  userPropertyBytes('a', '3'),
  userPropertyBytes('2', 'x'),
  userPropertyBytes('1', 'y'),
]);

/** A QoS 0 MQTT 5 PUBLISH with a property section of `properties`, by hand. */
export function publishWithProperties(
  topic: string,
  payload: string,
  properties: Buffer,
  retain = false,
): Buffer {
  const t = Buffer.from(topic);
  const body = Buffer.concat([
    Buffer.from([t.length >> 8, t.length & 0xff]),
    t,
    Buffer.from([properties.length]), // under 128 here: one byte of Property Length
    properties,
    Buffer.from(payload),
  ]);
  return Buffer.concat([Buffer.from([retain ? 0x31 : 0x30, body.length]), body]);
}
