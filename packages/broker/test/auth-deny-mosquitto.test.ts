/**
 * Deny rules, and the files of a Mosquitto deployment used as they are: its ACL format and its
 * password file (made here by the real `mosquitto_passwd` when it is installed).
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { filtersOverlap } from '../src/auth/acl-check.js';
import { isAllowedByAcl, parseAcl, parseUsersFile, verifyPassword } from '../src/auth/index.js';
import { connectClient, startBroker } from './helpers.js';

const anonymous = { username: undefined, clientId: 'anon' };
const alice = { username: 'alice', clientId: 'alice-1' };
const bob = { username: 'bob', clientId: 'bob-1' };

describe('deny rules', () => {
  const rules = parseAcl(
    [
      'deny both chat/secret/#',
      'allow both chat/#',
      'user alice',
      'deny publish chat/readonly',
    ].join('\n'),
  );
  it.each([
    [anonymous, 'publish', 'chat/room', true],
    [anonymous, 'publish', 'chat/secret/x', false],
    [anonymous, 'subscribe', 'chat/room/+', true],
    // Its messages would include the denied ones, so the whole filter is refused.
    [anonymous, 'subscribe', 'chat/#', false],
    [anonymous, 'subscribe', 'chat/+/x', false],
    [anonymous, 'subscribe', 'chat/secret', false],
    [alice, 'publish', 'chat/readonly', false],
    [alice, 'subscribe', 'chat/readonly', true],
    [bob, 'publish', 'chat/readonly', true],
  ] as const)('%j %s %s: %s', (who, action, topic, expected) => {
    expect(isAllowedByAcl(rules, action, topic, who)).toBe(expected);
  });

  it('filtersOverlap: some topic matches both', () => {
    const overlap = (a: string, b: string) => filtersOverlap(a.split('/'), b.split('/'));
    expect(overlap('a/#', 'a')).toBe(true);
    expect(overlap('a/+/c', 'a/b/+')).toBe(true);
    expect(overlap('a/+', 'a/b/c')).toBe(false);
    expect(overlap('a/b', 'a/c')).toBe(false);
    expect(overlap('#', '$SYS/x')).toBe(false);
    expect(overlap('+/x', '$SYS/x')).toBe(false);
    expect(overlap('$SYS/#', '$SYS/broker')).toBe(true);
  });
});

describe("Mosquitto's ACL format", () => {
  const rules = parseAcl(
    [
      '# a Mosquitto acl_file',
      'topic read public/#',
      'pattern readwrite devices/%c/#',
      'pattern deny devices/%c/firmware',
      'user alice',
      'topic readwrite alice/#',
      'topic write reports',
      'topic deny alice/private',
      'user bob',
      'topic bob/#',
    ].join('\n'),
  );
  it.each([
    // `topic` lines before any `user`: anonymous clients only.
    [anonymous, 'subscribe', 'public/news', true],
    [anonymous, 'publish', 'public/news', false],
    [alice, 'subscribe', 'public/news', false],
    // `pattern` lines: everyone, %c filled in.
    [anonymous, 'publish', 'devices/anon/state', true],
    [alice, 'publish', 'devices/alice-1/state', true],
    [alice, 'publish', 'devices/bob-1/state', false],
    [alice, 'publish', 'devices/alice-1/firmware', false],
    [alice, 'publish', 'alice/notes', true],
    [alice, 'publish', 'reports', true],
    [alice, 'subscribe', 'reports', false],
    [alice, 'subscribe', 'alice/private', false],
    [alice, 'subscribe', 'alice/#', false],
    [bob, 'subscribe', 'bob/x', true],
    [bob, 'publish', 'bob/x', true],
    [bob, 'publish', 'alice/notes', false],
  ] as const)('%j %s %s: %s', (who, action, topic, expected) => {
    expect(isAllowedByAcl(rules, action, topic, who)).toBe(expected);
  });
});

describe('parseAcl refuses', () => {
  it.each([
    ['allow both a\ntopic read b', /acl:2: the file mixes allow\/deny rules with Mosquitto/],
    ['topic', /acl:1: "topic" needs a topic/],
    ['user alice\ntopic read a b', /acl:2: unexpected "b"/],
  ])('%j', (text, message) => {
    expect(() => parseAcl(text, 'acl')).toThrow(message);
  });
});

function mosquittoPasswd(): string | undefined {
  try {
    return execFileSync('sh', ['-c', 'command -v mosquitto_passwd'], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

describe("Mosquitto's password file", () => {
  it('verifies $7$ (PBKDF2-SHA512) and $6$ (SHA-512) hashes', async () => {
    // alice/s3cret made by mosquitto_passwd 2.0; bob/hunter2 in the 1.x format.
    const seven =
      '$7$101$kOtnwJqb/e7LZTx0$EpdMMhwQXEZMqV+pT9QSCy5XIHKY8m1daXC8Im/iKchmQUAXyUkLLB/8MtCKHiga8qIWqmsqDDVHO0YqVC4X8Q==';
    expect(await verifyPassword('s3cret', seven)).toBe(true);
    expect(await verifyPassword('s3cret!', seven)).toBe(false);
    const { createHash } = await import('node:crypto');
    const salt = Buffer.from('0123456789ab');
    const six = `$6$${salt.toString('base64')}$${createHash('sha512').update('hunter2').update(salt).digest('base64')}`;
    expect(await verifyPassword('hunter2', six)).toBe(true);
    expect(await verifyPassword('hunter3', six)).toBe(false);
    expect(() => parseUsersFile('carol:$7$0$abc$def')).toThrow(/iteration count/);
    expect(() => parseUsersFile('carol:$6$c2FsdA==$c2hvcnQ=')).toThrow(/64 bytes/);
  });

  it.skipIf(mosquittoPasswd() === undefined)(
    'serves a file made by mosquitto_passwd: right passwords in, wrong ones 0x86',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'mqtt-sessions-mosquitto-'));
      const passwords = join(dir, 'passwd');
      const acl = join(dir, 'acl');
      execFileSync(mosquittoPasswd() as string, ['-c', '-b', passwords, 'alice', 's3cret']);
      execFileSync(mosquittoPasswd() as string, ['-b', passwords, 'bob', 'hunter2']);
      await writeFile(acl, 'user alice\ntopic readwrite alice/#\n');
      const broker = await startBroker({ wsPort: false, usersFile: passwords, aclFile: acl });
      try {
        const url = `mqtt://127.0.0.1:${broker.addresses().tcp}`;
        const good = await connectClient(url, {
          protocolVersion: 5,
          username: 'alice',
          password: 's3cret',
        });
        expect((await good.subscribeAsync('alice/inbox', { qos: 1 }))[0]?.qos).toBe(1);
        await expect(good.subscribeAsync('bob/inbox', { qos: 1 })).rejects.toThrow(
          'Not authorized',
        );
        good.end(true);
        const bobClient = await connectClient(url, { username: 'bob', password: 'hunter2' });
        bobClient.end(true);
        await expect(
          connectClient(url, { protocolVersion: 5, username: 'alice', password: 'wrong' }),
        ).rejects.toMatchObject({ code: 0x86 });
        await expect(
          connectClient(url, { protocolVersion: 5, username: 'nobody', password: 'x' }),
        ).rejects.toMatchObject({ code: 0x86 });
      } finally {
        await broker.close();
      }
    },
  );
});
