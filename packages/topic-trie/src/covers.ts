import { isDollarTopic } from './dollar-topics.js';

/**
 * True when every topic that `filter` can match is matched by `pattern`; both are valid topic
 * filters (see {@link validateTopicFilter}), or topic names. Access control needs this: a rule
 * `chat/#` allows a subscription to `chat/+/x`, and a rule `chat/+` does not allow `chat/#`. For
 * a topic name, which matches only itself, it is plain MQTT matching: `pattern` matches `filter`.
 *
 * The `$` rule holds on both sides: a pattern starting with a wildcard matches no topic starting
 * with `$` [MQTT-4.7.2-1], and a filter starting with a wildcard can match none either, so `#`
 * covers `+/x` but not `$SYS/#`, and `$SYS/#` does not cover `#`.
 *
 * It errs only on the safe side, and only once: `+/#` matches every topic that `#` matches (each
 * topic has a first level), but a filter's `#` counts as covered by a pattern's `#` alone.
 *
 * @example
 * ```ts
 * filterCovers('chat/#', 'chat/+/x'); // true
 * filterCovers('chat/+', 'chat/#'); // false: chat/# also matches chat/a/b
 * filterCovers('sport/+', 'sport/tennis'); // true: a topic name is matched
 * ```
 */
export function filterCovers(pattern: string, filter: string): boolean {
  return filterCoversLevels(pattern.split('/'), filter.split('/'));
}

/**
 * {@link filterCovers} on filters already split at `/`, for callers that split a pattern once and
 * check it many times (such as an ACL rule checked on every PUBLISH).
 */
export function filterCoversLevels(pattern: readonly string[], filter: readonly string[]): boolean {
  for (let index = 0; ; index++) {
    const want = pattern[index];
    const got = filter[index];
    if (want === '#') {
      // `a/#` also matches `a` itself (its parent level), so a filter that ends here is covered.
      return !(index === 0 && got !== undefined && isDollarTopic(got));
    }
    if (want === undefined || got === undefined) return want === got;
    // A filter's `#` matches any depth, which only a pattern's `#` (handled above) covers.
    if (got === '#') return false;
    if (want === '+') {
      if (index === 0 && isDollarTopic(got)) return false;
      continue;
    }
    // A literal pattern level covers the same literal only; a filter's `+` is wider than it.
    if (want !== got) return false;
  }
}
