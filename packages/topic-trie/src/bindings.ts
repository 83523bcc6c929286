/** What each wildcard of a filter captured from a concrete topic. */
export interface TopicBindings {
  /** The level each `+` matched, in filter order (an empty string for an empty level). */
  readonly plus: readonly string[];
  /** The levels `#` matched (possibly none), or `undefined` when the filter has no `#`. */
  readonly hash: readonly string[] | undefined;
}

const NONE: readonly string[] = Object.freeze([]);

/**
 * What the wildcards of `filter` captured from `topic`: the level of each `+`, and the levels `#`
 * matched (none when it matched only the parent level). Assumes the filter matches the topic, as
 * when a {@link FilterIndex} match delivers a message to a subscription.
 *
 * @example
 * ```ts
 * bindingsOf('sensors/+/+/#', 'sensors/kitchen/temp/raw/1');
 * // { plus: ['kitchen', 'temp'], hash: ['raw', '1'] }
 * bindingsOf('sensors/#', 'sensors'); // { plus: [], hash: [] }
 * ```
 */
export function bindingsOf(filter: string, topic: string): TopicBindings {
  if (!filter.includes('+') && !filter.includes('#')) return { plus: NONE, hash: undefined };
  const filterLevels = filter.split('/');
  const topicLevels = topic.split('/');
  const plus: string[] = [];
  for (let i = 0; i < filterLevels.length; i++) {
    if (filterLevels[i] === '#') return { plus, hash: topicLevels.slice(i) };
    if (filterLevels[i] === '+') plus.push(topicLevels[i] ?? '');
  }
  return { plus, hash: undefined };
}
