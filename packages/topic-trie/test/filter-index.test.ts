import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bindingsOf, FilterIndex, type TopicBindings } from '../src/index.js';
import { referenceMatch } from './reference.js';

function matches(index: FilterIndex<string>, topic: string): string[] {
  return index.collect(topic).sort();
}

function indexOf(filters: string[]): FilterIndex<string> {
  const index = new FilterIndex<string>();
  for (const filter of filters) index.add(filter, filter);
  return index;
}

describe('FilterIndex matching rules', () => {
  it('matches an exact filter only by the identical topic; levels are case sensitive', () => {
    const index = indexOf(['a/b', 'A/b', 'a/b/']);
    expect(matches(index, 'a/b')).toEqual(['a/b']);
    expect(matches(index, 'a/b/')).toEqual(['a/b/']);
    expect(matches(index, 'a')).toEqual([]);
  });

  it('+ matches exactly one level, an empty one included [MQTT-4.7.1-2]', () => {
    const index = indexOf(['a/+', '+/+', '+', 'a/+/c']);
    expect(matches(index, 'a/b')).toEqual(['+/+', 'a/+']);
    expect(matches(index, 'a/')).toEqual(['+/+', 'a/+']);
    expect(matches(index, 'a//c')).toEqual(['a/+/c']);
    expect(matches(index, 'a')).toEqual(['+']);
    expect(matches(index, 'a/b/c')).toEqual(['a/+/c']);
  });

  it('# matches the parent level and any number of child levels [MQTT-4.7.1-1]', () => {
    const index = indexOf(['a/#', '#', 'a/b/#']);
    expect(matches(index, 'a')).toEqual(['#', 'a/#']);
    expect(matches(index, 'a/b')).toEqual(['#', 'a/#', 'a/b/#']);
    expect(matches(index, 'a/b/c/d')).toEqual(['#', 'a/#', 'a/b/#']);
    expect(matches(index, 'b')).toEqual(['#']);
    expect(matches(index, '/')).toEqual(['#']);
  });

  it('never matches a $ topic with a leading wildcard [MQTT-4.7.2-1]', () => {
    const index = indexOf(['#', '+/broker', '+/#', '$SYS/#', '$SYS/+', '$SYS/broker']);
    expect(matches(index, '$SYS/broker')).toEqual(['$SYS/#', '$SYS/+', '$SYS/broker']);
    expect(matches(index, '$share')).toEqual([]);
    // Only the first level counts: a/$x is an ordinary topic.
    expect(matches(index, 'a/$x')).toEqual(['#', '+/#']);
  });

  it('visits a value once per matching filter', () => {
    const index = new FilterIndex<string>();
    index.add('a/+', 'client');
    index.add('a/#', 'client');
    index.add('a/b', 'client');
    expect(index.collect('a/b')).toEqual(['client', 'client', 'client']);
  });

  it('reports wildcard bindings for + and # through bindingsOf on the matched filter', () => {
    // The index stores what the caller gives it; a subscriber that needs the bindings keeps its
    // filter in the value.
    const index = new FilterIndex<{ name: string; filter: string }>();
    for (const [filter, name] of [
      ['test4/+/+/x/#', 'w'],
      ['test3/#', 'h'],
      ['plain', 'p'],
    ] as const) {
      index.add(filter, { name, filter });
    }
    const seen: [string, TopicBindings][] = [];
    for (const topic of ['test4/a/b/x/c/d', 'test3', 'plain']) {
      index.match(topic, ({ name, filter }) => seen.push([name, bindingsOf(filter, topic)]));
    }
    expect(seen).toEqual([
      ['w', { plus: ['a', 'b'], hash: ['c', 'd'] }],
      ['h', { plus: [], hash: [] }],
      ['p', { plus: [], hash: undefined }],
    ]);
  });

  it('survives a 10,000-level topic and filter without recursion', () => {
    const deep = Array.from({ length: 10_000 }, () => 'x').join('/');
    const index = indexOf(['#', `${deep.slice(0, -1)}+`, 'x/#']);
    expect(matches(index, deep)).toHaveLength(3);
  });
});

