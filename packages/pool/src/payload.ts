/**
 * Payload helpers keyed on the MQTT 5 Content Type (MQTT 5 section 3.3.2.3.9), after the
 * original library's conventions: JSON, plain text, integers, numbers and date-times.
 */

/** A payload and the content type that describes it. */
export interface EncodedPayload {
  readonly payload: Buffer;
  /** The content type chosen (or given); undefined for an empty payload. */
  readonly contentType: string | undefined;
}

/** The outcome of {@link decodePayload}: a value, or why the payload does not fit its type. */
export type DecodedPayload = { ok: true; value: unknown } | { ok: false; reason: string };

export const ContentType = {
  json: 'application/json',
  text: 'text/plain',
  binary: 'binary/octet-stream',
  integer: 'text/x-integer',
  number: 'text/x-number',
  datetime: 'text/x-datetime',
} as const;

const EMPTY = Buffer.alloc(0);

/**
 * Turns a JavaScript value into payload bytes. With a content type, the value is encoded for it;
 * without one, the type is guessed from the value: bytes stay bytes (`binary/octet-stream`), a
 * string is `text/plain`, an integer `text/x-integer`, another number `text/x-number`, a Date
 * `text/x-datetime` (ISO 8601), and booleans, arrays and objects `application/json`. `null` and
 * `undefined` give an empty payload.
 */
export function encodePayload(value: unknown, contentType?: string): EncodedPayload {
  if (value === undefined || value === null) return { payload: EMPTY, contentType };
  const type = contentType ?? guessContentType(value);
  if (Buffer.isBuffer(value)) return { payload: value, contentType: type };
  if (value instanceof Uint8Array) return { payload: Buffer.from(value), contentType: type };
  switch (type) {
    case ContentType.json:
      return { payload: Buffer.from(JSON.stringify(value)), contentType: type };
    case ContentType.datetime:
      return {
        payload: Buffer.from(value instanceof Date ? value.toISOString() : String(value)),
        contentType: type,
      };
    default:
      return { payload: Buffer.from(String(value)), contentType: type };
  }
}

/**
 * Turns payload bytes into a JavaScript value by content type: JSON is parsed, text becomes a
 * string, `text/x-integer` and `text/x-number` numbers, `text/x-datetime` a Date; anything else
 * (or no content type) stays bytes. An empty payload decodes to `undefined` whatever the type (a
 * retained "delete" stays a delete; the original stored `{}`). A payload that does not parse is an
 * error value, never an exception.
 */
export function decodePayload(payload: Buffer, contentType: string | undefined): DecodedPayload {
  if (payload.length === 0) return { ok: true, value: undefined };
  const text = () => payload.toString('utf8');
  switch (contentType) {
    case ContentType.json:
      try {
        return { ok: true, value: JSON.parse(text()) };
      } catch (error) {
        return { ok: false, reason: `invalid JSON: ${(error as Error).message}` };
      }
    case ContentType.text:
      return { ok: true, value: text() };
    case ContentType.integer: {
      const value = text().trim();
      if (!/^[+-]?\d+$/.test(value)) return { ok: false, reason: 'not an integer' };
      const number = Number(value);
      return Number.isSafeInteger(number)
        ? { ok: true, value: number }
        : { ok: true, value: BigInt(value) };
    }
    case ContentType.number: {
      const value = Number(text().trim());
      return Number.isNaN(value) ? { ok: false, reason: 'not a number' } : { ok: true, value };
    }
    case ContentType.datetime: {
      const value = new Date(text().trim());
      return Number.isNaN(value.getTime())
        ? { ok: false, reason: 'not a date-time' }
        : { ok: true, value };
    }
    default:
      return { ok: true, value: payload };
  }
}

function guessContentType(value: unknown): string {
  if (value instanceof Uint8Array) return ContentType.binary;
  if (value instanceof Date) return ContentType.datetime;
  switch (typeof value) {
    case 'string':
      return ContentType.text;
    case 'number':
      return Number.isInteger(value) ? ContentType.integer : ContentType.number;
    case 'bigint':
      return ContentType.integer;
    default:
      return ContentType.json;
  }
}
