import { describe, expect, it } from 'vitest';
import { type ConnectResult, createDefaultRuntime, type DefaultUserContext } from '../src/index.js';
import { connection, connectPacket, userContext } from './helpers.js';

const runtime = createDefaultRuntime();
const password = Buffer.from('any password at all');

async function connack(
  result: ConnectResult<DefaultUserContext> | Promise<ConnectResult<DefaultUserContext>>,
) {
  const settled = await result;
  if (settled.type !== 'connack') throw new Error(`expected a CONNACK, got ${settled.type}`);
  return settled;
}

describe('the default connect decision', () => {
  it('accepts an anonymous client on an anonymous session and records its address', async () => {
    const result = await connack(runtime.connect(connectPacket(), true, connection, userContext()));
    expect(result.reasonCode).toBe(0x00);
    expect(result.sessionPresent).toBe(true);
    expect(result.userContext.user).toBeUndefined();
    expect(result.userContext.peerIp).toBe('192.0.2.7');
  });

  it('treats an empty username and an empty password as absent', async () => {
    const packet = connectPacket({ username: '', password: Buffer.alloc(0) });
    const result = await connack(runtime.connect(packet, false, connection, userContext()));
    expect(result.reasonCode).toBe(0x00);
    expect(result.userContext.user).toBeUndefined();
  });

  it('refuses an anonymous client on a session a user has logged in to (0x87)', async () => {
    const before = userContext({ user: 'alice' });
    const result = await connack(runtime.connect(connectPacket(), true, connection, before));
    expect(result.reasonCode).toBe(0x87);
    expect(result.userContext).toBe(before);
  });

  it('accepts any password on the first login and makes the username the session user', async () => {
    const packet = connectPacket({ username: 'alice', password });
    const result = await connack(runtime.connect(packet, false, connection, userContext()));
    expect(result.reasonCode).toBe(0x00);
    expect(result.sessionPresent).toBe(false);
    expect(result.userContext.user).toBe('alice');
    expect(result.userContext.peerIp).toBe('192.0.2.7');
  });

  it('lets a user log in to an anonymous session that exists', async () => {
    const packet = connectPacket({ username: 'alice', password });
    const result = await connack(runtime.connect(packet, true, connection, userContext()));
    expect(result.reasonCode).toBe(0x00);
    expect(result.userContext.user).toBe('alice');
  });

  it('accepts the same user again on a present session', async () => {
    const packet = connectPacket({ username: 'alice', password });
    const before = userContext({ user: 'alice' });
    const result = await connack(runtime.connect(packet, true, connection, before));
    expect(result.reasonCode).toBe(0x00);
    expect(result.sessionPresent).toBe(true);
    expect(result.userContext).toMatchObject({ user: 'alice', peerIp: '192.0.2.7' });
  });

  it('refuses the same user when the session is not present (0x87)', async () => {
    const packet = connectPacket({ username: 'alice', password });
    const before = userContext({ user: 'alice' });
    const result = await connack(runtime.connect(packet, false, connection, before));
    expect(result.reasonCode).toBe(0x87);
  });

  it('refuses another user (0x87)', async () => {
    const packet = connectPacket({ username: 'mallory', password });
    const before = userContext({ user: 'alice' });
    const result = await connack(runtime.connect(packet, true, connection, before));
    expect(result.reasonCode).toBe(0x87);
    expect(result.userContext).toBe(before);
  });

  it.each([
    ['a username without a password', { username: 'alice' }],
    ['a username with an empty password', { username: 'alice', password: Buffer.alloc(0) }],
    ['a password without a username (allowed by MQTT 5, unused here)', { password }],
  ])('refuses %s (0x87)', async (_name, fields) => {
    const result = await connack(
      runtime.connect(connectPacket(fields), false, connection, userContext()),
    );
    expect(result.reasonCode).toBe(0x87);
  });

  it.each([
    ['an anonymous client', {}],
    ['a username and password', { username: 'alice', password }],
  ])(
    'refuses an Authentication Method with 0x8C Bad authentication method, for %s [MQTT-4.12.0-1]',
    async (_name, fields) => {
      const packet = connectPacket({
        ...fields,
        properties: { authenticationMethod: 'SCRAM-SHA-1' },
      });
      const result = await connack(runtime.connect(packet, false, connection, userContext()));
      expect(result.reasonCode).toBe(0x8c);
    },
  );

  it('reports no present session on a Clean Start connection [MQTT-3.2.2-2]', async () => {
    const clean = connectPacket({ clean: true });
    expect(
      (await connack(runtime.connect(clean, true, connection, userContext()))).sessionPresent,
    ).toBe(false);
    const { clean: _, ...unspecified } = connectPacket();
    expect(
      (await connack(runtime.connect(unspecified, true, connection, userContext()))).sessionPresent,
    ).toBe(false);
  });

  it('passes a present session through when the client resumes it [MQTT-3.2.2-3]', async () => {
    const result = await connack(runtime.connect(connectPacket(), true, connection, userContext()));
    expect(result.sessionPresent).toBe(true);
  });

  it('refuses enhanced authentication steps and re-authentication with 0x8C', async () => {
    const packet = { cmd: 'auth', reasonCode: 0x19 } as const;
    const before = userContext({ user: 'alice' });
    for (const phase of ['connect', 'reauthenticate'] as const) {
      const result = await connack(runtime.reauth(packet, phase, before));
      expect(result.reasonCode).toBe(0x8c);
      expect(result.userContext).toBe(before);
    }
  });
});
