import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { filterCovers, filterCoversLevels } from '../src/index.js';
import { referenceMatch } from './reference.js';

describe('filterCovers', () => {
  it('lets a pattern # cover any filter below its parent, the parent itself included', () => {
    for (const filter of ['home/#', 'home/+', 'home/+/light', 'home', 'home/a/b/c', 'home//x']) {
      expect(filterCovers('home/#', filter), filter).toBe(true);
    }
    for (const filter of ['#', '+', '+/light', 'homes', 'garden/#']) {
      expect(filterCovers('home/#', filter), filter).toBe(false);
    }
  });

  it('lets a pattern + cover one level, + included, but never a filter #', () => {
    for (const filter of ['home/+/light', 'home/hall/light', 'home//light']) {
      expect(filterCovers('home/+/light', filter), filter).toBe(true);
    }
    for (const filter of ['home/#', 'home/+/#', 'home/+', 'home/+/light/x', 'home/+/+']) {
      expect(filterCovers('home/+/light', filter), filter).toBe(false);
    }
  });

  it('lets a literal level cover only the same literal, case and all', () => {
    expect(filterCovers('home/hall', 'home/hall')).toBe(true);
    expect(filterCovers('home/hall', 'home/Hall')).toBe(false);
    expect(filterCovers('home/hall', 'home/+')).toBe(false);
    expect(filterCovers('home/hall', 'home/hall/#')).toBe(false);
    expect(filterCovers('home/hall', 'home/hall/')).toBe(false);
  });

  it('keeps the $ rule on both sides [MQTT-4.7.2-1]', () => {
    // A leading wildcard in the pattern matches no $ topic...
    expect(filterCovers('#', '$SYS/uptime')).toBe(false);
    expect(filterCovers('+/uptime', '$SYS/uptime')).toBe(false);
    expect(filterCovers('#', '$SYS/#')).toBe(false);
    // ...and a leading wildcard in the filter matches none either, so no $ pattern is needed.
    expect(filterCovers('#', '+/uptime')).toBe(true);
    expect(filterCovers('$SYS/#', '#')).toBe(false);
    // Below the first level, $ is an ordinary character.
    expect(filterCovers('+/+', 'home/$hall')).toBe(true);
    expect(filterCovers('$SYS/+', '$SYS/uptime')).toBe(true);
  });

  it('gives the same answers on levels already split', () => {
    for (const [pattern, filter] of [
      ['home/#', 'home/+/light'],
      ['home/+', 'home/#'],
      ['#', '$SYS/x'],
      ['a', 'a'],
    ] as const) {
      expect(filterCoversLevels(pattern.split('/'), filter.split('/'))).toBe(
        filterCovers(pattern, filter),
      );
    }
  });

  it('is MQTT matching when the filter is a topic name', () => {
    const level = fc.constantFrom('a', 'b', '', '$SYS', '$x');
    const topic = fc.array(level, { minLength: 1, maxLength: 4 }).map((l) => l.join('/'));
    fc.assert(
      fc.property(filterOf(level), topic, (pattern, name) => {
        expect(filterCovers(pattern, name)).toBe(referenceMatch(pattern, name));
      }),
      { numRuns: 2000 },
    );
  });

  it('is true exactly when every topic the filter matches is matched by the pattern', () => {
    // Topics of up to five levels from the filters' own levels plus one that no filter names: if
    // some topic tells the two apart, one of these does (the filters have at most four levels).
    const level = fc.constantFrom('a', 'b', '', '$x');
    const universe = topicsUpTo(['a', 'b', '', '$x', 'z'], 5);
    fc.assert(
      fc.property(filterOf(level), filterOf(level), (pattern, filter) => {
        const widerEverywhere = universe.every(
          (topic) => !referenceMatch(filter, topic) || referenceMatch(pattern, topic),
        );
        // The one pair it errs on, on the safe side: every topic has a first level, so `+/#`
        // matches what `#` matches, but a filter's `#` is covered only by a pattern's `#`.
        const knownMiss = pattern === '+/#' && filter === '#';
        expect(filterCovers(pattern, filter)).toBe(widerEverywhere && !knownMiss);
      }),
      { numRuns: 3000 },
    );
  });

  it('does not report that +/# covers #, although it matches the same topics', () => {
    expect(filterCovers('+/#', '#')).toBe(false);
    expect(filterCovers('#', '+/#')).toBe(true);
  });
});

/** Valid filters of up to four levels drawn from `level`, `+` and a final `#`. */
function filterOf(level: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc
    .tuple(fc.array(fc.oneof(level, fc.constant('+')), { maxLength: 3 }), fc.boolean())
    .filter(([levels, hash]) => levels.length > 0 || hash)
    .map(([levels, hash]) => (hash ? [...levels, '#'] : levels).join('/'));
}

function topicsUpTo(levels: readonly string[], depth: number): string[] {
  const topics: string[] = [];
  let layer: string[][] = [[]];
  for (let d = 1; d <= depth; d++) {
    layer = layer.flatMap((prefix) => levels.map((level) => [...prefix, level]));
    topics.push(...layer.map((parts) => parts.join('/')));
  }
  return topics;
}
