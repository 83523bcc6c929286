/**
 * TopicIndex (filter -> stored topics, as for retained messages) against a linear scan over the
 * same topics with a filter matcher, the way a store without an index answers a SUBSCRIBE.
 */
import { formatDuration, formatRatio, formatTable, median } from '../../../tooling/bench/stats.ts';
import { TopicIndex } from '../src/index.js';
import { generateRetainedTopics, Random, RETAINED_FILTER_PATTERNS } from './workload.ts';

/**
 * A fair linear-scan matcher: the filter is split once, then each topic is compared level by level
 * in place, without splitting it. Applies the same rules as the indexes, `$` topics included.
 */
function compileFilter(filter: string): (topic: string) => boolean {
  const levels = filter.split('/');
  const hash = levels[levels.length - 1] === '#';
  if (hash) levels.pop();
  const leadingWildcard = levels.length === 0 || levels[0] === '+';
  return (topic) => {
    if (leadingWildcard && topic.charCodeAt(0) === 0x24) return false;
    let start = 0;
    for (let i = 0; i < levels.length; i++) {
      if (start > topic.length) return false; // the topic has fewer levels than the filter
      let end = topic.indexOf('/', start);
      if (end === -1) end = topic.length;
      const level = levels[i] as string;
      if (level !== '+') {
        if (end - start !== level.length || !topic.startsWith(level, start)) return false;
      }
      start = end + 1;
    }
    // `#` takes the rest (the parent level included); otherwise the topic must end here.
    return hash || start === topic.length + 1;
  };
}

export interface TopicBenchOptions {
  readonly topics: number;
  readonly filtersPerPattern: number;
  readonly rounds: number;
}

export function runTopicBench(options: TopicBenchOptions, log: (line: string) => void): void {
  const topics = generateRetainedTopics(options.topics, 0x5eed);
  const index = new TopicIndex<number>();
  // A store without an index keeps a Map of message objects; the scan reads each match's value
  // from its object, as a consumer of `TopicIndex.match` reads `entry.value`.
  const store = new Map<string, { readonly value: number }>();
  for (let i = 0; i < topics.length; i++) {
    index.set(topics[i] as string, i);
    store.set(topics[i] as string, { value: i });
  }

  const random = new Random(0xf11e);
  const rows: string[][] = [];
  for (const pattern of RETAINED_FILTER_PATTERNS) {
    const filters = Array.from({ length: options.filtersPerPattern }, () => pattern.make(random));
    const unique = [...new Set(filters)];
    let matchedTotal = 0;
    // Check first: both ways must find the same topics.
    for (const filter of unique) {
      const viaIndex = [...index.match(filter)].map((e) => e.value).sort((a, b) => a - b);
      const matcher = compileFilter(filter);
      const viaScan: number[] = [];
      store.forEach((message, topic) => {
        if (matcher(topic)) viaScan.push(message.value);
      });
      viaScan.sort((a, b) => a - b);
      if (viaIndex.join(',') !== viaScan.join(',')) {
        throw new Error(`TopicIndex and the scan differ for ${filter}`);
      }
      matchedTotal += viaIndex.length;
    }
    const trieTimes: number[] = [];
    const scanTimes: number[] = [];
    let sink = 0;
    // Time every drawn filter, repeats included, so that patterns with one distinct filter are
    // timed over as many runs as the others.
    for (let round = 0; round < options.rounds + 1; round++) {
      let start = performance.now();
      for (const filter of filters) {
        for (const entry of index.match(filter)) sink += entry.value;
      }
      const trieMs = (performance.now() - start) / filters.length;
      start = performance.now();
      for (const filter of filters) {
        const matcher = compileFilter(filter);
        store.forEach((message, topic) => {
          if (matcher(topic)) sink -= message.value;
        });
      }
      const scanMs = (performance.now() - start) / filters.length;
      if (round > 0) {
        trieTimes.push(trieMs);
        scanTimes.push(scanMs);
      }
    }
    if (sink !== 0) throw new Error('the scan and the index disagree');
    const trie = median(trieTimes);
    const scan = median(scanTimes);
    rows.push([
      pattern.name,
      `${unique.length}`,
      (matchedTotal / unique.length).toFixed(1),
      formatDuration(trie),
      formatDuration(scan),
      formatRatio(scan / trie),
    ]);
  }
  log(`\n### TopicIndex: ${options.topics.toLocaleString('en')} stored topics\n`);
  log(
    'Time per filter to iterate every matching topic: the lazy trie walk of `TopicIndex.match` ' +
      `against a scan of all ${options.topics.toLocaleString('en')} topics with a compiled matcher. ` +
      'The scan examines every topic (`Map.forEach` over message objects, no allocation); the ' +
      'trie visits only the ' +
      'nodes on paths the filter allows. Both are checked to find the same topics first.\n',
  );
  log(
    formatTable(
      [
        'filter pattern',
        'distinct filters',
        'topics matched per filter',
        'TopicIndex',
        'linear scan',
        'speed-up',
      ],
      rows,
    ),
  );
}
