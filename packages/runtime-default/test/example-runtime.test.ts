import { readFileSync } from 'node:fs';
import type { IPublishPacket } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import type { ConnectResult, DefaultUserContext } from '../src/index.js';
import { createExampleRuntime } from './example-runtime.js';
import { connection, connectPacket, userContext } from './helpers.js';

const runtime = createExampleRuntime(new Map([['alice', 's3cret']]));

async function reasonOf(
  result: ConnectResult<DefaultUserContext> | Promise<ConnectResult<DefaultUserContext>>,
): Promise<number | string> {
  const settled = await result;
  return settled.type === 'connack' ? settled.reasonCode : settled.type;
}

function publishTo(topic: string): IPublishPacket {
  return { cmd: 'publish', topic, payload: Buffer.from('x'), qos: 0, dup: false, retain: false };
}

describe('the example runtime of the README', () => {
  it('is the same code in the README as in test/example-runtime.ts', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const example = readFileSync(new URL('./example-runtime.ts', import.meta.url), 'utf8');
    expect(readme).toContain(`\`\`\`ts\n${example}\`\`\``);
  });

  it('accepts the right password and makes the username the session user', async () => {
    const packet = connectPacket({ username: 'alice', password: Buffer.from('s3cret') });
    const result = await runtime.connect(packet, false, connection, userContext());
    expect(result).toMatchObject({
      type: 'connack',
      reasonCode: 0,
      userContext: { user: 'alice' },
    });
  });

  it.each([
    ['a wrong password', { username: 'alice', password: Buffer.from('guess') }],
    ['a longer password', { username: 'alice', password: Buffer.from('s3cret!') }],
    ['an unknown user', { username: 'bob', password: Buffer.from('s3cret') }],
    ['no password', { username: 'alice' }],
    ['no credentials', {}],
  ])('refuses %s with 0x86 Bad User Name or Password', async (_name, fields) => {
    expect(
      await reasonOf(runtime.connect(connectPacket(fields), false, connection, userContext())),
    ).toBe(0x86);
  });

  it('refuses a username that is not a single topic level', async () => {
    const sneaky = createExampleRuntime(new Map([['a/+', 'pw']]));
    const packet = connectPacket({ username: 'a/+', password: Buffer.from('pw') });
    expect(await reasonOf(sneaky.connect(packet, false, connection, userContext()))).toBe(0x86);
  });

  it('leaves the rest of the decision to the default runtime', async () => {
    const packet = connectPacket({ username: 'alice', password: Buffer.from('s3cret') });
    const taken = userContext({ user: 'carol' });
    expect(await reasonOf(runtime.connect(packet, true, connection, taken))).toBe(0x87);
    expect(runtime.isAnonymousUser(userContext())).toBe(true);
  });

  it('lets users publish and subscribe under users/{username}/ only', async () => {
    const alice = userContext({ user: 'alice' });
    const allowed = (topic: string, context = alice) =>
      runtime.isAllowed({ action: 'publish', topic, message: publishTo(topic) }, context);
    const subscribe = (topic: string) =>
      runtime.isAllowed({ action: 'subscribe', topic, subscription: undefined }, alice);
    expect(await allowed('users/alice/temperature')).toBe(true);
    expect(await allowed('users/alice')).toBe(true);
    expect(await allowed('users/bob/temperature')).toBe(false);
    expect(await allowed('users/alicex/temperature')).toBe(false);
    expect(await allowed('other/topic')).toBe(false);
    expect(await allowed('users/alice/x', userContext())).toBe(false);
    expect(await subscribe('users/alice/#')).toBe(true);
    expect(await subscribe('users/+/#')).toBe(false);
    expect(await subscribe('#')).toBe(false);
    expect(await subscribe('$share/group/users/alice/#')).toBe(false);
  });
});
