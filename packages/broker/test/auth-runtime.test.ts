import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConnectResult, Runtime } from '@mqtt-sessions/runtime-default';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type AuthOptions,
  type AuthUserContext,
  addUser,
  createAuthRuntime,
} from '../src/auth/index.js';
import { EXAMPLE_ACL, TEST_COST, useTempDir } from './fixtures/auth/helpers.js';

type ConnectPacket = Parameters<Runtime<AuthUserContext>['connect']>[0];
type Request = Parameters<Runtime<AuthUserContext>['isAllowed']>[0];

const connection = { peerIp: '192.0.2.7', contextPrefs: {} };
const aclFile = fileURLToPath(EXAMPLE_ACL);
const tempDir = useTempDir();

/** A v5 CONNECT resuming a session (Clean Start 0); a string password is sent as UTF-8. */
function connectPacket(
  fields: { username?: string; password?: string | Buffer } = {},
  extra: Partial<ConnectPacket> = {},
): ConnectPacket {
  const { username, password } = fields;
  return {
    cmd: 'connect',
    clientId: 'client-1',
    protocolVersion: 5,
    clean: false,
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password: Buffer.from(password) }),
    ...extra,
  };
}

/** A fresh client session's user context, optionally with a user already logged in. */
function contextOf(
  runtime: Runtime<AuthUserContext>,
  fields: Partial<AuthUserContext> = {},
): AuthUserContext {
  const context = runtime.newUserContext({
    pool: runtime.defaultPool(),
    clientId: 'client-1',
    routingId: 'r:abcdefghijklmnopqrst',
    peerIp: '198.51.100.1',
    contextPrefs: {},
  });
  return { ...context, ...fields };
}

async function connack(
  result: ConnectResult<AuthUserContext> | Promise<ConnectResult<AuthUserContext>>,
) {
  const settled = await result;
  if (settled.type !== 'connack') throw new Error(`expected a CONNACK, got ${settled.type}`);
  return settled;
}

/** Writes a users file with alice (wonderland) and bob (builder) into a fresh directory. */
async function usersFile(): Promise<string> {
  const file = join(await tempDir(), 'users');
  await addUser(file, 'alice', 'wonderland', TEST_COST);
  await addUser(file, 'bob', 'builder', TEST_COST);
  return file;
}

describe('createAuthRuntime with a users file: CONNECT', () => {
  let runtime: Runtime<AuthUserContext>;
  let open: Runtime<AuthUserContext>;
  beforeAll(async () => {
    const file = await usersFile();
    runtime = await createAuthRuntime({ usersFile: file });
    open = await createAuthRuntime({ usersFile: file, allowAnonymous: true });
  });

  it('accepts the right password on a new session; the username becomes the user', async () => {
    const packet = connectPacket({ username: 'alice', password: 'wonderland' });
    const result = await connack(runtime.connect(packet, false, connection, contextOf(runtime)));
    expect(result.reasonCode).toBe(0x00);
    expect(result.sessionPresent).toBe(false);
    expect(result.userContext.user).toBe('alice');
    expect(result.userContext.peerIp).toBe('192.0.2.7');
    expect(runtime.isAnonymousUser(result.userContext)).toBe(false);
  });

  it('accepts the same user again on their present session', async () => {
    const packet = connectPacket({ username: 'alice', password: 'wonderland' });
    const before = contextOf(runtime, { user: 'alice' });
    const result = await connack(runtime.connect(packet, true, connection, before));
    expect(result.reasonCode).toBe(0x00);
    expect(result.sessionPresent).toBe(true);
    expect(result.userContext.user).toBe('alice');
  });

  it.each<[string, { username?: string; password?: string | Buffer }, number]>([
    ['a wrong password', { username: 'alice', password: 'builder' }, 0x86],
    ["another user's password", { username: 'bob', password: 'wonderland' }, 0x86],
    ['an unknown user', { username: 'mallory', password: 'wonderland' }, 0x86],
    [
      'a vhost-prefixed username (not in the file)',
      { username: 'example:alice', password: 'wonderland' },
      0x86,
    ],
    ['a username without a password', { username: 'alice' }, 0x86],
    ['a username with an empty password', { username: 'alice', password: '' }, 0x86],
    ['a password without a username', { password: 'wonderland' }, 0x86],
    ['a password with an empty username', { username: '', password: 'wonderland' }, 0x86],
    ['no credentials (anonymous not allowed)', {}, 0x87],
    [
      'an empty username and password (anonymous not allowed)',
      { username: '', password: '' },
      0x87,
    ],
  ])('refuses %s', async (_name, credentials, code) => {
    const before = contextOf(runtime);
    const result = await connack(
      runtime.connect(connectPacket(credentials), false, connection, before),
    );
    expect(result.reasonCode).toBe(code);
    expect(result.userContext).toBe(before);
  });

  it('compares the password bytes: a binary password must match exactly', async () => {
    const good = connectPacket({ username: 'alice', password: Buffer.from('wonderland', 'utf8') });
    const bad = connectPacket({ username: 'alice', password: Buffer.from('wonderlanD', 'utf8') });
    expect(
      (await connack(runtime.connect(good, false, connection, contextOf(runtime)))).reasonCode,
    ).toBe(0);
    expect(
      (await connack(runtime.connect(bad, false, connection, contextOf(runtime)))).reasonCode,
    ).toBe(0x86);
  });

  it("refuses a user on another user's session with 0x87", async () => {
    const packet = connectPacket({ username: 'bob', password: 'builder' });
    const before = contextOf(runtime, { user: 'alice' });
    const result = await connack(runtime.connect(packet, true, connection, before));
    expect(result.reasonCode).toBe(0x87);
    expect(result.userContext).toBe(before);
  });

  it('accepts an anonymous client when anonymous clients are allowed', async () => {
    for (const credentials of [{}, { username: '', password: '' }]) {
      const result = await connack(
        open.connect(connectPacket(credentials), false, connection, contextOf(open)),
      );
      expect(result.reasonCode).toBe(0x00);
      expect(result.userContext.user).toBeUndefined();
      expect(open.isAnonymousUser(result.userContext)).toBe(true);
    }
  });

  it("refuses an anonymous client on a user's session, even when anonymous clients are allowed", async () => {
    const before = contextOf(open, { user: 'alice' });
    const result = await connack(open.connect(connectPacket(), true, connection, before));
    expect(result.reasonCode).toBe(0x87);
  });

  it('still checks passwords when anonymous clients are allowed', async () => {
    const packet = connectPacket({ username: 'alice', password: 'guess' });
    expect(
      (await connack(open.connect(packet, false, connection, contextOf(open)))).reasonCode,
    ).toBe(0x86);
  });

  it('refuses an Authentication Method with 0x8C, before looking at credentials', async () => {
    const auth = { properties: { authenticationMethod: 'SCRAM-SHA-256' } };
    for (const credentials of [
      { username: 'alice', password: 'wonderland' },
      { username: 'alice', password: 'x' },
      {},
    ]) {
      const result = await connack(
        runtime.connect(connectPacket(credentials, auth), false, connection, contextOf(runtime)),
      );
      expect(result.reasonCode).toBe(0x8c);
    }
  });

  it('answers an AUTH packet with 0x8C, as the default runtime does', async () => {
    const result = await connack(
      runtime.reauth({ cmd: 'auth', reasonCode: 0x19 }, 'reauthenticate', contextOf(runtime)),
    );
    expect(result.reasonCode).toBe(0x8c);
  });
});

