/** The fewest bytes a client id limit may allow: every server accepts 1-23 bytes [MQTT-3.1.3-5]. */
export const MIN_CLIENT_ID_LIMIT = 23;

/** The default longest client id, in UTF-8 bytes. */
export const DEFAULT_MAX_CLIENT_ID_BYTES = 256;

/** The longest UTF-8 string MQTT can carry, in bytes (a two-byte length prefix). */
export const MAX_UTF8_STRING_BYTES = 65_535;

/** Why a client id was refused. */
export type ClientIdErrorReason = 'empty' | 'too-long' | 'malformed-utf8' | 'null-character';

/** The outcome of {@link validateClientId}. */
export type ClientIdValidation =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: ClientIdErrorReason; readonly message: string };

/** Limits for {@link validateClientId}. */
export interface ClientIdLimits {
  /**
   * The longest client id accepted, in UTF-8 bytes: an integer from 23 to 65535. Default 256
   * ({@link DEFAULT_MAX_CLIENT_ID_BYTES}).
   */
  readonly maxLength?: number;
}

const VALID: ClientIdValidation = { ok: true };

function refuse(reason: ClientIdErrorReason, message: string): ClientIdValidation {
  return { ok: false, reason, message };
}

/**
 * Checks a client-supplied client identifier against the server's policy: any well-formed UTF-8
 * without U+0000, from 1 to `maxLength` bytes. MQTT requires a server to accept 1-23 bytes of
 * `[0-9a-zA-Z]` and lets it accept more [MQTT-3.1.3-5]; this policy accepts a superset of that.
 *
 * The empty id is reported as `'empty'`: the caller decides whether to assign an id
 * ({@link createClientId}) or to refuse the CONNECT.
 *
 * @param id The client id as decoded from CONNECT.
 * @param options `maxLength` in UTF-8 bytes, default 256.
 * @throws RangeError when `maxLength` is not an integer from 23 to 65535 (a configuration error).
 */
export function validateClientId(id: string, options: ClientIdLimits = {}): ClientIdValidation {
  const maxLength = options.maxLength ?? DEFAULT_MAX_CLIENT_ID_BYTES;
  if (
    !Number.isInteger(maxLength) ||
    maxLength < MIN_CLIENT_ID_LIMIT ||
    maxLength > MAX_UTF8_STRING_BYTES
  ) {
    throw new RangeError(
      `maxLength must be an integer from ${MIN_CLIENT_ID_LIMIT} to ${MAX_UTF8_STRING_BYTES}, got ${maxLength}`,
    );
  }
  if (id.length === 0) return refuse('empty', 'the client id is empty');
  // Every UTF-16 unit costs at least one UTF-8 byte: a cheap first cut for huge ids.
  if (id.length > maxLength) return tooLong(maxLength);
  let bytes = 0;
  for (let i = 0; i < id.length; i++) {
    const code = id.charCodeAt(i);
    if (code === 0) {
      // [MQTT-1.5.4-2] a UTF-8 string must not contain U+0000.
      return refuse('null-character', `the client id contains U+0000 at index ${i}`);
    }
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code < 0xd800 || code > 0xdfff) bytes += 3;
    else if (code <= 0xdbff && isLowSurrogate(id.charCodeAt(i + 1))) {
      bytes += 4;
      i++;
    } else {
      // [MQTT-1.5.4-1] a lone surrogate has no well-formed UTF-8 encoding.
      return refuse('malformed-utf8', `the client id has a lone surrogate at index ${i}`);
    }
    if (bytes > maxLength) return tooLong(maxLength);
  }
  return VALID;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

function tooLong(maxLength: number): ClientIdValidation {
  return refuse('too-long', `the client id is longer than ${maxLength} UTF-8 bytes`);
}
