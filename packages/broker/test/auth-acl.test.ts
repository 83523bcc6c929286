import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { AuthFileError, isAllowedByAcl, parseAcl } from '../src/auth/index.js';
import { EXAMPLE_ACL } from './fixtures/auth/helpers.js';

type Who = { username: string | undefined; clientId: string };

const anonymous: Who = { username: undefined, clientId: 'anon-1' };
const alice: Who = { username: 'alice', clientId: 'alice-phone' };
const bob: Who = { username: 'bob', clientId: 'bob-laptop' };
const device: Who = { username: undefined, clientId: 'device-42' };
const gateway: Who = { username: undefined, clientId: 'gateway' };

/** One ACL line for everyone, then: may anonymous `action` this topic or filter? */
function allowedBy(rule: string, action: 'publish' | 'subscribe', topic: string, who = anonymous) {
  return isAllowedByAcl(parseAcl(rule), action, topic, who);
}

describe('the example ACL (test/fixtures/auth/example.acl)', async () => {
  const rules = parseAcl(await readFile(EXAMPLE_ACL, 'utf8'), 'example.acl');

  it('indexes its rules by section', () => {
    expect(rules.everyone.map((rule) => rule.line)).toEqual([4, 21, 22]);
    expect(rules.users.get('alice')?.map((rule) => rule.pattern)).toEqual([
      'sensors/%u/#',
      'chat/#',
    ]);
    expect(rules.users.get('bob')).toHaveLength(2);
    expect(rules.clients.get('gateway')).toHaveLength(1);
    expect(rules.clientPrefixes.get('device-')).toHaveLength(1);
  });

  it.each<[string, Who, 'publish' | 'subscribe', string, boolean]>([
    // Before any section and after `all`: everyone, anonymous clients included.
    ['everyone', anonymous, 'subscribe', '$SYS/#', true],
    ['everyone', anonymous, 'subscribe', '$SYS/broker/uptime', true],
    ['everyone', alice, 'subscribe', '$SYS/broker/+', true],
    ['everyone', anonymous, 'publish', '$SYS/broker/uptime', false],
    ['everyone', anonymous, 'subscribe', 'public/#', true],
    ['everyone', anonymous, 'publish', 'public/news', false],
    ['everyone, %c', anonymous, 'publish', 'public/anon-1', true],
    ['everyone, %c', anonymous, 'publish', 'public/anon-2', false],
    ['everyone, %c', alice, 'publish', 'public/alice-phone', true],
    // `user alice`.
    ['user, %u', alice, 'publish', 'sensors/alice/kitchen/temp', true],
    ['user, %u', alice, 'publish', 'sensors/alice', true],
    ['user, %u', alice, 'publish', 'sensors/bob/kitchen', false],
    ['user, %u', alice, 'subscribe', 'sensors/alice/#', false],
    ['user, both', alice, 'publish', 'chat/room-1', true],
    ['user, both', alice, 'subscribe', 'chat/#', true],
    ['user, both', alice, 'subscribe', 'chat/+/typing', true],
    ['only alice', bob, 'publish', 'chat/room-1', false],
    ['only alice', bob, 'publish', 'sensors/bob/kitchen', false],
    ['only alice', anonymous, 'subscribe', 'chat/room-1', false],
    ['only alice', { username: undefined, clientId: 'alice' }, 'publish', 'chat/room-1', false],
    // `user bob`: subscribe-only rules.
    ['user', bob, 'subscribe', 'chat/room-1', true],
    ['user', bob, 'subscribe', 'chat/+', true],
    ['user', bob, 'subscribe', 'chat/#', false],
    ['user, %u and %c', bob, 'subscribe', 'users/bob/inbox/bob-laptop', true],
    ['user, %u and %c', bob, 'subscribe', 'users/bob/inbox/bob-phone', false],
    ['user, %u and %c', bob, 'subscribe', 'users/bob/inbox/+', false],
    // `client device-*`: a prefix.
    ['client prefix, %c', device, 'publish', 'devices/device-42/temp', true],
    ['client prefix, %c', device, 'publish', 'devices/device-43/temp', false],
    [
      'client prefix',
      { username: undefined, clientId: 'device-' },
      'publish',
      'devices/device-/x',
      true,
    ],
    [
      'client prefix',
      { username: undefined, clientId: 'my-device-1' },
      'publish',
      'devices/my-device-1/x',
      false,
    ],
    [
      'client prefix',
      { username: 'alice', clientId: 'device-7' },
      'publish',
      'devices/device-7/x',
      true,
    ],
    [
      'client prefix and user',
      { username: 'alice', clientId: 'device-7' },
      'publish',
      'chat/x',
      true,
    ],
    // `client gateway`: an exact id.
    ['client', gateway, 'subscribe', 'devices/+/status', true],
    ['client', gateway, 'subscribe', 'devices/device-42/status', true],
    ['client', gateway, 'subscribe', 'devices/#', false],
    ['client', gateway, 'publish', 'devices/gateway/status', false],
    [
      'client',
      { username: undefined, clientId: 'gateway-2' },
      'subscribe',
      'devices/+/status',
      false,
    ],
  ])('%s: %o %s %s -> %s', (_kind, who, action, topic, expected) => {
    expect(isAllowedByAcl(rules, action, topic, who)).toBe(expected);
  });
});