describe('createAuthRuntime without a users file', () => {
  it('accepts anonymous clients', async () => {
    const runtime = await createAuthRuntime({});
    const result = await connack(
      runtime.connect(connectPacket(), false, connection, contextOf(runtime)),
    );
    expect(result.reasonCode).toBe(0x00);
  });

  it('ignores credentials: nobody can prove a name, so everybody is anonymous', async () => {
    const runtime = await createAuthRuntime({ aclFile });
    const packet = connectPacket({ username: 'alice', password: 'anything' });
    const result = await connack(runtime.connect(packet, false, connection, contextOf(runtime)));
    expect(result.reasonCode).toBe(0x00);
    expect(result.userContext.user).toBeUndefined();
    // So alice's rules do not apply to whoever claims her name.
    const request: Request = { action: 'subscribe', topic: 'chat/#', subscription: undefined };
    expect(runtime.isAllowed(request, result.userContext)).toBe(false);
  });

  it('refuses allowAnonymous: false, which would let no client connect', async () => {
    await expect(createAuthRuntime({ allowAnonymous: false })).rejects.toThrow(
      /needs a users file/,
    );
  });
});

describe('createAuthRuntime: access', () => {
  const publish = (topic: string): Request => ({
    action: 'publish',
    topic,
    message: { topic, payload: Buffer.from('x'), qos: 1, retain: false },
  });
  const subscribe = (topic: string): Request => ({
    action: 'subscribe',
    topic,
    subscription: { topic, qos: 1 },
  });
  const retained = (topic: string): Request => ({
    action: 'deliver-retained',
    topic,
    message: { topic, payload: Buffer.from('x'), qos: 0, retain: true },
  });

  it('allows everything without an ACL file', async () => {
    const runtime = await createAuthRuntime({ usersFile: await usersFile() });
    const anonymous = contextOf(runtime);
    for (const request of [publish('$SYS/x'), subscribe('#'), retained('a/b')]) {
      expect(runtime.isAllowed(request, anonymous)).toBe(true);
    }
  });

  describe('with the example ACL', () => {
    let runtime: Runtime<AuthUserContext>;
    beforeAll(async () => {
      runtime = await createAuthRuntime({
        usersFile: await usersFile(),
        aclFile,
        allowAnonymous: true,
      });
    });

    it.each<[string, Partial<AuthUserContext>, Request, boolean]>([
      ['alice publishes her sensors', { user: 'alice' }, publish('sensors/alice/temp'), true],
      ["alice publishes bob's sensors", { user: 'alice' }, publish('sensors/bob/temp'), false],
      ['anonymous publishes to sensors', {}, publish('sensors/alice/temp'), false],
      ['anonymous publishes public/{client id}', {}, publish('public/client-1'), true],
      [
        'a device publishes its own topics',
        { clientId: 'device-9' },
        publish('devices/device-9/x'),
        true,
      ],
      ['alice subscribes chat/+/x', { user: 'alice' }, subscribe('chat/+/x'), true],
      ['bob subscribes chat/#', { user: 'bob' }, subscribe('chat/#'), false],
      ['anonymous subscribes $SYS/#', {}, subscribe('$SYS/#'), true],
      ['anonymous subscribes #', {}, subscribe('#'), false],
      ['a shared subscription, on its filter', {}, subscribe('$share/g/public/+'), true],
      ['a shared subscription outside the rules', {}, subscribe('$share/g/chat/+'), false],
      ['anonymous gets a retained public message', {}, retained('public/news'), true],
      ['anonymous gets a retained $SYS message', {}, retained('$SYS/broker/uptime'), true],
      ['anonymous gets no retained chat message', {}, retained('chat/room-1'), false],
      [
        'bob gets a retained chat message one level down',
        { user: 'bob' },
        retained('chat/room-1'),
        true,
      ],
      [
        'bob gets no retained chat message two levels down',
        { user: 'bob' },
        retained('chat/room-1/x'),
        false,
      ],
      [
        'a retained message under $share is not a subscription',
        {},
        retained('$share/g/public/x'),
        false,
      ],
    ])('%s: %s', (_name, fields, request, expected) => {
      const allowed = runtime.isAllowed(request, contextOf(runtime, fields));
      // Synchronous: the ACL check is on every message's path.
      expect(allowed).toBe(expected);
    });

    it("lets server code (the pool's context with no routing id) publish and subscribe anywhere", () => {
      const server = runtime.newUserContext({
        pool: 'default',
        clientId: '',
        routingId: '',
        peerIp: undefined,
        contextPrefs: {},
      });
      expect(runtime.isAllowed(publish('$SYS/broker/uptime'), server)).toBe(true);
      expect(runtime.isAllowed(subscribe('$SYS/broker/top/request'), server)).toBe(true);
      expect(runtime.isAllowed(retained('chat/room-1'), server)).toBe(true);
    });
  });
});

