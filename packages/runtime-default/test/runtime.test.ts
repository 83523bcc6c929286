import type { IPublishPacket } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { createDefaultRuntime, DEFAULT_POOL } from '../src/index.js';
import { connectPacket, userContext } from './helpers.js';

const publish: IPublishPacket = {
  cmd: 'publish',
  topic: 'a/b',
  payload: Buffer.from('x'),
  qos: 0,
  dup: false,
  retain: false,
};

describe('pools', () => {
  it('puts every session in the pool named default', async () => {
    const runtime = createDefaultRuntime();
    expect(DEFAULT_POOL).toBe('default');
    expect(runtime.defaultPool()).toBe('default');
    expect(await runtime.vhostPool('example.com')).toEqual({ ok: true, pool: 'default' });
  });

  it('takes another default pool name', async () => {
    const runtime = createDefaultRuntime({ defaultPool: 'main' });
    expect(runtime.defaultPool()).toBe('main');
    expect(await runtime.vhostPool('example.com')).toEqual({ ok: true, pool: 'main' });
  });

  it('maps vhosts to pools and refuses unknown vhosts when given a map', async () => {
    const runtime = createDefaultRuntime({
      vhosts: { 'a.example': 'pool-a', 'b.example': 'pool-b' },
    });
    expect(await runtime.vhostPool('a.example')).toEqual({ ok: true, pool: 'pool-a' });
    expect(await runtime.vhostPool('b.example')).toEqual({ ok: true, pool: 'pool-b' });
    const unknown = await runtime.vhostPool('c.example');
    expect(unknown).toEqual({ ok: false, reason: 'unknown vhost "c.example"' });
    expect((await runtime.vhostPool('__proto__')).ok).toBe(false);
    expect((await runtime.vhostPool('toString')).ok).toBe(false);
    expect(runtime.defaultPool()).toBe('default');
  });
});

describe('user context', () => {
  it('starts anonymous and records origin and crawler from the context preferences', () => {
    const runtime = createDefaultRuntime();
    const context = runtime.newUserContext({
      pool: 'default',
      clientId: 'client-1',
      routingId: 'r:abcdefghijklmnopqrst',
      peerIp: '192.0.2.7',
      contextPrefs: { origin: 'websocket', isCrawler: true, extra: 1 },
    });
    expect(context).toEqual({
      pool: 'default',
      clientId: 'client-1',
      routingId: 'r:abcdefghijklmnopqrst',
      peerIp: '192.0.2.7',
      origin: 'websocket',
      isCrawler: true,
      user: undefined,
    });
  });

  it('defaults to no origin and no crawler', () => {
    expect(userContext()).toMatchObject({ origin: undefined, isCrawler: false, user: undefined });
  });
});

describe('classifiers', () => {
  const runtime = createDefaultRuntime();

  it('isWebsocketOrigin is true for the websocket origin only', () => {
    expect(runtime.isWebsocketOrigin(userContext({ origin: 'websocket' }))).toBe(true);
    expect(runtime.isWebsocketOrigin(userContext({ origin: 'tcp' }))).toBe(false);
    expect(runtime.isWebsocketOrigin(userContext())).toBe(false);
  });

  it('isCrawler reads the context', () => {
    expect(runtime.isCrawler(userContext({ isCrawler: true }))).toBe(true);
    expect(runtime.isCrawler(userContext())).toBe(false);
  });

  it('isAnonymousUser is true until a user logs in', () => {
    expect(runtime.isAnonymousUser(userContext())).toBe(true);
    expect(runtime.isAnonymousUser(userContext({ user: 'alice' }))).toBe(false);
  });
});

describe('the permissive rest', () => {
  const runtime = createDefaultRuntime();
  const context = userContext();

  it('allows every publish, subscribe and retained delivery', async () => {
    expect(
      await runtime.isAllowed({ action: 'publish', topic: 'a/b', message: publish }, context),
    ).toBe(true);
    expect(
      await runtime.isAllowed(
        { action: 'subscribe', topic: '#', subscription: undefined },
        context,
      ),
    ).toBe(true);
    expect(
      await runtime.isAllowed(
        { action: 'deliver-retained', topic: 'a/b', message: publish },
        context,
      ),
    ).toBe(true);
  });

  it('finds every message valid', () => {
    expect(
      runtime.isValidMessage(connectPacket(), { peerIp: undefined, contextPrefs: {} }, context),
    ).toBe(true);
    expect(runtime.isValidMessage(publish, undefined, context)).toBe(true);
  });

  it('leaves the user context alone on control messages and pings', async () => {
    expect(await runtime.controlMessage(['ping'], publish, context)).toBe(context);
    expect(await runtime.ping(context)).toBe(context);
  });

  it('sends no Response Information', () => {
    expect(runtime.responseInformation(context)).toBeUndefined();
  });
});
