/**
 * MQTT 5 conformance, sections 3.14 (DISCONNECT), 3.15 (AUTH), 4.12 (enhanced authentication) and
 * 4.13 (handling errors): real bytes through a pool. Each test names the normative statements it
 * proves; docs/conformance.md maps them.
 */
import type { ConnackProperties, ConnectResult, Runtime } from '@mqtt-sessions/runtime-default';
import type { IAuthPacket, IConnectPacket, IDisconnectPacket } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import {
  bystander,
  bytes5,
  closedSilently,
  connectBytes,
  connected,
  disconnectedWith,
  runtimeWith,
  setup,
  type UC,
  unaffected,
} from './conformance-helpers.js';
import { publishPacket, sessionOf, subscribe, TestClient, takeErrors } from './helpers.js';

/**
 * Enhanced authentication with method `token`: CONNECT gets AUTH 0x18 (with `authProperties`),
 * and AUTH carrying data `secret` passes, during CONNECT and on re-authentication. Data `bad-8c`
 * is refused with 0x8C, any other data with 0x87.
 */
function tokenRuntime(
  authProperties: NonNullable<IAuthPacket['properties']> = {},
  connackProperties: ConnackProperties = {},
): Runtime<UC> {
  return runtimeWith({
    connect: (packet, _present, _connection, userContext): ConnectResult<UC> => {
      if (packet.properties?.authenticationMethod !== 'token') {
        return { type: 'connack', reasonCode: 0, properties: connackProperties, userContext };
      }
      return { type: 'auth', reasonCode: 0x18, properties: { ...authProperties }, userContext };
    },
    reauth: (packet, phase, userContext): ConnectResult<UC> => {
      const data = packet.properties?.authenticationData?.toString();
      if (data !== 'secret') {
        return { type: 'connack', reasonCode: data === 'bad-8c' ? 0x8c : 0x87, userContext };
      }
      return phase === 'connect'
        ? { type: 'connack', reasonCode: 0, userContext }
        : { type: 'auth', reasonCode: 0, properties: {}, userContext };
    },
  });
}

function tokenConnect(clientId: string, extra: Partial<IConnectPacket> = {}): IConnectPacket {
  return {
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 5,
    clientId,
    clean: true,
    keepalive: 0,
    ...extra,
    properties: { authenticationMethod: 'token', ...extra.properties },
  };
}

function auth(reasonCode: number, data: string, method = 'token'): IAuthPacket {
  return {
    cmd: 'auth',
    reasonCode,
    properties: { authenticationMethod: method, authenticationData: Buffer.from(data) },
  };
}

/** A client through enhanced authentication to CONNACK 0x00. */
function authenticated(pool: ReturnType<typeof setup>['pool'], clientId: string): TestClient {
  const client = new TestClient(pool);
  client.send(tokenConnect(clientId));
  expect(client.next('auth').reasonCode).toBe(0x18);
  client.send(auth(0x18, 'secret'));
  expect(client.next('connack').reasonCode).toBe(0);
  return client;
}

