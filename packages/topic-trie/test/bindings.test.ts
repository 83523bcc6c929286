import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bindingsOf } from '../src/index.js';

describe('bindingsOf', () => {
  it('captures the level of each + in filter order', () => {
    expect(bindingsOf('sensors/+/+/value', 'sensors/kitchen/temp/value')).toEqual({
      plus: ['kitchen', 'temp'],
      hash: undefined,
    });
    expect(bindingsOf('+', 'a')).toEqual({ plus: ['a'], hash: undefined });
  });

  it('captures an empty level as an empty string', () => {
    expect(bindingsOf('a/+/c', 'a//c')).toEqual({ plus: [''], hash: undefined });
    expect(bindingsOf('+/+', '/')).toEqual({ plus: ['', ''], hash: undefined });
  });

  it('captures the levels # matched, none when it matched only the parent level', () => {
    expect(bindingsOf('test4/+/+/x/#', 'test4/a/b/x/c/d')).toEqual({
      plus: ['a', 'b'],
      hash: ['c', 'd'],
    });
    expect(bindingsOf('test3/#', 'test3')).toEqual({ plus: [], hash: [] });
    expect(bindingsOf('#', 'a/b')).toEqual({ plus: [], hash: ['a', 'b'] });
    expect(bindingsOf('a/#', 'a/')).toEqual({ plus: [], hash: [''] });
  });

  it('captures nothing for a filter without wildcards', () => {
    expect(bindingsOf('plain/topic', 'plain/topic')).toEqual({ plus: [], hash: undefined });
  });

  it('puts the topic back together: filter levels with the captures in place give the topic', () => {
    const level = fc.constantFrom('a', 'b', '', 'x y', '$SYS');
    fc.assert(
      fc.property(
        fc.array(level, { minLength: 1, maxLength: 6 }),
        fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }),
        fc.nat({ max: 6 }),
        (topicLevels, wildcards, hashAt) => {
          // A filter that matches the topic: some levels made `+`, the rest from `hashAt` on `#`.
          const cut = Math.min(hashAt, topicLevels.length);
          const filterLevels = topicLevels
            .slice(0, cut)
            .map((topicLevel, i) => (wildcards[i] === true ? '+' : topicLevel));
          const hash = hashAt <= topicLevels.length;
          const filter = [...filterLevels, ...(hash ? ['#'] : [])].join('/');
          const topic = topicLevels.join('/');
          const { plus, hash: rest } = bindingsOf(filter, topic);
          const plusQueue = [...plus];
          const rebuilt = filterLevels.map((l) => (l === '+' ? plusQueue.shift() : l));
          expect(plusQueue).toEqual([]);
          expect([...rebuilt, ...(rest ?? [])].join('/')).toBe(topic);
          expect(rest === undefined).toBe(!hash);
        },
      ),
    );
  });
});
