import { describe, expect, it } from 'vitest';
import {
  type ClientIdErrorReason,
  DEFAULT_MAX_CLIENT_ID_BYTES,
  validateClientId,
} from '../src/index.js';

const ALPHANUMERIC = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

describe('validateClientId', () => {
  it.each([
    ['a'],
    ['0'],
    ['Z'],
    [ALPHANUMERIC.slice(0, 23)],
    [ALPHANUMERIC.slice(39)],
    ['a'.repeat(23)],
  ])('accepts 1-23 bytes of [0-9a-zA-Z] [MQTT-3.1.3-5]: %j', (id) => {
    expect(validateClientId(id)).toEqual({ ok: true });
  });

  it.each([
    ['other ASCII', 'sensor/7:kitchen-1'],
    ['spaces', 'my client'],
    ['2-byte characters', 'café'],
    ['3-byte characters', '温度計'],
    ['4-byte characters (a surrogate pair)', 'sensor-😀'],
    ['longer than 23 bytes', ALPHANUMERIC],
    ['exactly the default 256 bytes', 'x'.repeat(DEFAULT_MAX_CLIENT_ID_BYTES)],
  ])('accepts more than the minimum, as the server may [MQTT-3.1.3-5]: %s', (_name, id) => {
    expect(validateClientId(id)).toEqual({ ok: true });
  });

  it.each<[string, string, ClientIdErrorReason]>([
    ['the empty id (the caller assigns one)', '', 'empty'],
    ['257 bytes', 'x'.repeat(257), 'too-long'],
    ['128 2-byte characters plus one byte', `${'é'.repeat(128)}x`, 'too-long'],
    ['a lone high surrogate [MQTT-1.5.4-1]', 'a\ud800b', 'malformed-utf8'],
    ['a lone high surrogate at the end [MQTT-1.5.4-1]', 'ab\ud83d', 'malformed-utf8'],
    ['a lone low surrogate [MQTT-1.5.4-1]', '\udc00', 'malformed-utf8'],
    ['U+0000 [MQTT-1.5.4-2]', 'a\u0000b', 'null-character'],
  ])('refuses %s', (_name, id, reason) => {
    const result = validateClientId(id);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.reason).toBe(reason);
      expect(result.message).toMatch(/client id/);
    }
  });

  it('counts UTF-8 bytes against maxLength, not characters', () => {
    expect(validateClientId('😀'.repeat(6), { maxLength: 24 }).ok).toBe(true);
    expect(validateClientId('😀'.repeat(6), { maxLength: 23 }).ok).toBe(false);
    expect(validateClientId('€'.repeat(8), { maxLength: 24 }).ok).toBe(true);
    expect(validateClientId('€'.repeat(9), { maxLength: 26 }).ok).toBe(false);
  });

  it('accepts maxLength up to 65535', () => {
    expect(validateClientId('x'.repeat(65_535), { maxLength: 65_535 }).ok).toBe(true);
    expect(validateClientId('x'.repeat(65_536), { maxLength: 65_535 }).ok).toBe(false);
  });

  it.each([[22], [0], [65_536], [23.5], [Number.NaN]])(
    'throws on a maxLength below the 23 bytes every server must accept, or otherwise invalid [MQTT-3.1.3-5]: %d',
    (maxLength) => {
      expect(() => validateClientId('a', { maxLength })).toThrow(RangeError);
    },
  );
});