describe('3.14 DISCONNECT', () => {
  it('no DISCONNECT before a successful CONNACK: errors during the handshake just close [MQTT-3.14.0-1]', async () => {
    const { pool, timers } = setup({
      runtime: tokenRuntime(),
      session: { maxIncomingPacketSize: 200 },
    });
    const watcher = bystander(pool);
    // A PUBLISH during enhanced authentication.
    const early = new TestClient(pool);
    early.send(tokenConnect('early'));
    const afterAuth = early.bytes.length;
    early.send(publishPacket('bystander/x', 'x', 0));
    closedSilently(early, afterAuth);
    // A malformed packet during enhanced authentication.
    const malformed = new TestClient(pool);
    malformed.send(tokenConnect('malformed'));
    const sent = malformed.bytes.length;
    malformed.sendBytes([0xf1, 0x00]);
    closedSilently(malformed, sent);
    // A refused re-authentication step during CONNECT: CONNACK, not DISCONNECT.
    const refused = new TestClient(pool);
    refused.send(tokenConnect('refused'));
    refused.next('auth');
    refused.send(auth(0x18, 'wrong'));
    expect(refused.drain().map((p) => p.cmd)).toEqual(['connack']);
    // A too-large packet before CONNACK: CONNACK 0x95.
    const large = new TestClient(pool);
    large.sendBytes(connectBytes({ clientId: 'x'.repeat(300) }));
    expect(large.drain().map((p) => p.cmd)).toEqual(['connack']);
    // The handshake deadline, and a pool that closes, while a client authenticates.
    const stalled = new TestClient(pool);
    stalled.send(tokenConnect('stalled'));
    const stalledSent = stalled.bytes.length;
    const closing = new TestClient(pool);
    closing.send(tokenConnect('closing'));
    const closingSent = closing.bytes.length;
    timers.advance(20_000);
    closedSilently(stalled, stalledSent);
    expect(watcher.closed).toBe(false);
    await pool.close();
    closedSilently(closing, closingSent);
  });

  it('a DISCONNECT with reserved flag bits set is malformed: DISCONNECT 0x81 [MQTT-3.14.1-1]', () => {
    const { pool } = setup();
    const watcher = bystander(pool);
    const client = connected(pool, 'flags');
    client.sendBytes([0xe2, 0x00]);
    disconnectedWith(client, 0x81);
    unaffected(pool, watcher);
  });

  it('the server sends only DISCONNECT reason codes, whatever the runtime or a caller chose [MQTT-3.14.2-1]', () => {
    const { pool } = setup({ runtime: tokenRuntime() });
    const failed = authenticated(pool, 'reauth');
    failed.send(auth(0x19, 'bad-8c'));
    disconnectedWith(failed, 0x87); // 0x8C is a CONNACK code only
    const killed = connected(pool, 'killed');
    sessionOf(pool, 'killed').kill(0x86, 'bad password'); // also CONNACK only
    disconnectedWith(killed, 0x87);
    const odd = connected(pool, 'odd');
    sessionOf(pool, 'odd').kill(0x04, 'a client code');
    disconnectedWith(odd, 0x80);
  });

  it('no DISCONNECT from the server carries a Session Expiry Interval [MQTT-3.14.2-2]', async () => {
    const { pool, timers } = setup();
    const seen: IDisconnectPacket[] = [];
    const collect = (client: TestClient) => {
      for (const p of client.drain()) if (p.cmd === 'disconnect') seen.push(p);
    };
    const twin = connected(pool, 'twin', { properties: { sessionExpiryInterval: 60 } });
    const twin2 = new TestClient(pool);
    twin2.connect({ clientId: 'twin', clean: false });
    collect(twin);
    const idle = connected(pool, 'idle', {
      keepalive: 1,
      properties: { sessionExpiryInterval: 60 },
    });
    timers.advance(1_500);
    collect(idle);
    const rude = connected(pool, 'rude', { properties: { sessionExpiryInterval: 60 } });
    rude.send({
      cmd: 'subscribe',
      messageId: 1,
      subscriptions: [{ topic: '$share/g/t', qos: 0, nl: true }],
    });
    collect(rude);
    const killed = connected(pool, 'killed', { properties: { sessionExpiryInterval: 60 } });
    sessionOf(pool, 'killed').kill();
    collect(killed);
    await pool.close();
    collect(twin2);
    expect(seen.map((p) => p.reasonCode)).toEqual([0x8e, 0x8d, 0x82, 0x98, 0x8b]);
    expect(seen.every((p) => p.properties?.sessionExpiryInterval === undefined)).toBe(true);
  });

  it("a Reason String that would make DISCONNECT larger than the client's Maximum Packet Size is left out [MQTT-3.14.2-3] [MQTT-3.14.2-4]", () => {
    const { pool } = setup();
    const small = connected(pool, 'small', { properties: { maximumPacketSize: 24 } });
    small.send(publishPacket('t', 'x', 0, { properties: { subscriptionIdentifier: 1 } }));
    const [packet] = small.drain() as IDisconnectPacket[];
    expect(packet).toMatchObject({ cmd: 'disconnect', reasonCode: 0x82 });
    expect(packet?.properties?.reasonString).toBeUndefined();
    expect(small.bytes.at(-1)?.length).toBeLessThanOrEqual(24);
    const roomy = connected(pool, 'roomy');
    roomy.send(publishPacket('t', 'x', 0, { properties: { subscriptionIdentifier: 1 } }));
    expect(roomy.next('disconnect').properties?.reasonString).toMatch(/Subscription Identifier/);
  });

  it('after its DISCONNECT the server sends nothing more and closes the connection [MQTT-3.14.4-1] [MQTT-3.14.4-2]', () => {
    const { pool } = setup();
    const client = connected(pool, 'done', { properties: { sessionExpiryInterval: 60 } });
    subscribe(client, 'more', 1);
    client.send({ cmd: 'pingreq' });
    client.next('pingresp');
    client.sendBytes([0x82, 0x03, 0x00, 0x02, 0x00]); // SUBSCRIBE without a filter
    disconnectedWith(client, 0x82);
    const sent = client.bytes.length;
    void pool.serverPublish('more', 'queued for later', { qos: 1 });
    client.send({ cmd: 'pingreq' }); // ignored: the connection is closed
    expect(client.bytes.length).toBe(sent);
    expect(sessionOf(pool, 'done').stats().queued).toBe(1);
  });

  it("on the client's DISCONNECT the server closes the connection; 0x04 keeps the Will, 0x00 discards it [MQTT-3.14.4-3]", () => {
    const { pool } = setup();
    const watcher = connected(pool, 'watcher');
    subscribe(watcher, 'lwt/#');
    const will = (topic: string) => ({
      topic,
      payload: Buffer.from('x'),
      qos: 0 as const,
      retain: false,
    });
    const normal = connected(pool, 'normal', { will: will('lwt/normal') });
    normal.send({ cmd: 'disconnect', reasonCode: 0x00 });
    const withWill = connected(pool, 'with', { will: will('lwt/with') });
    withWill.send({ cmd: 'disconnect', reasonCode: 0x04 });
    expect([normal.closed, withWill.closed]).toEqual([true, true]);
    expect(watcher.drain().map((p) => (p as { topic: string }).topic)).toEqual(['lwt/with']);
  });
});

