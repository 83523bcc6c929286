import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TopicIndex } from '../src/index.js';
import { referenceMatch } from './reference.js';

function topicsOf(index: TopicIndex<unknown>, filter: string): string[] {
  return [...index.match(filter)].map((entry) => entry.topic).sort();
}

function indexOf(topics: string[]): TopicIndex<string> {
  const index = new TopicIndex<string>();
  for (const topic of topics) index.set(topic, `v:${topic}`);
  return index;
}

describe('TopicIndex', () => {
  it('sets, gets, replaces and deletes by topic', () => {
    const index = new TopicIndex<number>();
    index.set('a/b', 1);
    index.set('a/b', 2);
    expect(index.get('a/b')).toBe(2);
    expect(index.has('a')).toBe(false);
    expect(index.size).toBe(1);
    expect(index.delete('a/b')).toBe(true);
    expect(index.delete('a/b')).toBe(false);
    expect(index.get('a/b')).toBeUndefined();
    expect(index.info()).toEqual({ topics: 0, nodes: 1 });
  });

  it('matches exact filters, + and # with the filter rules [MQTT-4.7.1-1] [MQTT-4.7.1-2]', () => {
    const index = indexOf(['a', 'a/b', 'a/c', 'a//c', 'a/b/c', 'b/b']);
    expect(topicsOf(index, 'a/b')).toEqual(['a/b']);
    expect(topicsOf(index, 'a/+')).toEqual(['a/b', 'a/c']);
    expect(topicsOf(index, 'a/+/c')).toEqual(['a//c', 'a/b/c']);
    expect(topicsOf(index, 'a/#')).toEqual(['a', 'a//c', 'a/b', 'a/b/c', 'a/c']);
    expect(topicsOf(index, '+/b')).toEqual(['a/b', 'b/b']);
    expect(topicsOf(index, 'x/#')).toEqual([]);
  });

  it('keeps $ topics from leading wildcards [MQTT-4.7.2-1]', () => {
    const index = indexOf(['$SYS/uptime', '$SYS', 'a/$b', 'c']);
    expect(topicsOf(index, '#')).toEqual(['a/$b', 'c']);
    expect(topicsOf(index, '+')).toEqual(['c']);
    expect(topicsOf(index, '+/#')).toEqual(['a/$b', 'c']);
    expect(topicsOf(index, '$SYS/#')).toEqual(['$SYS', '$SYS/uptime']);
  });

  it('yields lazily: taking the first match does not walk the rest', () => {
    const index = new TopicIndex<number>();
    for (let i = 0; i < 10_000; i++) index.set(`a/${i}`, i);
    const iterator = index.match('a/#');
    const first = iterator.next();
    expect(first.done).toBe(false);
    iterator.return(undefined);
  });

  it('yields plain { topic, value } entries that later changes leave alone', () => {
    const index = indexOf(['a/b', 'a/c', '$SYS/x']);
    const wildcard = [...index.match('a/+')];
    const exact = [...index.match('a/b')];
    const everything = [...index.match('#')];
    const all = [...index.entries()];
    for (const entry of [...wildcard, ...exact, ...everything, ...all]) {
      expect(Object.keys(entry).sort()).toEqual(['topic', 'value']);
    }
    expect(exact).toEqual([{ topic: 'a/b', value: 'v:a/b' }]);
    expect(all.map((entry) => entry.topic).sort()).toEqual(['$SYS/x', 'a/b', 'a/c']);
    index.set('a/b', 'changed');
    index.delete('a/c');
    expect(exact[0]).toEqual({ topic: 'a/b', value: 'v:a/b' });
    expect(wildcard.map((entry) => entry.value).sort()).toEqual(['v:a/b', 'v:a/c']);
    expect([...index.match('a/+')]).toEqual([{ topic: 'a/b', value: 'changed' }]);
  });

  it('walks a 10,000-level topic without recursion', () => {
    const deep = Array.from({ length: 10_000 }, () => 'x').join('/');
    const index = indexOf([deep]);
    expect(topicsOf(index, '#')).toEqual([deep]);
    expect(topicsOf(index, 'x/+/#')).toEqual([deep]);
  });

  it('matches exactly what the reference matcher accepts, under set/delete churn', () => {
    const level = fc.constantFrom('a', 'b', '', '$SYS', '$x');
    const topic = fc.array(level, { minLength: 1, maxLength: 4 }).map((l) => l.join('/'));
    const filter = fc
      .tuple(fc.array(fc.oneof(level, fc.constant('+')), { maxLength: 4 }), fc.boolean())
      .filter(([levels, hash]) => levels.length > 0 || hash)
      .map(([levels, hash]) => (hash ? [...levels, '#'] : levels).join('/'));
    const op = fc.tuple(fc.boolean(), topic);
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 80 }),
        fc.array(filter, { maxLength: 20 }),
        (ops, filters) => {
          const index = new TopicIndex<string>();
          const model = new Set<string>();
          for (const [set, t] of ops) {
            if (set) {
              index.set(t, t);
              model.add(t);
            } else {
              expect(index.delete(t)).toBe(model.delete(t));
            }
          }
          expect(index.size).toBe(model.size);
          for (const f of filters) {
            expect(topicsOf(index, f)).toEqual(
              [...model].filter((t) => referenceMatch(f, t)).sort(),
            );
          }
          for (const t of model) index.delete(t);
          expect(index.info()).toEqual({ topics: 0, nodes: 1 });
        },
      ),
      { numRuns: 300 },
    );
  });
});
