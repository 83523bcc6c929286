import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_TOPIC_LEVELS,
  isWildcardFilter,
  parseSharedSubscription,
  unsharedFilter,
  validateTopicFilter,
  validateTopicName,
} from '../src/index.js';

function reasonOf(result: ReturnType<typeof validateTopicName>): string | undefined {
  return result.ok ? undefined : result.reason;
}

describe('validateTopicName', () => {
  it('accepts plain names, empty levels and a leading or trailing slash [MQTT-4.7.1-1]', () => {
    for (const name of ['a', 'a/b/c', 'a//b', '/a', 'a/', '/', '$SYS/broker', 'ü/日本']) {
      expect(validateTopicName(name)).toEqual({ ok: true });
    }
  });

  it('refuses an empty name [MQTT-4.7.3-1]', () => {
    expect(reasonOf(validateTopicName(''))).toBe('empty');
  });

  it('refuses wildcard characters anywhere in a name [MQTT-4.7.0-1] [MQTT-3.3.2-2]', () => {
    for (const name of ['+', '#', 'a/+', 'a/#', 'a+b', 'a/b#']) {
      expect(reasonOf(validateTopicName(name))).toBe('wildcard-in-name');
    }
  });

  it('refuses U+0000 [MQTT-4.7.3-2] [MQTT-1.5.4-2]', () => {
    expect(reasonOf(validateTopicName('a/\u0000/b'))).toBe('null-character');
  });

  it('refuses malformed UTF-8 bytes and lone surrogates [MQTT-1.5.4-1]', () => {
    expect(reasonOf(validateTopicName(new Uint8Array([0x61, 0xc3, 0x28])))).toBe('malformed-utf8');
    // An encoded surrogate (U+D800 as ED A0 80) is not well-formed UTF-8 either.
    expect(reasonOf(validateTopicName(new Uint8Array([0xed, 0xa0, 0x80])))).toBe('malformed-utf8');
    expect(reasonOf(validateTopicName('a\ud800b'))).toBe('malformed-utf8');
    expect(validateTopicName(new TextEncoder().encode('a/ü'))).toEqual({ ok: true });
  });

  it('refuses names and filters longer than a smaller maxBytes, counting UTF-8 bytes', () => {
    expect(validateTopicName('a'.repeat(16), { maxBytes: 16 }).ok).toBe(true);
    expect(reasonOf(validateTopicName('a'.repeat(17), { maxBytes: 16 }))).toBe('too-long');
    expect(reasonOf(validateTopicName('€'.repeat(6), { maxBytes: 16 }))).toBe('too-long');
    expect(reasonOf(validateTopicFilter('a/+/'.repeat(5), { maxBytes: 16 }))).toBe('too-long');
    // Never beyond what MQTT can carry.
    expect(reasonOf(validateTopicName('a'.repeat(65536), { maxBytes: 100_000 }))).toBe('too-long');
  });

  it('refuses names longer than 65535 bytes, counting UTF-8 bytes [MQTT-4.7.3-3]', () => {
    expect(validateTopicName('a'.repeat(65535), { maxLevels: 1 })).toEqual({ ok: true });
    expect(reasonOf(validateTopicName('a'.repeat(65536)))).toBe('too-long');
    // 21,846 three-byte characters are 65,538 bytes.
    expect(reasonOf(validateTopicName('€'.repeat(21846)))).toBe('too-long');
    expect(reasonOf(validateTopicName(new Uint8Array(65536).fill(0x61)))).toBe('too-long');
  });

  it('refuses more levels than the cap, cheaply, without recursion', () => {
    const deep = Array.from({ length: 10_000 }, () => 'x').join('/');
    expect(reasonOf(validateTopicName(deep))).toBe('too-many-levels');
    expect(reasonOf(validateTopicFilter(deep))).toBe('too-many-levels');
    const atCap = Array.from({ length: DEFAULT_MAX_TOPIC_LEVELS }, () => 'x').join('/');
    expect(validateTopicName(atCap)).toEqual({ ok: true });
    expect(reasonOf(validateTopicName('a/b/c', { maxLevels: 2 }))).toBe('too-many-levels');
  });
});

