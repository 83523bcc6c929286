/**
 * The CONNECT handshake when the runtime is slow or the client stalls: a connection must not stay
 * open without a deadline, and a CONNECT that lands on a session that just ended must still be
 * answered.
 */
import { createMemoryRegistry, type SessionRegistry } from '@mqtt-sessions/registry';
import {
  type ConnectResult,
  createDefaultRuntime,
  type DefaultUserContext,
  type Runtime,
} from '@mqtt-sessions/runtime-default';
import type { Session } from '@mqtt-sessions/session';
import type { IConnectPacket } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import type { PoolOptions } from '../src/index.js';
import { settle, TestClient, testPool } from './helpers.js';

type UC = DefaultUserContext;

function setup(options: PoolOptions<UC> = {}) {
  return testPool<UC>(options);
}

/** Enhanced authentication with method `token`: the server challenges, the client must answer. */
function challengingRuntime(): Runtime<UC> {
  const base = createDefaultRuntime();
  return {
    ...base,
    connect(packet, sessionPresent, connection, userContext) {
      if (packet.properties?.authenticationMethod !== 'token') {
        return base.connect(packet, sessionPresent, connection, userContext);
      }
      return { type: 'auth', reasonCode: 0x18, properties: {}, userContext };
    },
    reauth(_packet, _phase, userContext) {
      return { type: 'auth', reasonCode: 0x18, properties: {}, userContext };
    },
  };
}

const tokenConnect: Partial<IConnectPacket> = {
  clean: false,
  properties: { authenticationMethod: 'token', sessionExpiryInterval: 300 },
};

describe('the CONNECT handshake has a deadline', () => {
  it('a client that never answers the AUTH challenge of a new session is closed after 20 s', () => {
    const { pool, timers } = setup({ runtime: challengingRuntime() });
    const client = new TestClient(pool);
    client.send({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 5,
      clientId: 'stalls',
      keepalive: 0,
      ...tokenConnect,
    });
    expect(client.next('auth').reasonCode).toBe(0x18);
    timers.advance(19_999);
    expect(client.closed).toBe(false);
    timers.advance(1);
    expect(client.closed).toBe(true);
    expect(pool.sessionCount()).toBe(0);
  });

  it('each AUTH step of the client restarts the deadline (MQTT 5 section 4.12)', () => {
    const { pool, timers } = setup({ runtime: challengingRuntime() });
    const client = new TestClient(pool);
    client.send({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 5,
      clientId: 'steps',
      keepalive: 0,
      ...tokenConnect,
    });
    client.next('auth');
    for (let step = 0; step < 3; step++) {
      timers.advance(15_000);
      client.send({ cmd: 'auth', reasonCode: 0x18, properties: { authenticationMethod: 'token' } });
      expect(client.next('auth').reasonCode).toBe(0x18);
    }
    expect(client.closed).toBe(false);
    timers.advance(20_000);
    expect(client.closed).toBe(true);
  });

  it('a stalled handshake on an existing session is closed too, and the session keeps its state', () => {
    const { pool, timers } = setup({ runtime: challengingRuntime() });
    const first = new TestClient(pool);
    first.connect({ clientId: 'known', properties: { sessionExpiryInterval: 300 } });
    first.drop();
    const second = new TestClient(pool);
    second.send({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 5,
      clientId: 'known',
      keepalive: 0,
      ...tokenConnect,
    });
    expect(second.next('auth').reasonCode).toBe(0x18);
    timers.advance(20_000);
    expect(second.closed).toBe(true);
    expect(pool.sessionCount()).toBe(1);
    const third = new TestClient(pool);
    expect(
      third.connect({ clientId: 'known', clean: false, properties: { sessionExpiryInterval: 300 } })
        .sessionPresent,
    ).toBe(true);
  });

  it('a runtime that never answers CONNECT does not hold the connection open', () => {
    const base = createDefaultRuntime();
    const runtime: Runtime<UC> = {
      ...base,
      connect: () => new Promise<ConnectResult<UC>>(() => {}),
    };
    const { pool, timers } = setup({ runtime });
    const client = new TestClient(pool);
    client.send({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 5,
      clientId: 'limbo',
      clean: true,
      keepalive: 0,
    });
    timers.advance(20_000);
    expect(client.closed).toBe(true);
    expect(pool.sessionCount()).toBe(0);
  });

  it('a runtime answer that comes after the session ended gets CONNACK 0x88 and a closed connection, so the client comes back', async () => {
    const base = createDefaultRuntime();
    let answer: ((result: ConnectResult<UC>) => void) | undefined;
    const runtime: Runtime<UC> = {
      ...base,
      connect: (_packet, _present, _connection, userContext) =>
        new Promise<ConnectResult<UC>>((resolve) => {
          answer = () => resolve({ type: 'connack', reasonCode: 0, userContext });
        }),
    };
    const { pool } = setup({ runtime, session: { connectTimeoutMs: 1000 } });
    const client = new TestClient(pool);
    client.send({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 5,
      clientId: 'late',
      clean: true,
      keepalive: 0,
    });
    const session = pool.findSession('late') as Session<UC>;
    session.kill();
    answer?.({ type: 'error', reason: 'unused' });
    await settle();
    expect(client.drain()).toMatchObject([{ cmd: 'connack', reasonCode: 0x88 }]);
    expect(client.closed).toBe(true);
  });
});

describe('a CONNECT that races the end of its session', () => {
  it('is placed on a new session when the registry still names the ended one', async () => {
    // A registry shared between processes unregisters with a round trip: for a moment after a
    // session ended, it still names it.
    const memory = createMemoryRegistry<Session<UC>>();
    const pending: (() => void)[] = [];
    const registry: SessionRegistry<Session<UC>> = {
      register: (id, handle) => memory.register(id, handle),
      unregister: (id, handle) =>
        new Promise<boolean>((resolve) => {
          pending.push(() => resolve(memory.unregister(id, handle)));
        }),
      find: (id) => memory.find(id),
      whois: (handle) => memory.whois(handle),
      count: () => memory.count(),
      handles: () => memory.handles(),
    };
    const { pool, errors } = setup({ registry });
    const first = new TestClient(pool);
    first.connect({ clientId: 'quick' });
    first.send({ cmd: 'disconnect', reasonCode: 0 }); // expiry 0: the session ends now
    expect(pool.sessionCount()).toBe(0);
    const again = new TestClient(pool);
    again.send({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 5,
      clientId: 'quick',
      clean: true,
      keepalive: 0,
    });
    for (const release of pending.splice(0)) release();
    await settle();
    expect(again.next('connack').reasonCode).toBe(0);
    expect(again.closed).toBe(false);
    expect(pool.sessionCount()).toBe(1);
    expect((memory.find('quick') as Session<UC>).connected).toBe(true);
    expect(errors).toEqual([]);
  });
});