describe('FilterIndex bookkeeping', () => {
  it('adds and removes pairs, and reports duplicates and misses', () => {
    const index = new FilterIndex<number>();
    expect(index.add('a/+', 1)).toBe(true);
    expect(index.add('a/+', 1)).toBe(false);
    expect(index.add('a/+', 2)).toBe(true);
    expect(index.add('a/b', 1)).toBe(true);
    expect(index.size).toBe(3);
    expect(index.has('a/+', 2)).toBe(true);
    expect(index.valuesOf('a/+')).toEqual([1, 2]);
    expect(index.remove('a/+', 3)).toBe(false);
    expect(index.remove('x/+', 1)).toBe(false);
    expect(index.remove('a/+', 1)).toBe(true);
    expect(index.info()).toEqual({
      pairs: 2,
      filters: 2,
      exactFilters: 1,
      wildcardFilters: 1,
      nodes: 3,
    });
  });

  it('prunes trie nodes back to the root when the last filter goes', () => {
    const index = new FilterIndex<number>();
    index.add('a/b/+/d/#', 1);
    index.add('+/b', 1);
    expect(index.info().nodes).toBeGreaterThan(1);
    index.remove('a/b/+/d/#', 1);
    index.remove('+/b', 1);
    expect(index.info()).toEqual({
      pairs: 0,
      filters: 0,
      exactFilters: 0,
      wildcardFilters: 0,
      nodes: 1,
    });
  });

  it('removes one of many values of a filter in constant time and keeps the rest', () => {
    const index = new FilterIndex<number>();
    for (let i = 0; i < 1000; i++) index.add('a/#', i);
    for (let i = 0; i < 1000; i += 2) expect(index.remove('a/#', i)).toBe(true);
    expect(index.collect('a/x').sort((x, y) => x - y)).toEqual(
      Array.from({ length: 500 }, (_, i) => 2 * i + 1),
    );
  });

  it('clears everything', () => {
    const index = indexOf(['a', 'a/+', '#']);
    index.clear();
    expect(index.size).toBe(0);
    expect(index.collect('a')).toEqual([]);
    expect(index.info().nodes).toBe(1);
  });

  it('lets a visitor run a nested match on the same index', () => {
    const index = indexOf(['a/+', 'b/#']);
    const nested: string[] = [];
    index.match('a/x', () => index.match('b/y', (v) => nested.push(v)));
    expect(nested).toEqual(['b/#']);
  });
});

const level = fc.constantFrom('a', 'b', 'c', '', '$SYS', '$x', 'a$');
const topicArb = fc.array(level, { minLength: 1, maxLength: 5 }).map((l) => l.join('/'));
const filterArb = fc
  .tuple(fc.array(fc.oneof(level, fc.constant('+')), { minLength: 0, maxLength: 5 }), fc.boolean())
  .filter(([levels, hash]) => levels.length > 0 || hash)
  .map(([levels, hash]) => (hash ? [...levels, '#'] : levels).join('/'));

describe('FilterIndex against the reference matcher', () => {
  it('matches exactly the filters the reference matcher accepts', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(filterArb, { maxLength: 40 }),
        fc.array(topicArb),
        (filters, topics) => {
          const index = indexOf(filters);
          for (const topic of topics) {
            expect(matches(index, topic)).toEqual(
              filters.filter((f) => referenceMatch(f, topic)).sort(),
            );
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('stays right under random add/remove churn', () => {
    const op = fc.tuple(fc.boolean(), filterArb, fc.integer({ min: 0, max: 3 }));
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 120 }),
        fc.array(topicArb, { maxLength: 20 }),
        (ops, topics) => {
          const index = new FilterIndex<string>();
          const model = new Set<string>();
          for (const [add, filter, who] of ops) {
            const key = `${filter}\u0001${who}`;
            const value = `${who}@${filter}`;
            if (add) expect(index.add(filter, value)).toBe(!model.has(key));
            else expect(index.remove(filter, value)).toBe(model.has(key));
            if (add) model.add(key);
            else model.delete(key);
          }
          expect(index.size).toBe(model.size);
          for (const topic of topics) {
            const expected = [...model]
              .map((key) => key.split('\u0001') as [string, string])
              .filter(([filter]) => referenceMatch(filter, topic))
              .map(([filter, who]) => `${who}@${filter}`)
              .sort();
            expect(matches(index, topic)).toEqual(expected);
          }
          for (const key of model) {
            const [filter, who] = key.split('\u0001') as [string, string];
            index.remove(filter, `${who}@${filter}`);
          }
          expect(index.info()).toMatchObject({ pairs: 0, nodes: 1 });
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('FilterIndex at scale', () => {
  it('agrees with the reference matcher over thousands of filters, before and after removals', () => {
    // A small deterministic generator: enough filters to grow every hash table several times.
    let seed = 12345;
    const next = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const level = (): string => (next(8) === 0 ? '' : `l${next(60)}`);
    const filters = new Set<string>();
    while (filters.size < 4000) {
      const levels = Array.from({ length: 1 + next(5) }, level);
      const kind = next(10);
      if (kind < 2) levels[next(levels.length)] = '+';
      if (kind === 2) levels.push('#');
      filters.add(levels.join('/'));
    }
    const topics = Array.from({ length: 400 }, () =>
      Array.from({ length: 1 + next(6) }, level).join('/'),
    );
    const all = [...filters];
    const index = indexOf(all);
    const check = (live: string[]): void => {
      for (const topic of topics) {
        expect(matches(index, topic)).toEqual(live.filter((f) => referenceMatch(f, topic)).sort());
      }
    };
    check(all);
    const kept = all.filter((_, i) => i % 3 !== 0);
    for (const [i, filter] of all.entries())
      if (i % 3 === 0) expect(index.remove(filter, filter)).toBe(true);
    check(kept);
    for (const filter of kept) index.remove(filter, filter);
    expect(index.info()).toEqual({
      pairs: 0,
      filters: 0,
      exactFilters: 0,
      wildcardFilters: 0,
      nodes: 1,
    });
  });
});