describe('3.15 AUTH and 4.12 enhanced authentication', () => {
  it('an AUTH with reserved flag bits set is malformed: the connection closes [MQTT-3.15.1-1]', () => {
    const { pool } = setup({ runtime: tokenRuntime() });
    const watcher = bystander(pool);
    const client = authenticated(pool, 'flags');
    client.sendBytes([0xf1, 0x00]);
    disconnectedWith(client, 0x81);
    unaffected(pool, watcher);
  });

  it("the server's AUTH packets carry 0x18 while authenticating and 0x00 when re-authentication succeeds, each with the CONNECT's method, as does CONNACK [MQTT-3.15.2-1] [MQTT-4.12.0-2] [MQTT-4.12.0-5]", () => {
    const { pool } = setup({ runtime: tokenRuntime() });
    const client = new TestClient(pool);
    client.send(tokenConnect('method'));
    const challenge = client.next('auth');
    expect(challenge).toMatchObject({
      reasonCode: 0x18,
      properties: { authenticationMethod: 'token' },
    });
    client.send(auth(0x18, 'secret'));
    const connack = client.next('connack');
    expect(connack).toMatchObject({ reasonCode: 0, properties: { authenticationMethod: 'token' } });
    client.send(auth(0x19, 'secret'));
    expect(client.next('auth')).toMatchObject({
      reasonCode: 0x00,
      properties: { authenticationMethod: 'token' },
    });
  });

  it('AUTH leaves out a Reason String or User Properties that would make it too large for the client [MQTT-3.15.2-2] [MQTT-3.15.2-3]', () => {
    const { pool } = setup({
      runtime: tokenRuntime({
        reasonString: 'r'.repeat(100),
        userProperties: { u: 'v'.repeat(100) },
      }),
    });
    const small = new TestClient(pool);
    small.send(tokenConnect('small', { properties: { maximumPacketSize: 40 } }));
    const challenge = small.next('auth');
    expect(challenge.properties).toEqual({ authenticationMethod: 'token' });
    expect(small.bytes.at(-1)?.length).toBeLessThanOrEqual(40);
    const roomy = new TestClient(pool);
    roomy.send(tokenConnect('roomy'));
    expect(roomy.next('auth').properties?.reasonString).toBe('r'.repeat(100));
  });

  it('an Authentication Method the server does not support gets CONNACK 0x8C and the connection closes [MQTT-4.12.0-1]', () => {
    const { pool } = setup();
    const client = new TestClient(pool);
    client.send(tokenConnect('unsupported'));
    expect(client.drain()).toMatchObject([{ cmd: 'connack', reasonCode: 0x8c }]);
    expect(client.closed).toBe(true);
  });

  it('the server may refuse at any step of the exchange: CONNACK 0x87 and the connection closes [MQTT-4.12.0-4] [MQTT-4.13.2-1]', () => {
    const { pool } = setup({ runtime: tokenRuntime() });
    const client = new TestClient(pool);
    client.send(tokenConnect('refused'));
    client.next('auth');
    client.send(auth(0x18, 'wrong'));
    expect(client.drain()).toMatchObject([{ cmd: 'connack', reasonCode: 0x87 }]);
    expect(client.closed).toBe(true);
  });

  it('without an Authentication Method in CONNECT there is no AUTH and no method in CONNACK [MQTT-4.12.0-6]', () => {
    const continuing = runtimeWith({
      connect: (_packet, _present, _connection, userContext): ConnectResult<UC> => ({
        type: 'auth',
        reasonCode: 0x18,
        properties: {},
        userContext,
      }),
    });
    const { pool: strict, errors } = setup({ runtime: continuing });
    const client = new TestClient(strict);
    expect(client.connect({ clientId: 'plain' }).reasonCode).toBe(0x83);
    expect(client.bytes.map((chunk) => chunk[0])).toEqual([0x20]);
    expect(errors).toHaveLength(1);
    takeErrors(); // expected: the runtime broke the rules
    const { pool } = setup({
      runtime: tokenRuntime(
        {},
        { authenticationMethod: 'leaked', authenticationData: Buffer.from('x') },
      ),
    });
    const plain = new TestClient(pool);
    const connack = plain.connect({ clientId: 'plain' });
    expect(connack.reasonCode).toBe(0);
    expect(connack.properties?.authenticationMethod).toBeUndefined();
    expect(connack.properties?.authenticationData).toBeUndefined();
  });

  it('the server refuses AUTH from a client that did not start enhanced authentication, and a re-authentication with another method: DISCONNECT 0x82 [MQTT-4.12.0-7] [MQTT-4.12.1-1]', () => {
    const { pool } = setup({ runtime: tokenRuntime() });
    const plain = connected(pool, 'plain');
    plain.send(auth(0x19, 'secret'));
    disconnectedWith(plain, 0x82);
    const other = authenticated(pool, 'other');
    other.send(auth(0x19, 'secret', 'another'));
    disconnectedWith(other, 0x82);
  });

  it('a failed re-authentication ends the connection with DISCONNECT [MQTT-4.12.1-2]', () => {
    const { pool } = setup({ runtime: tokenRuntime() });
    const client = authenticated(pool, 'again');
    client.send(auth(0x19, 'secret'));
    expect(client.next('auth').reasonCode).toBe(0);
    client.send(auth(0x19, 'wrong'));
    disconnectedWith(client, 0x87);
  });
});

