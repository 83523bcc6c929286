/*
 * MQTT topic matching for ACL checks. A pattern is a topic filter; what it is checked against is
 * either a topic name (publish) or another filter (subscribe). One function answers both: a topic
 * name is a filter without wildcards, and "the pattern covers the filter" then reduces to "the
 * pattern matches the topic".
 */

/**
 * True when every topic that `filter` can match is matched by `pattern` (both given as levels).
 * For a topic name this is ordinary MQTT matching. The `$` rule holds on both sides: a pattern
 * starting with a wildcard matches no topic starting with `$` [MQTT-4.7.2-1], and a filter
 * starting with a wildcard can match none either, so `#` covers `+/x` but not `$SYS/#`.
 */
export function covers(pattern: readonly string[], filter: readonly string[]): boolean {
  for (let index = 0; ; index++) {
    const want = pattern[index];
    const got = filter[index];
    if (want === '#') {
      // `a/#` also matches `a` itself (its parent level), so a filter that ends here is covered.
      return !(index === 0 && got !== undefined && got.startsWith('$'));
    }
    if (want === undefined || got === undefined) return want === got;
    // A filter's `#` matches any depth, which only a pattern's `#` (handled above) covers.
    if (got === '#') return false;
    if (want === '+') {
      if (index === 0 && got.startsWith('$')) return false;
      continue;
    }
    // A literal pattern level covers the same literal only; a filter's `+` is wider than it.
    if (want !== got) return false;
  }
}

/** True for a valid topic name: not empty, no wildcard characters, no U+0000. */
export function isTopicName(topic: string): boolean {
  return topic.length > 0 && !/[+#]/.test(topic) && !topic.includes('\u0000');
}

/**
 * True for a valid topic filter: not empty, no U+0000, `+` only as a whole level, `#` only as
 * the whole last level.
 */
export function isTopicFilter(filter: string): boolean {
  if (filter.length === 0 || filter.includes('\u0000')) return false;
  const levels = filter.split('/');
  return levels.every((level, index) => {
    if (level === '#') return index === levels.length - 1;
    return level === '+' || !/[+#]/.test(level);
  });
}

/**
 * The filter a subscription is checked on: for `$share/{group}/{filter}` the inner filter, else
 * the filter itself. `undefined` for a malformed shared subscription (no group, a wildcard in
 * the group, or no filter), which no rule allows.
 */
export function subscriptionFilter(filter: string): string | undefined {
  if (!filter.startsWith('$share/')) return filter;
  const groupEnd = filter.indexOf('/', '$share/'.length);
  if (groupEnd === -1) return undefined;
  const group = filter.slice('$share/'.length, groupEnd);
  if (group.length === 0 || /[+#]/.test(group)) return undefined;
  const inner = filter.slice(groupEnd + 1);
  return inner.length === 0 ? undefined : inner;
}
