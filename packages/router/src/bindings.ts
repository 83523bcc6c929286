import type { TopicBindings } from '@mqtt-sessions/topic-trie';

const NONE: readonly string[] = Object.freeze([]);

/**
 * What the wildcards of `filter` captured from `topic`: the level of each `+`, and the levels `#`
 * matched. Assumes the filter matches the topic.
 */
export function bindingsOf(filter: string, topic: string): TopicBindings {
  if (!filter.includes('+') && !filter.includes('#')) return { plus: NONE, hash: undefined };
  const f = filter.split('/');
  const t = topic.split('/');
  const plus: string[] = [];
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return { plus, hash: t.slice(i) };
    if (f[i] === '+') plus.push(t[i] ?? '');
  }
  return { plus, hash: undefined };
}
