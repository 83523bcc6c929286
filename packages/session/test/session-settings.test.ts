import { Router } from '@mqtt-sessions/router';
import { createDefaultRuntime } from '@mqtt-sessions/runtime-default';
import { type IConnackPacket, type Packet, parser } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import {
  createSessionMetrics,
  DEFAULT_SESSION_OPTIONS,
  Session,
  type SessionHost,
  type SessionParams,
  shareSessionSettings,
} from '../src/index.js';

const router = new Router();
const host: SessionHost = {
  publish: (message, senderKey) => router.publish(message, senderKey),
  subscribe: (subscriber, filter, options) => router.subscribe(subscriber, filter, options),
  unsubscribe: (subscriber, filter) => router.unsubscribe(subscriber, filter),
  unsubscribeAll: (subscriber) => void router.unsubscribeAll(subscriber),
  matchRetained: () => ({ messages: [], cursor: null }),
  routeShared: (route, message, exclude) => router.routeShared(route, message, exclude),
  sessionEnded: () => {},
  metrics: createSessionMetrics(),
};
const runtime = createDefaultRuntime();
const connection = { peerIp: '192.0.2.1', contextPrefs: { origin: 'tcp' } };

/** Connects a v5 client to `session` and returns the CONNACK it hears, decoded from its bytes. */
function connackOf(session: Session): IConnackPacket {
  const received: Packet[] = [];
  const decoder = parser({ protocolVersion: 5 });
  decoder.on('packet', (packet: Packet) => received.push(packet));
  const link = {
    send(bytes: Buffer) {
      decoder.parse(bytes);
      return true;
    },
    close() {},
  };
  session.connect(
    link,
    {
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 5,
      clientId: session.clientId,
      clean: true,
      keepalive: 0,
    },
    connection,
  );
  expect(received[0]?.cmd).toBe('connack');
  return received[0] as IConnackPacket;
}

function sessionWith(
  clientId: string,
  settings: Omit<SessionParams<unknown>, 'clientId' | 'routingId' | 'connection'>,
) {
  return new Session({
    clientId,
    routingId: `r:${clientId}`,
    connection,
    ...settings,
  } as SessionParams<unknown>);
}

describe('session settings', () => {
  it('are resolved once and shared: every session of the settings has the same options', () => {
    const shared = shareSessionSettings({
      pool: 'p',
      host,
      runtime,
      options: { receiveMaximum: 10 },
    });
    expect(Object.isFrozen(shared)).toBe(true);
    expect(shared.options).toEqual({ ...DEFAULT_SESSION_OPTIONS, receiveMaximum: 10 });
    const a = sessionWith('a', { shared });
    const b = sessionWith('b', { shared });
    expect(a.options).toBe(shared.options);
    expect(b.options).toBe(shared.options);
    expect(a.pool).toBe('p');
    expect(a.runtime).toBe(runtime);
    expect(connackOf(a).properties?.receiveMaximum).toBe(10);
    expect(connackOf(b).properties?.receiveMaximum).toBe(10);
  });

  it('may still be given to one session, with the same effect', () => {
    const session = sessionWith('c', { pool: 'p', host, runtime, options: { receiveMaximum: 20 } });
    expect(session.options).toEqual({ ...DEFAULT_SESSION_OPTIONS, receiveMaximum: 20 });
    expect(connackOf(session).properties?.receiveMaximum).toBe(20);
  });
});