describe('%u and %c', () => {
  const rules = parseAcl('allow both home/%u/#\nallow subscribe %c/#\nallow publish id-%c-x/%u');

  it('fill in the username and the client id, also inside a level', () => {
    const who = { username: 'eve', clientId: 'phone' };
    expect(isAllowedByAcl(rules, 'publish', 'home/eve/lights', who)).toBe(true);
    expect(isAllowedByAcl(rules, 'subscribe', 'phone/#', who)).toBe(true);
    expect(isAllowedByAcl(rules, 'publish', 'id-phone-x/eve', who)).toBe(true);
    expect(isAllowedByAcl(rules, 'publish', 'id-phone-x/bob', who)).toBe(false);
  });

  it('never apply %u to an anonymous client', () => {
    const who = { username: undefined, clientId: 'undefined' };
    expect(isAllowedByAcl(rules, 'publish', 'home/undefined/lights', who)).toBe(false);
    expect(isAllowedByAcl(rules, 'publish', 'home//lights', who)).toBe(false);
    expect(isAllowedByAcl(rules, 'publish', 'id-undefined-x/undefined', who)).toBe(false);
  });

  it.each<[string, Who, 'publish' | 'subscribe', string]>([
    ['a username of "+"', { username: '+', clientId: 'c' }, 'subscribe', 'home/alice/secret'],
    ['a username of "#"', { username: '#', clientId: 'c' }, 'publish', 'home/alice/secret'],
    ['a username with "/"', { username: 'eve/..', clientId: 'c' }, 'publish', 'home/eve/../x'],
    ['a username with "+"', { username: 'eve/+', clientId: 'c' }, 'subscribe', 'home/eve/+/x'],
    ['a client id of "+"', { username: undefined, clientId: '+' }, 'subscribe', 'alice/#'],
    ['a client id of "#"', { username: undefined, clientId: '#' }, 'subscribe', '#'],
    ['a client id with "/"', { username: undefined, clientId: 'a/b' }, 'subscribe', 'a/b/#'],
    [
      'a client id starting with "$"',
      { username: undefined, clientId: '$SYS' },
      'subscribe',
      '$SYS/#',
    ],
  ])('cannot be widened by %s', (_name, who, action, topic) => {
    expect(isAllowedByAcl(rules, action, topic, who)).toBe(false);
  });

  it('accept a "$" that is not the start of the pattern, and a "$" inside a value', () => {
    const who = { username: '$pecial', clientId: 'a$b' };
    expect(isAllowedByAcl(rules, 'publish', 'home/$pecial/x', who)).toBe(true);
    expect(isAllowedByAcl(rules, 'subscribe', 'a$b/x', who)).toBe(true);
  });
});