describe('createAuthRuntime: the rest is the default runtime', () => {
  it('puts every session in the default pool, or the one given', async () => {
    const plain = await createAuthRuntime({});
    expect(plain.defaultPool()).toBe('default');
    const tenants = await createAuthRuntime({ defaultPool: 'tenants' });
    expect(tenants.defaultPool()).toBe('tenants');
    expect(await tenants.vhostPool('example.com')).toEqual({ ok: true, pool: 'tenants' });
  });

  it('makes the default user context and classifies sessions the same way', async () => {
    const runtime = await createAuthRuntime({});
    const context = runtime.newUserContext({
      pool: 'default',
      clientId: 'c',
      routingId: 'r:abcdefghijklmnopqrst',
      peerIp: undefined,
      contextPrefs: { origin: 'websocket', isCrawler: true },
    });
    expect(context).toMatchObject({
      clientId: 'c',
      user: undefined,
      origin: 'websocket',
      isCrawler: true,
    });
    expect(runtime.isWebsocketOrigin(context)).toBe(true);
    expect(runtime.isCrawler(context)).toBe(true);
    expect(runtime.ping(context)).toBe(context);
    expect(runtime.responseInformation(context)).toBeUndefined();
    expect(runtime.isValidMessage({ cmd: 'pingreq' }, undefined, context)).toBe(true);
  });
});

describe('createAuthRuntime: bad files', () => {
  it.each<[string, keyof AuthOptions, string, RegExp]>([
    [
      'a users file',
      'usersFile',
      '# users\nalice:wonderland\n',
      /:2: user alice: not an scrypt hash/,
    ],
    ['an ACL file', 'aclFile', '\n\nallow publish a/#/b\n', /:3: invalid topic pattern/],
  ])('refuses %s that does not parse, with file:line', async (_name, option, text, message) => {
    const file = join(await tempDir(), 'bad');
    await writeFile(file, text);
    const failure = createAuthRuntime({ [option]: file });
    await expect(failure).rejects.toThrow(message);
    await expect(failure).rejects.toThrow(new RegExp(`^${file}:`));
  });

  it('refuses a file it cannot read, naming it', async () => {
    const missing = join(await tempDir(), 'missing');
    await expect(createAuthRuntime({ usersFile: missing })).rejects.toThrow(
      `cannot read the users file ${missing}`,
    );
    await expect(createAuthRuntime({ aclFile: missing })).rejects.toThrow(
      `cannot read the ACL file ${missing}`,
    );
  });
});