describe('4.13 handling errors', () => {
  it("a malformed packet or a protocol error closes that connection, with DISCONNECT 0x81 or 0x82, and nobody else's [MQTT-4.13.1-1] [MQTT-4.13.2-1]", () => {
    const { pool } = setup();
    const watcher = bystander(pool);
    const cases: [number[] | Buffer, number][] = [
      [[0x00, 0x00], 0x81], // packet type 0 is reserved
      [[0x20, 0x02, 0x00, 0x00], 0x82], // CONNACK from a client
      [[0x90, 0x03, 0x00, 0x01, 0x00], 0x82], // SUBACK from a client
      [[0x30, 0x80, 0x80, 0x80, 0x80, 0x01], 0x81], // a Remaining Length of five bytes
      [bytes5(publishPacket('', 'x', 0, { properties: { topicAlias: 9 } })), 0x82], // unknown alias
      [connectBytes({ clientId: 'again' }), 0x82], // a second CONNECT
      [[0x30, 0x05, 0x00, 0x01, 0x74, 0x01, 0x26], 0x81], // a property without its value
    ];
    for (const [i, [raw, code]] of cases.entries()) {
      const client = connected(pool, `err${i}`);
      client.sendBytes(raw);
      disconnectedWith(client, code);
    }
    unaffected(pool, watcher);
  });
});