describe('subscribe: the pattern must cover the filter', () => {
  it.each<[string, string, boolean]>([
    ['chat/#', 'chat/#', true],
    ['chat/#', 'chat/+/x', true],
    ['chat/#', 'chat/a/b/c', true],
    ['chat/#', 'chat', true],
    ['chat/#', '#', false],
    ['chat/#', '+/x', false],
    ['chat/#', 'chatter', false],
    ['chat/+', 'chat/a', true],
    ['chat/+', 'chat/+', true],
    ['chat/+', 'chat/', true],
    ['chat/+', 'chat/#', false],
    ['chat/+', 'chat', false],
    ['chat/+', 'chat/a/b', false],
    ['chat/+/x', 'chat/+/x', true],
    ['chat/+/x', 'chat/a/+', false],
    ['chat/a', 'chat/a', true],
    ['chat/a', 'chat/+', false],
    ['chat/a', 'chat/a/#', false],
    ['+/+', 'a/b', true],
    ['+/+', '+/+', true],
    ['+/+', '+/#', false],
    ['#', '#', true],
    ['#', 'a/+/b', true],
    ['#', '/a', true],
    ['a/+/b', 'a//b', true],
  ])('%s covers %s: %s', (pattern, filter, expected) => {
    expect(allowedBy(`allow subscribe ${pattern}`, 'subscribe', filter)).toBe(expected);
  });

  it('never lets a publish rule grant a subscription, or a subscribe rule a publish', () => {
    expect(allowedBy('allow publish chat/#', 'subscribe', 'chat/a')).toBe(false);
    expect(allowedBy('allow subscribe chat/#', 'publish', 'chat/a')).toBe(false);
  });

  it('refuses an invalid filter even under #', () => {
    for (const filter of ['', 'a/#/b', 'a+', 'a/b#', '+a']) {
      expect(allowedBy('allow subscribe #', 'subscribe', filter)).toBe(false);
    }
  });
});

describe('the $ rule', () => {
  it.each<[string, 'publish' | 'subscribe', string, boolean]>([
    ['#', 'publish', '$SYS/broker', false],
    ['#', 'publish', '$x', false],
    ['#', 'subscribe', '$SYS/#', false],
    ['#', 'subscribe', '$SYS', false],
    ['+/#', 'publish', '$SYS/x', false],
    ['+/x', 'subscribe', '$SYS/x', false],
    ['#', 'subscribe', '+/x', true],
    ['$SYS/#', 'subscribe', '$SYS/broker/+', true],
    ['$SYS/#', 'subscribe', '#', false],
    ['$SYS/+', 'publish', '$SYS/x', true],
    ['a/#', 'publish', 'a/$x', true],
  ])('%s, %s %s: %s', (pattern, action, topic, expected) => {
    expect(allowedBy(`allow both ${pattern}`, action, topic)).toBe(expected);
  });
});

describe('publish: the pattern must match the topic', () => {
  it.each<[string, string, boolean]>([
    ['sport/#', 'sport', true],
    ['sport/#', 'sport/tennis/player1', true],
    ['sport/+', 'sport/', true],
    ['sport/+', 'sport', false],
    ['+/+', '/finance', true],
    ['+', '/finance', false],
    ['/+', '/finance', true],
    ['a/b', 'a/b', true],
    ['a/b', 'a/B', false],
  ])('%s matches %s: %s', (pattern, topic, expected) => {
    expect(allowedBy(`allow publish ${pattern}`, 'publish', topic)).toBe(expected);
  });

  it('leaves the level cap to the session: a 200-level topic is judged by the rules alone', () => {
    const deep = Array.from({ length: 200 }, (_, i) => `l${i}`).join('/');
    expect(allowedBy('allow both l0/#', 'publish', deep)).toBe(true);
    expect(allowedBy('allow both l0/#', 'subscribe', `$share/g/${deep}`)).toBe(true);
    expect(allowedBy(`allow publish ${deep}`, 'publish', deep)).toBe(true);
    expect(allowedBy('allow both other/#', 'publish', deep)).toBe(false);
  });

  it('refuses a topic with wildcards, which no publish may have', () => {
    expect(allowedBy('allow publish #', 'publish', 'a/+')).toBe(false);
    expect(allowedBy('allow publish #', 'publish', '#')).toBe(false);
    expect(allowedBy('allow publish #', 'publish', '')).toBe(false);
  });
});

describe('shared subscriptions', () => {
  const rules = parseAcl('allow subscribe chat/#');

  it.each<[string, boolean]>([
    ['$share/workers/chat/+', true],
    ['$share/workers/chat/#', true],
    ['$share/workers/other/#', false],
    ['$share/chat/#', false],
    ['$share/workers', false],
    ['$share/workers/', false],
    ['$share//chat/x', false],
    ['$share/w+/chat/x', false],
    ['$share/w/chat/#/x', false],
  ])('%s: %s', (filter, expected) => {
    expect(isAllowedByAcl(rules, 'subscribe', filter, anonymous)).toBe(expected);
  });
});

