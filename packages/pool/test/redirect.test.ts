/**
 * Server redirection of a live client (MQTT 5 section 4.11): `pool.redirect` sends DISCONNECT 0x9C
 * (Use another server) or 0x9D (Server moved) with a Server Reference, and keeps the session for
 * the client to come back to; `Session.kill` can carry the same properties.
 */
import { describe, expect, it } from 'vitest';
import { createPool } from '../src/index.js';
import { ManualTimers, recordError, sessionOf, subscribe, TestClient } from './helpers.js';

function setup() {
  const timers = new ManualTimers();
  const errors: unknown[] = [];
  const pool = createPool({
    timers,
    onError: (error) => {
      errors.push(error);
      recordError(error);
    },
  });
  return { pool, timers, errors };
}

describe('pool.redirect', () => {
  it('sends DISCONNECT 0x9C with the Server Reference and closes the connection; the session stays (MQTT 5 section 4.11)', () => {
    const { pool, errors } = setup();
    const client = new TestClient(pool);
    client.connect({ clientId: 'mover', clean: false, properties: { sessionExpiryInterval: 60 } });
    subscribe(client, 'news', 1);
    expect(pool.redirect('mover', 'mqtt2.example.com:8883')).toBe(true);
    const disconnect = client.next('disconnect');
    expect(disconnect.reasonCode).toBe(0x9c);
    expect(disconnect.properties).toEqual({
      serverReference: 'mqtt2.example.com:8883',
      reasonString: 'use another server',
    });
    expect(client.closed).toBe(true);
    expect(pool.connectedCount()).toBe(0);

    // The session waits: a message queues, and a client that comes back resumes it.
    void pool.serverPublish('news', 'while away', { qos: 1 });
    const back = new TestClient(pool);
    expect(
      back.connect({ clientId: 'mover', clean: false, properties: { sessionExpiryInterval: 60 } })
        .sessionPresent,
    ).toBe(true);
    expect(back.next('publish').payload.toString()).toBe('while away');
    expect(errors).toEqual([]);
  });

  it("permanent: DISCONNECT 0x9D (Server moved), with the caller's reason string", () => {
    const { pool } = setup();
    const client = new TestClient(pool);
    client.connect({ clientId: 'moved' });
    const done = pool.redirect('moved', 'a.example b.example:1884', {
      permanent: true,
      reasonString: 'this cluster is retired',
    });
    expect(done).toBe(true);
    const disconnect = client.next('disconnect');
    expect(disconnect.reasonCode).toBe(0x9d);
    expect(disconnect.properties).toEqual({
      serverReference: 'a.example b.example:1884',
      reasonString: 'this cluster is retired',
    });
    expect(client.closed).toBe(true);
  });

  it('keeps the Server Reference but not the reason string for a client that asked for no problem information [MQTT-3.1.2-29]', () => {
    const { pool } = setup();
    const client = new TestClient(pool);
    client.connect({ clientId: 'quiet', properties: { requestProblemInformation: false } });
    void pool.redirect('quiet', 'other.example', { reasonString: 'go' });
    expect(client.next('disconnect').properties).toEqual({ serverReference: 'other.example' });
  });

  it('publishes the Will, as after any server-side DISCONNECT [MQTT-3.1.2-8]', () => {
    const { pool } = setup();
    const watcher = new TestClient(pool);
    watcher.connect({ clientId: 'watcher' });
    subscribe(watcher, 'status/#', 0);
    const client = new TestClient(pool);
    client.connect({
      clientId: 'with-will',
      will: { topic: 'status/with-will', payload: Buffer.from('gone'), qos: 0, retain: false },
    });
    void pool.redirect('with-will', 'other.example');
    expect(watcher.next('publish').payload.toString()).toBe('gone');
  });

  it('a session with Session Expiry 0 ends with its connection', () => {
    const { pool } = setup();
    const client = new TestClient(pool);
    client.connect({ clientId: 'short' });
    void pool.redirect('short', 'other.example');
    expect(pool.sessionCount()).toBe(0);
  });

  it('answers false for an unknown client or one that is not connected', () => {
    const { pool } = setup();
    expect(pool.redirect('nobody', 'other.example')).toBe(false);
    const client = new TestClient(pool);
    client.connect({ clientId: 'away', clean: false, properties: { sessionExpiryInterval: 60 } });
    client.drop();
    expect(pool.redirect('away', 'other.example')).toBe(false);
    expect(pool.sessionCount()).toBe(1);
  });

  it('an MQTT 3.1.1 client, which has no DISCONNECT to read, is just disconnected', () => {
    const { pool } = setup();
    const client = new TestClient(pool, 4);
    client.connect({ clientId: 'old', clean: false });
    expect(pool.redirect('old', 'other.example')).toBe(true);
    expect(client.received).toEqual([]);
    expect(client.closed).toBe(true);
    expect(pool.sessionCount()).toBe(1);
  });
});

describe('Session.kill with DISCONNECT properties', () => {
  it('sends the Server Reference and ends the session', () => {
    const { pool } = setup();
    const client = new TestClient(pool);
    client.connect({ clientId: 'killed', clean: false, properties: { sessionExpiryInterval: 60 } });
    sessionOf(pool, 'killed').kill(0x9d, 'moved for good', { serverReference: 'new.example' });
    const disconnect = client.next('disconnect');
    expect(disconnect.reasonCode).toBe(0x9d);
    expect(disconnect.properties).toEqual({
      serverReference: 'new.example',
      reasonString: 'moved for good',
    });
    expect(client.closed).toBe(true);
    expect(pool.sessionCount()).toBe(0);
  });
});
