const DOLLAR = 0x24;

/**
 * How the Redis store answers one filter: an exact filter is one hash read; a wildcard filter is a
 * `ZRANGEBYLEX` walk over the topics that start with its literal prefix (the levels before the
 * first wildcard), each tested with {@link matchesPlan}.
 */
export interface FilterPlan {
  /** True when no level is `+` or `#`: the filter is the topic. */
  readonly exact: boolean;
  /** The filter's levels. */
  readonly levels: readonly string[];
  /** Every matching topic starts with this string. */
  readonly prefix: string;
  /** True when the first level is a wildcard, so `$` topics never match [MQTT-4.7.2-1]. */
  readonly excludeDollar: boolean;
}

/** A `ZRANGEBYLEX` interval: `min` and `max` in Redis's `[`/`(`/`-`/`+` syntax. */
export interface LexRange {
  readonly min: string;
  readonly max: string | Buffer;
}

/** Plans a filter. Any string is accepted; an invalid filter simply matches what it matches. */
export function planFilter(filter: string): FilterPlan {
  const levels = filter.split('/');
  let wildcard = -1;
  for (let i = 0; i < levels.length; i++) {
    if (levels[i] === '+' || levels[i] === '#') {
      wildcard = i;
      break;
    }
  }
  if (wildcard === -1) return { exact: true, levels, prefix: filter, excludeDollar: false };
  let prefix = '';
  if (wildcard > 0) {
    prefix = `${levels.slice(0, wildcard).join('/')}/`;
    // `a/#` also matches `a` itself, so its prefix stops before the slash.
    if (levels[wildcard] === '#') prefix = prefix.slice(0, -1);
  }
  return { exact: false, levels, prefix, excludeDollar: wildcard === 0 };
}

/**
 * True when the topic matches the planned filter, with the rules of topic-trie's `TopicIndex`:
 * `+` matches one level (an empty one too), `#` the parent level and every level below it, and a
 * leading wildcard no topic starting with `$` [MQTT-4.7.2-1].
 */
export function matchesPlan(plan: FilterPlan, topic: string): boolean {
  if (plan.excludeDollar && topic.charCodeAt(0) === DOLLAR) return false;
  const levels = plan.levels;
  let start = 0;
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i] as string;
    if (level === '#') return true;
    if (start > topic.length) return false; // the topic has fewer levels than the filter
    let end = topic.indexOf('/', start);
    if (end === -1) end = topic.length;
    if (level !== '+' && (end - start !== level.length || !topic.startsWith(level, start))) {
      return false;
    }
    start = end + 1;
  }
  return start === topic.length + 1; // and no levels are left over
}

/**
 * The lex intervals that hold every topic a wildcard filter can match, starting after the cursor
 * topic `after` when given. Byte 0xFF never occurs in UTF-8, so `prefix + 0xFF` bounds every topic
 * that starts with the prefix. A filter starting with a wildcard skips the `$` topics by leaving
 * out the interval [`$`, `%`).
 */
export function lexRanges(plan: FilterPlan, after: string | undefined): LexRange[] {
  if (plan.prefix !== '') {
    const max = Buffer.concat([Buffer.from(`(${plan.prefix}`, 'utf8'), Buffer.from([0xff])]);
    return [{ min: after === undefined ? `[${plan.prefix}` : `(${after}`, max }];
  }
  if (!plan.excludeDollar) return [{ min: after === undefined ? '-' : `(${after}`, max: '+' }];
  if (after === undefined) {
    return [
      { min: '-', max: '($' },
      { min: '[%', max: '+' },
    ];
  }
  if (after.charCodeAt(0) < DOLLAR || after === '') {
    return [
      { min: `(${after}`, max: '($' },
      { min: '[%', max: '+' },
    ];
  }
  return [{ min: `(${after}`, max: '+' }];
}