describe('parseAcl', () => {
  it('allows nothing with an empty file or only comments', () => {
    for (const text of ['', '# nothing\n\n   # at all\n']) {
      const rules = parseAcl(text);
      expect(isAllowedByAcl(rules, 'subscribe', 'a', anonymous)).toBe(false);
      expect(isAllowedByAcl(rules, 'publish', 'a', anonymous)).toBe(false);
    }
  });

  it('reads a lone # as the pattern "everything", and a # after it as a comment', () => {
    expect(allowedBy('allow subscribe #', 'subscribe', 'a/b')).toBe(true);
    expect(allowedBy('allow subscribe #   # every topic', 'subscribe', 'a/b')).toBe(true);
  });

  it('accepts indentation, tabs, Windows line endings and trailing comments', () => {
    const rules = parseAcl('user alice # she\r\n\tallow   publish\ta/b   #x\r\n');
    expect(rules.users.get('alice')?.[0]?.pattern).toBe('a/b');
    expect(isAllowedByAcl(rules, 'publish', 'a/b', alice)).toBe(true);
  });

  it('reads %% as a literal %', () => {
    expect(allowedBy('allow publish 100%%/done', 'publish', '100%/done')).toBe(true);
    expect(allowedBy('allow publish %%u', 'publish', '%u')).toBe(true);
  });

  it('adds up the rules of a section that appears twice', () => {
    const rules = parseAcl('user alice\nallow publish a\nall\nuser alice\nallow publish b');
    expect(isAllowedByAcl(rules, 'publish', 'a', alice)).toBe(true);
    expect(isAllowedByAcl(rules, 'publish', 'b', alice)).toBe(true);
    expect(isAllowedByAcl(rules, 'publish', 'b', bob)).toBe(false);
  });

  it('reads "client *" as every client id', () => {
    const rules = parseAcl('client *\nallow publish x/%c');
    expect(
      isAllowedByAcl(rules, 'publish', 'x/anything', { username: undefined, clientId: 'anything' }),
    ).toBe(true);
  });

  it('keeps a * that is not at the end of a client id literal', () => {
    const rules = parseAcl('client a*b\nallow publish x');
    expect(isAllowedByAcl(rules, 'publish', 'x', { username: undefined, clientId: 'a*b' })).toBe(
      true,
    );
    expect(isAllowedByAcl(rules, 'publish', 'x', { username: undefined, clientId: 'axb' })).toBe(
      false,
    );
  });

  it.each([
    ['allow publish', /"allow publish" needs a topic pattern/],
    ['allow read x', /expected "allow publish", "allow subscribe" or "allow both"/],
    ['allow', /expected "allow publish"/],
    ['allow publish a/#/b', /invalid topic pattern "a\/#\/b"/],
    ['allow publish a+', /invalid topic pattern/],
    ['allow publish #x', /invalid topic pattern/],
    ['allow subscribe $share/g/x', /without \$share/],
    ['allow publish a/%x', /unknown "%x"/],
    ['allow publish a/%', /unknown "%"/],
    ['deny publishes x', /expected "deny publish"/],
    ['users alice', /unknown keyword "users"/],
    ['user', /"user" needs a username/],
    ['user # alice', /"user" needs a username/],
    ['user ali:ce', /cannot contain ":"/],
    ['client', /"client" needs a client id/],
    ['all the rest', /unexpected "the"/],
    ['allow publish a b', /unexpected "b"/],
    ['allow subscribe # everything', /unexpected "everything"/],
  ])('refuses %j, naming the file and line', (bad, message) => {
    const text = `# rules\nallow subscribe a\n\n${bad}\nallow subscribe b\n`;
    let error: unknown;
    try {
      parseAcl(text, '/etc/mqtt/acl');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(AuthFileError);
    expect((error as AuthFileError).line).toBe(4);
    expect((error as Error).message).toMatch(/^\/etc\/mqtt\/acl:4: /);
    expect((error as Error).message).toMatch(message);
  });

  it('names the text "ACL file" when no source is given', () => {
    expect(() => parseAcl('nonsense')).toThrow(/^ACL file:1: unknown keyword/);
  });
});