describe('validateTopicFilter', () => {
  it('accepts whole-level wildcards [MQTT-4.7.1-1] [MQTT-4.7.1-2]', () => {
    for (const filter of ['#', '+', '+/+', 'a/#', '+/b/#', 'a/+/c', '/+', '+/', '//#', '$SYS/#']) {
      expect(validateTopicFilter(filter)).toEqual({ ok: true });
    }
  });

  it('refuses a wildcard sharing a level with other characters [MQTT-4.7.1-1] [MQTT-4.7.1-2]', () => {
    for (const filter of ['a+', '+a', 'a/b+/c', 'a#', '#a', 'a/#b', 'sport+']) {
      expect(reasonOf(validateTopicFilter(filter))).toBe('wildcard-not-whole-level');
    }
  });

  it('refuses # anywhere but the last level [MQTT-4.7.1-1]', () => {
    for (const filter of ['#/a', 'a/#/b', '#/#']) {
      expect(reasonOf(validateTopicFilter(filter))).toBe('hash-not-last');
    }
  });

  it('applies the encoding rules of names [MQTT-4.7.3-1] [MQTT-4.7.3-2]', () => {
    expect(reasonOf(validateTopicFilter(''))).toBe('empty');
    expect(reasonOf(validateTopicFilter('a/\u0000'))).toBe('null-character');
  });

  it('tells wildcard filters from exact ones', () => {
    expect(isWildcardFilter('a/+/b')).toBe(true);
    expect(isWildcardFilter('#')).toBe(true);
    expect(isWildcardFilter('a/b')).toBe(false);
    expect(isWildcardFilter('a+b/c#')).toBe(false);
  });
});

describe('parseSharedSubscription', () => {
  it('leaves a plain filter unshared', () => {
    expect(parseSharedSubscription('a/b')).toEqual({ ok: true, shared: null });
  });

  it('parses $share/{ShareName}/{filter} [MQTT-4.8.2-1]', () => {
    expect(parseSharedSubscription('$share/group/a/+/#')).toEqual({
      ok: true,
      shared: { group: 'group', filter: 'a/+/#' },
    });
    expect(parseSharedSubscription('$share/g/$SYS/#')).toEqual({
      ok: true,
      shared: { group: 'g', filter: '$SYS/#' },
    });
  });

  it('refuses an empty share name or one with a wildcard [MQTT-4.8.2-1] [MQTT-4.8.2-2]', () => {
    for (const filter of ['$share//a', '$share/g+/a', '$share/#/a', '$share/a#b/c']) {
      const result = parseSharedSubscription(filter);
      expect(result.ok).toBe(false);
      expect(result.ok ? '' : result.reason).toBe('invalid-share-name');
    }
  });

  it('refuses a share without a filter, or with an invalid one', () => {
    expect(parseSharedSubscription('$share/g')).toMatchObject({
      ok: false,
      reason: 'missing-filter',
    });
    expect(parseSharedSubscription('$share/g/')).toMatchObject({ ok: false, reason: 'empty' });
    expect(parseSharedSubscription('$share/g/a/#/b')).toMatchObject({
      ok: false,
      reason: 'hash-not-last',
    });
  });
});

describe('unsharedFilter', () => {
  it('gives the inner filter of a shared subscription and a plain filter as it is', () => {
    expect(unsharedFilter('$share/workers/jobs/+')).toBe('jobs/+');
    expect(unsharedFilter('$share/g/$SYS/#')).toBe('$SYS/#');
    expect(unsharedFilter('$share/g/$share/h/x')).toBe('$share/h/x');
    expect(unsharedFilter('jobs/+')).toBe('jobs/+');
    expect(unsharedFilter('$SYS/#')).toBe('$SYS/#');
    expect(unsharedFilter('$sharex/a')).toBe('$sharex/a');
  });

  it('gives undefined for a malformed shared subscription', () => {
    for (const filter of [
      '$share/workers',
      '$share/workers/',
      '$share//chat/x',
      '$share/w+/chat/x',
      '$share/w#/chat/x',
      '$share/w/chat/#/x',
      '$share/w/a+',
    ]) {
      expect(unsharedFilter(filter), filter).toBeUndefined();
    }
  });

  it('checks the inner filter against the level cap it is given', () => {
    expect(unsharedFilter('$share/g/a/b/c', { maxLevels: 2 })).toBeUndefined();
    expect(unsharedFilter('$share/g/a/b', { maxLevels: 2 })).toBe('a/b');
  });
});
