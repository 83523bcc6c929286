/** Why a topic name or filter was refused. */
export type TopicErrorReason =
  | 'empty'
  | 'too-long'
  | 'too-many-levels'
  | 'null-character'
  | 'malformed-utf8'
  | 'wildcard-in-name'
  | 'wildcard-not-whole-level'
  | 'hash-not-last';

/** The outcome of a validation: never thrown, always returned. */
export type TopicValidation =
  | { ok: true }
  | { ok: false; reason: TopicErrorReason; message: string };

/** Limits for topic validation. */
export interface TopicLimits {
  /**
   * The most levels a topic or filter may have. A protection: matching cost grows with the level
   * count, and a hostile client can send 30,000 levels in one packet. Default 128.
   */
  maxLevels?: number;
  /** The longest topic or filter in UTF-8 bytes. Default (and most) 65,535. */
  maxBytes?: number;
}

/** Default cap on topic levels; see {@link TopicLimits.maxLevels}. */
export const DEFAULT_MAX_TOPIC_LEVELS = 128;

/** Topic names and filters are UTF-8 strings of at most 65,535 bytes [MQTT-1.5.4-1]. */
export const MAX_TOPIC_BYTES = 65535;

const SLASH = 0x2f;
const PLUS = 0x2b;
const HASH = 0x23;

const OK: TopicValidation = Object.freeze({ ok: true });

function fail(reason: TopicErrorReason, message: string): TopicValidation {
  return { ok: false, reason, message };
}

/** `String.prototype.isWellFormed` (Node 20+), typed here because the ES2023 lib lacks it. */
function isWellFormed(text: string): boolean {
  return (text as unknown as { isWellFormed(): boolean }).isWellFormed();
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Checks the encoding rules shared by names and filters and returns the topic as a string, or a
 * failed validation. Bytes are checked as strict UTF-8; strings must not hold lone surrogates,
 * which have no UTF-8 encoding [MQTT-1.5.4-1].
 */
function decode(input: string | Uint8Array, maxBytes: number): string | TopicValidation {
  let topic: string;
  if (typeof input === 'string') {
    topic = input;
    if (!isWellFormed(topic)) return fail('malformed-utf8', 'topic holds a lone surrogate');
  } else {
    if (input.length > maxBytes) return tooLong(maxBytes);
    try {
      topic = strictUtf8.decode(input);
    } catch {
      return fail('malformed-utf8', 'topic is not well-formed UTF-8');
    }
  }
  if (topic.length === 0) return fail('empty', 'topic is empty'); // [MQTT-4.7.3-1]
  // A UTF-16 unit encodes to at most 3 UTF-8 bytes, so short strings need no byte count.
  if (topic.length * 3 > maxBytes && Buffer.byteLength(topic, 'utf8') > maxBytes) {
    return tooLong(maxBytes);
  }
  if (topic.indexOf('\u0000') !== -1) {
    return fail('null-character', 'topic contains U+0000'); // [MQTT-4.7.3-2]
  }
  return topic;
}

function tooLong(maxBytes: number): TopicValidation {
  return fail('too-long', `topic is longer than ${maxBytes} bytes`);
}

function levelCapFailure(maxLevels: number): TopicValidation {
  return fail('too-many-levels', `topic has more than ${maxLevels} levels`);
}

/**
 * Validates a topic name, the topic of a PUBLISH: 1 to 65,535 bytes of well-formed UTF-8, no
 * U+0000 and no wildcard characters [MQTT-4.7.0-1], [MQTT-3.3.2-2]. Empty levels are allowed.
 *
 * @param input The topic as a string, or as the raw bytes from the wire (checked as strict UTF-8).
 * @param limits Optional limits; the level cap defaults to {@link DEFAULT_MAX_TOPIC_LEVELS}.
 */
export function validateTopicName(
  input: string | Uint8Array,
  limits: TopicLimits = {},
): TopicValidation {
  const topic = decode(input, Math.min(limits.maxBytes ?? MAX_TOPIC_BYTES, MAX_TOPIC_BYTES));
  if (typeof topic !== 'string') return topic;
  const maxLevels = limits.maxLevels ?? DEFAULT_MAX_TOPIC_LEVELS;
  let levels = 1;
  for (let i = 0; i < topic.length; i++) {
    const c = topic.charCodeAt(i);
    if (c === SLASH) {
      if (++levels > maxLevels) return levelCapFailure(maxLevels);
    } else if (c === PLUS || c === HASH) {
      return fail('wildcard-in-name', 'topic names must not contain + or #');
    }
  }
  return OK;
}

/**
 * Validates a topic filter, the topic of a SUBSCRIBE or UNSUBSCRIBE: the rules of a name, except
 * that `+` may stand as a whole level [MQTT-4.7.1-2] and `#` as the whole last level
 * [MQTT-4.7.1-1]. Empty levels are allowed.
 *
 * @param input The filter as a string, or as the raw bytes from the wire.
 * @param limits Optional limits; the level cap defaults to {@link DEFAULT_MAX_TOPIC_LEVELS}.
 */
export function validateTopicFilter(
  input: string | Uint8Array,
  limits: TopicLimits = {},
): TopicValidation {
  const filter = decode(input, Math.min(limits.maxBytes ?? MAX_TOPIC_BYTES, MAX_TOPIC_BYTES));
  if (typeof filter !== 'string') return filter;
  const maxLevels = limits.maxLevels ?? DEFAULT_MAX_TOPIC_LEVELS;
  let levels = 1;
  const last = filter.length - 1;
  for (let i = 0; i <= last; i++) {
    const c = filter.charCodeAt(i);
    if (c === SLASH) {
      if (++levels > maxLevels) return levelCapFailure(maxLevels);
      continue;
    }
    if (c !== PLUS && c !== HASH) continue;
    const wholeLevel =
      (i === 0 || filter.charCodeAt(i - 1) === SLASH) &&
      (i === last || filter.charCodeAt(i + 1) === SLASH);
    if (!wholeLevel) {
      return fail('wildcard-not-whole-level', 'a wildcard must occupy a whole level');
    }
    if (c === HASH && i !== last) {
      return fail('hash-not-last', 'the multi-level wildcard # must be the last level');
    }
  }
  return OK;
}

/** True when the filter has a `+` or `#` level. Assumes a valid filter. */
export function isWildcardFilter(filter: string): boolean {
  for (let i = 0; i < filter.length; i++) {
    const c = filter.charCodeAt(i);
    if (
      (c === PLUS || c === HASH) &&
      (i === 0 || filter.charCodeAt(i - 1) === SLASH) &&
      (i === filter.length - 1 || filter.charCodeAt(i + 1) === SLASH)
    ) {
      return true;
    }
  }
  return false;
}
