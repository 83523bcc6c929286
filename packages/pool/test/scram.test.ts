/**
 * Enhanced authentication on the wire (MQTT 5 section 4.12) with a real challenge-response
 * method: SCRAM-SHA-256 from `@mqtt-sessions/runtime-default/scram`, against a scripted client
 * that computes real proofs (scram-client.ts).
 */
import {
  createDefaultRuntime,
  type DefaultUserContext,
  type Runtime,
} from '@mqtt-sessions/runtime-default';
import {
  createScramCredentials,
  createScramRuntime,
  type ScramCredentials,
} from '@mqtt-sessions/runtime-default/scram';
import type { IAuthPacket, IConnectPacket } from 'mqtt-packet';
import { beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../src/index.js';
import {
  ManualTimers,
  publishPacket,
  recordError,
  sessionOf,
  settle,
  subscribe,
  TestClient,
} from './helpers.js';
import { ScramClient } from './scram-client.js';

type UC = DefaultUserContext;
const METHOD = 'SCRAM-SHA-256';
const ITERATIONS = 4096;

const users = new Map<string, ScramCredentials>();

beforeAll(async () => {
  users.set('alice', await createScramCredentials('wonderland', { iterations: ITERATIONS }));
  users.set('bob', await createScramCredentials('builder', { iterations: ITERATIONS }));
});

function setup(
  lookup: (name: string) => ScramCredentials | Promise<ScramCredentials | undefined> | undefined = (
    name,
  ) => users.get(name),
) {
  const timers = new ManualTimers();
  const errors: unknown[] = [];
  const runtime: Runtime<UC> = createScramRuntime({
    base: createDefaultRuntime(),
    lookup,
    iterations: ITERATIONS,
  });
  const pool = createPool<UC>({
    runtime,
    timers,
    onError: (error) => {
      errors.push(error);
      recordError(error);
    },
  });
  return { pool, timers, errors };
}

/** CONNECT with Authentication Method SCRAM-SHA-256 and client-first as Authentication Data. */
function scramConnect(
  client: TestClient,
  scram: ScramClient,
  overrides: Partial<IConnectPacket> = {},
): void {
  client.send({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 5,
    clientId: 'scram-client',
    clean: true,
    keepalive: 0,
    ...overrides,
    properties: {
      authenticationMethod: METHOD,
      authenticationData: scram.first(),
      ...overrides.properties,
    },
  });
}

function auth(reasonCode: number, data?: Buffer, method = METHOD): IAuthPacket {
  return {
    cmd: 'auth',
    reasonCode,
    properties:
      data === undefined
        ? { authenticationMethod: method }
        : { authenticationMethod: method, authenticationData: data },
  };
}

/** Runs the whole CONNECT exchange and returns the client, connected. */
function connectAs(
  pool: ReturnType<typeof setup>['pool'],
  username: string,
  password: string,
  clientId = 'scram-client',
): { client: TestClient; scram: ScramClient } {
  const client = new TestClient(pool);
  const scram = new ScramClient(username, password);
  scramConnect(client, scram, { clientId });
  const challenge = client.next('auth');
  client.send(auth(0x18, scram.final(challenge.properties?.authenticationData)));
  const connack = client.next('connack');
  expect(connack.reasonCode).toBe(0);
  expect(scram.verify(connack.properties?.authenticationData)).toBe(true);
  return { client, scram };
}

describe('SCRAM-SHA-256 during CONNECT', () => {
  it('CONNECT -> AUTH 0x18 server-first -> AUTH 0x18 client-final -> CONNACK 0x00 with server-final [MQTT-4.12.0-2] [MQTT-4.12.0-3] [MQTT-4.12.0-5]', () => {
    const { pool, errors } = setup();
    const client = new TestClient(pool);
    const scram = new ScramClient('alice', 'wonderland', { nonce: 'fyko+d2lbbFgONRv9qkxdawL' });
    scramConnect(client, scram, { clientId: 'alice-1' });

    const challenge = client.next('auth');
    expect(challenge.reasonCode).toBe(0x18);
    expect(challenge.properties?.authenticationMethod).toBe(METHOD);
    const serverFirst = challenge.properties?.authenticationData?.toString() ?? '';
    const salt = (users.get('alice') as ScramCredentials).salt.toString('base64');
    expect(serverFirst).toMatch(
      new RegExp(`^r=fyko\\+d2lbbFgONRv9qkxdawL[^,]+,s=${salt.replace(/[+/]/g, '\\$&')},i=4096$`),
    );
    expect(client.received).toEqual([]);

    client.send(auth(0x18, scram.final(challenge.properties?.authenticationData)));
    const connack = client.next('connack');
    expect(connack.reasonCode).toBe(0);
    expect(connack.properties?.authenticationMethod).toBe(METHOD);
    // Mutual authentication: the server proves it knew the credentials too.
    expect(scram.verify(connack.properties?.authenticationData)).toBe(true);
    expect(client.closed).toBe(false);
    expect(sessionOf(pool, 'alice-1').userContext.user).toBe('alice');

    // And the connection works.
    subscribe(client, 'greetings', 1);
    client.send(publishPacket('greetings', 'hi', 1, { messageId: 7 }));
    expect(client.drain().map((packet) => packet.cmd)).toEqual(['publish', 'puback']);
    expect(errors).toEqual([]);
  });

  it('accepts the y GS2 flag (client supports channel binding, server does not)', () => {
    const { pool } = setup();
    const client = new TestClient(pool);
    const scram = new ScramClient('bob', 'builder', { gs2Header: 'y,,' });
    scramConnect(client, scram);
    const challenge = client.next('auth');
    client.send(auth(0x18, scram.final(challenge.properties?.authenticationData)));
    const connack = client.next('connack');
    expect(connack.reasonCode).toBe(0);
    expect(scram.verify(connack.properties?.authenticationData)).toBe(true);
  });

  it('a wrong password gets CONNACK 0x87 and the connection closes; the new session is gone [MQTT-4.12.0-4]', () => {
    const { pool, errors } = setup();
    const client = new TestClient(pool);
    const scram = new ScramClient('alice', 'looking-glass');
    scramConnect(client, scram);
    const challenge = client.next('auth');
    client.send(auth(0x18, scram.final(challenge.properties?.authenticationData)));
    const connack = client.next('connack');
    expect(connack.reasonCode).toBe(0x87);
    expect(connack.properties?.authenticationData).toBeUndefined();
    expect(client.closed).toBe(true);
    expect(pool.sessionCount()).toBe(0);
    expect(errors).toEqual([]);
  });

  it('an unknown user gets a challenge like a known one (a stable salt) and then CONNACK 0x87', () => {
    const { pool } = setup();
    const challenges: string[] = [];
    for (let attempt = 0; attempt < 2; attempt++) {
      const client = new TestClient(pool);
      const scram = new ScramClient('mallory', 'guess');
      scramConnect(client, scram);
      const challenge = client.next('auth');
      expect(challenge.reasonCode).toBe(0x18);
      const serverFirst = challenge.properties?.authenticationData?.toString() ?? '';
      challenges.push(serverFirst.replace(/^r=[^,]+,/, ''));
      client.send(auth(0x18, scram.final(challenge.properties?.authenticationData)));
      expect(client.next('connack').reasonCode).toBe(0x87);
      expect(client.closed).toBe(true);
    }
    // `s=<16 bytes>,i=4096`, the same both times, as for a real user.
    expect(challenges[0]).toMatch(/^s=[A-Za-z0-9+/]{22}==,i=4096$/);
    expect(challenges[1]).toBe(challenges[0]);
  });

  it('refuses a malformed client-first, channel binding and an authorization identity with CONNACK 0x87 [MQTT-4.12.0-4]', () => {
    const { pool } = setup();
    for (const first of [
      '',
      'garbage',
      'p=tls-unique,,n=alice,r=abc',
      'n,a=bob,n=alice,r=abc',
      'n,,n=alice',
      'n,,m=ext,n=alice,r=abc',
    ]) {
      const client = new TestClient(pool);
      client.send({
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 5,
        clientId: 'malformed',
        clean: true,
        keepalive: 0,
        properties: {
          authenticationMethod: METHOD,
          ...(first === '' ? {} : { authenticationData: Buffer.from(first) }),
        },
      });
      expect(client.next('connack').reasonCode, first).toBe(0x87);
      expect(client.closed).toBe(true);
    }
  });

  it('refuses a client-final with another nonce or a tampered channel binding', () => {
    const { pool } = setup();
    const tamper = [
      (final: string) => final.replace('r=', 'r=x'),
      (final: string) => final.replace('c=biws', 'c=eSws'),
      (final: string) => final.replace(/,p=.*/, ',p=AAAA'),
    ];
    for (const change of tamper) {
      const client = new TestClient(pool);
      const scram = new ScramClient('alice', 'wonderland');
      scramConnect(client, scram);
      const challenge = client.next('auth');
      const final = scram.final(challenge.properties?.authenticationData).toString();
      client.send(auth(0x18, Buffer.from(change(final))));
      expect(client.next('connack').reasonCode).toBe(0x87);
      expect(client.closed).toBe(true);
    }
  });

  it('an AUTH with another Authentication Method during CONNECT closes the connection without a CONNACK [MQTT-4.12.0-5]', () => {
    const { pool } = setup();
    const client = new TestClient(pool);
    const scram = new ScramClient('alice', 'wonderland');
    scramConnect(client, scram);
    const challenge = client.next('auth');
    client.send(auth(0x18, scram.final(challenge.properties?.authenticationData), 'SCRAM-SHA-1'));
    expect(client.received).toEqual([]);
    expect(client.closed).toBe(true);
    expect(pool.sessionCount()).toBe(0);
  });

  it("a CONNECT without an Authentication Method is the base runtime's, and gets no AUTH [MQTT-4.12.0-6]", () => {
    const { pool } = setup();
    const client = new TestClient(pool);
    const connack = client.connect({
      clientId: 'plain',
      username: 'carol',
      password: Buffer.from('x'),
    });
    expect(connack.reasonCode).toBe(0);
    expect(connack.properties?.authenticationMethod).toBeUndefined();
    expect(sessionOf(pool, 'plain').userContext.user).toBe('carol');
    // Another method is the base runtime's too: the default refuses it with 0x8C [MQTT-4.12.0-1].
    const other = new TestClient(pool);
    expect(
      other.connect({ clientId: 'other', properties: { authenticationMethod: 'GS2-KRB5' } })
        .reasonCode,
    ).toBe(0x8c);
  });

  it('refuses another user on a session that belongs to somebody: CONNACK 0x87', () => {
    const { pool } = setup();
    const persistent = {
      clientId: 'shared-id',
      clean: false,
      properties: { sessionExpiryInterval: 60 },
    };
    const bob = new TestClient(pool);
    const bobScram = new ScramClient('bob', 'builder');
    scramConnect(bob, bobScram, persistent);
    const bobChallenge = bob.next('auth');
    bob.send(auth(0x18, bobScram.final(bobChallenge.properties?.authenticationData)));
    expect(bob.next('connack').reasonCode).toBe(0);

    // alice, with her own correct password, may not take over bob's live session...
    const alice = new TestClient(pool);
    const aliceScram = new ScramClient('alice', 'wonderland');
    scramConnect(alice, aliceScram, persistent);
    const challenge = alice.next('auth');
    alice.send(auth(0x18, aliceScram.final(challenge.properties?.authenticationData)));
    expect(alice.next('connack').reasonCode).toBe(0x87);
    expect(alice.closed).toBe(true);
    expect(bob.closed).toBe(false);
    expect(sessionOf(pool, 'shared-id').userContext.user).toBe('bob');

    // ...nor resume it while bob is away.
    bob.drop();
    const later = new TestClient(pool);
    const laterScram = new ScramClient('alice', 'wonderland');
    scramConnect(later, laterScram, persistent);
    const again = later.next('auth');
    later.send(auth(0x18, laterScram.final(again.properties?.authenticationData)));
    expect(later.next('connack').reasonCode).toBe(0x87);
    expect(sessionOf(pool, 'shared-id').userContext.user).toBe('bob');
  });

  it('waits for a credentials store that answers with a Promise', async () => {
    let release: (() => void) | undefined;
    const { pool } = setup(
      (name) =>
        new Promise((resolve) => {
          release = () => resolve(users.get(name));
        }),
    );
    const client = new TestClient(pool);
    const scram = new ScramClient('alice', 'wonderland');
    scramConnect(client, scram);
    await settle();
    expect(client.received).toEqual([]);
    release?.();
    await settle();
    const challenge = client.next('auth');
    client.send(auth(0x18, scram.final(challenge.properties?.authenticationData)));
    expect(client.next('connack').reasonCode).toBe(0);
  });
});

describe('SCRAM-SHA-256 and the handshake deadline (MQTT 5 section 4.12)', () => {
  it('a client-final just inside the deadline is accepted', () => {
    const { pool, timers } = setup();
    const client = new TestClient(pool);
    const scram = new ScramClient('alice', 'wonderland');
    scramConnect(client, scram);
    const challenge = client.next('auth');
    timers.advance(19_999);
    client.send(auth(0x18, scram.final(challenge.properties?.authenticationData)));
    expect(client.next('connack').reasonCode).toBe(0);
    timers.advance(60_000);
    expect(client.closed).toBe(false);
  });

  it('a client that never sends client-final is closed after 20 s, without a CONNACK', () => {
    const { pool, timers } = setup();
    const client = new TestClient(pool);
    scramConnect(client, new ScramClient('alice', 'wonderland'));
    client.next('auth');
    timers.advance(19_999);
    expect(client.closed).toBe(false);
    timers.advance(1);
    expect(client.closed).toBe(true);
    expect(client.received).toEqual([]);
    expect(pool.sessionCount()).toBe(0);
  });

  it("the deadline restarts with the client's AUTH: a slow answer to client-final still lands", async () => {
    const timers = new ManualTimers();
    const scramRuntime = createScramRuntime<UC>({
      base: createDefaultRuntime(),
      lookup: (name) => users.get(name),
    });
    // A runtime that takes its time over client-final (say, it writes an audit log first).
    let release: (() => void) | undefined;
    const runtime: Runtime<UC> = {
      ...scramRuntime,
      reauth: (packet, phase, userContext) =>
        new Promise((resolve) => {
          release = () => resolve(scramRuntime.reauth(packet, phase, userContext));
        }),
    };
    const pool = createPool<UC>({ runtime, timers });
    const client = new TestClient(pool);
    const scram = new ScramClient('alice', 'wonderland');
    scramConnect(client, scram);
    const challenge = client.next('auth');
    timers.advance(15_000);
    client.send(auth(0x18, scram.final(challenge.properties?.authenticationData)));
    // 30 s after the CONNECT, 15 s after the client's AUTH: still waiting, not timed out.
    timers.advance(15_000);
    expect(client.closed).toBe(false);
    release?.();
    await settle();
    expect(client.next('connack').reasonCode).toBe(0);
    timers.advance(60_000);
    expect(client.closed).toBe(false);
  });
});

describe('SCRAM-SHA-256 re-authentication (MQTT 5 section 4.12.1)', () => {
  it('AUTH 0x19 -> AUTH 0x18 -> AUTH 0x18 -> AUTH 0x00 with server-final; the connection stays [MQTT-4.12.1-1]', () => {
    const { pool, errors } = setup();
    const { client } = connectAs(pool, 'alice', 'wonderland', 'reauth');
    subscribe(client, 'news', 0);

    const scram = new ScramClient('alice', 'wonderland');
    client.send(auth(0x19, scram.first()));
    const challenge = client.next('auth');
    expect(challenge.reasonCode).toBe(0x18);
    expect(challenge.properties?.authenticationMethod).toBe(METHOD);
    // Other packets flow during re-authentication, under the earlier authentication.
    void pool.serverPublish('news', 'during');
    expect(client.next('publish').payload.toString()).toBe('during');

    client.send(auth(0x18, scram.final(challenge.properties?.authenticationData)));
    const done = client.next('auth');
    expect(done.reasonCode).toBe(0);
    expect(done.properties?.authenticationMethod).toBe(METHOD);
    expect(scram.verify(done.properties?.authenticationData)).toBe(true);
    expect(client.closed).toBe(false);
    expect(sessionOf(pool, 'reauth').userContext.user).toBe('alice');

    // And again: re-authentication may be repeated.
    const twice = new ScramClient('alice', 'wonderland');
    client.send(auth(0x19, twice.first()));
    const next = client.next('auth');
    client.send(auth(0x18, twice.final(next.properties?.authenticationData)));
    expect(client.next('auth').reasonCode).toBe(0);
    expect(errors).toEqual([]);
  });

  it("a failed re-authentication gets DISCONNECT 0x87, the runtime's code, and the connection closes [MQTT-4.12.1-2]", () => {
    const { pool } = setup();
    const { client } = connectAs(pool, 'alice', 'wonderland', 'reauth-fail');
    const scram = new ScramClient('alice', 'not-the-password');
    client.send(auth(0x19, scram.first()));
    const challenge = client.next('auth');
    client.send(auth(0x18, scram.final(challenge.properties?.authenticationData)));
    const disconnect = client.next('disconnect');
    expect(disconnect.reasonCode).toBe(0x87);
    expect(client.closed).toBe(true);
  });

  it('re-authenticating as another user fails: DISCONNECT 0x87, the session keeps its user', () => {
    const { pool } = setup();
    const { client } = connectAs(pool, 'alice', 'wonderland', 'switch');
    const bob = new ScramClient('bob', 'builder');
    client.send(auth(0x19, bob.first()));
    const challenge = client.next('auth');
    expect(sessionOf(pool, 'switch').userContext.user).toBe('alice');
    client.send(auth(0x18, bob.final(challenge.properties?.authenticationData)));
    expect(client.next('disconnect').reasonCode).toBe(0x87);
    expect(client.closed).toBe(true);
  });

  it('an AUTH with another Authentication Method on a live connection gets DISCONNECT 0x82 [MQTT-4.12.1-1]', () => {
    const { pool } = setup();
    const { client } = connectAs(pool, 'alice', 'wonderland', 'wrong-method');
    client.send(auth(0x19, new ScramClient('alice', 'wonderland').first(), 'SCRAM-SHA-1'));
    expect(client.next('disconnect').reasonCode).toBe(0x82);
    expect(client.closed).toBe(true);
  });

  it('a malformed client-first in AUTH 0x19 fails the re-authentication with DISCONNECT 0x87', () => {
    const { pool } = setup();
    const { client } = connectAs(pool, 'alice', 'wonderland', 'garbled');
    client.send(auth(0x19, Buffer.from('n,,r=only-a-nonce')));
    expect(client.next('disconnect').reasonCode).toBe(0x87);
    expect(client.closed).toBe(true);
  });
});
