import { type TopicLimits, type TopicValidation, validateTopicFilter } from './validate.js';

/** A parsed `$share/{ShareName}/{filter}` subscription. */
export interface SharedSubscription {
  /** The share name: the group whose members take turns receiving messages. */
  readonly group: string;
  /** The topic filter the group subscribes to. */
  readonly filter: string;
}

/** The outcome of {@link parseSharedSubscription}. */
export type SharedSubscriptionParse =
  | { ok: true; shared: SharedSubscription | null }
  | { ok: false; reason: 'invalid-share-name' | 'missing-filter'; message: string }
  | Extract<TopicValidation, { ok: false }>;

const SHARE_PREFIX = '$share/';

/** True when a filter uses the shared-subscription syntax (it starts with `$share/`). */
export function isSharedFilter(filter: string): boolean {
  return filter.startsWith(SHARE_PREFIX);
}

/**
 * Parses and validates a subscription filter that may be shared. A plain filter gives
 * `shared: null`; `$share/{ShareName}/{filter}` gives the group and the inner filter, which is
 * validated as any filter. The share name is at least one character without `/`, `+` or `#`
 * [MQTT-4.8.2-1], [MQTT-4.8.2-2].
 */
export function parseSharedSubscription(
  filter: string,
  limits: TopicLimits = {},
): SharedSubscriptionParse {
  if (!isSharedFilter(filter)) return { ok: true, shared: null };
  const end = filter.indexOf('/', SHARE_PREFIX.length);
  const group = filter.slice(SHARE_PREFIX.length, end === -1 ? undefined : end);
  if (group.length === 0 || group.includes('+') || group.includes('#')) {
    return {
      ok: false,
      reason: 'invalid-share-name',
      message: 'a share name is one or more characters without /, + or #',
    };
  }
  if (end === -1) {
    return { ok: false, reason: 'missing-filter', message: 'a shared subscription needs a filter' };
  }
  const inner = filter.slice(end + 1);
  const valid = validateTopicFilter(inner, limits);
  if (!valid.ok) return valid;
  return { ok: true, shared: { group, filter: inner } };
}

/**
 * The filter a subscription matches topics with: the inner filter of `$share/{ShareName}/{filter}`,
 * or the filter itself when it is not shared. `undefined` for a malformed shared subscription (see
 * {@link parseSharedSubscription}), whose inner filter is validated with `limits`; a filter that is
 * not shared is returned as it is, unvalidated.
 *
 * @example
 * ```ts
 * unsharedFilter('$share/workers/jobs/+'); // 'jobs/+'
 * unsharedFilter('jobs/+'); // 'jobs/+'
 * unsharedFilter('$share/w+/jobs'); // undefined: a share name cannot hold a wildcard
 * ```
 */
export function unsharedFilter(filter: string, limits: TopicLimits = {}): string | undefined {
  if (!isSharedFilter(filter)) return filter;
  const parsed = parseSharedSubscription(filter, limits);
  return parsed.ok ? parsed.shared?.filter : undefined;
}
