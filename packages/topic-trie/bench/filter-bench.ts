/**
 * FilterIndex against qlobber (Qlobber, QlobberDedup) and mqemitter: the same subscriptions, the
 * same lookups, results checked equal before anything is timed.
 */
import mqemitter from 'mqemitter';
import { Qlobber, QlobberDedup, type QlobberOptions } from 'qlobber';
import {
  formatBytes,
  formatDuration,
  formatRate,
  formatRatio,
  formatTable,
  median,
  summarize,
} from '../../../tooling/bench/stats.ts';
import {
  type Candidate,
  pairedRatio,
  type RoundResults,
  retainedBytes,
  timeRounds,
} from '../../../tooling/bench/timing.ts';
import { FilterIndex } from '../src/index.js';
import {
  type FilterSpec,
  generateFilters,
  generateLookups,
  type Lookups,
  lookupAt,
  type Subscription,
  subscriptionsOf,
} from './workload.ts';

/** MQTT rules for qlobber: `+` matches one level, an empty one too; `#` the parent and below. */
const QLOBBER_MQTT: QlobberOptions = {
  separator: '/',
  wildcard_one: '+',
  wildcard_some: '#',
  match_empty_levels: true,
  // Defaults are 100 words and 3 `#`; MQTT allows any level count, our topics have at most 7.
  max_words: 1000,
};

type Emitter = ReturnType<typeof mqemitter>;
type Listener = Parameters<Emitter['on']>[1];

// What the hot loops add up, so that no implementation's work can be optimised away, and so that
// every round can be checked: all implementations must see the same count and id sum.
let hits = 0;
let idSum = 0;
// Set only while verifying: mqemitter's listeners record the ids they are called for here.
let recording: number[] | null = null;

function visit(id: number): void {
  hits++;
  idSum += id;
}

/** One listener per subscription, as a broker on mqemitter registers one per client filter. */
function listenerFor(id: number): Listener {
  return (_message, done) => {
    hits++;
    idSum += id;
    if (recording !== null) recording.push(id);
    done();
  };
}

// One loop per implementation (not one shared loop calling a function argument), so that each
// call site sees one implementation and V8 optimises each as a real caller would.

function loopDecodeOnly(
  lookups: Lookups,
  strings: readonly string[] | undefined,
  from: number,
  to: number,
): number {
  for (let i = from; i < to; i++) {
    const topic = strings === undefined ? lookupAt(lookups, i) : (strings[i] as string);
    hits += topic.length;
  }
  return to - from;
}

function loopFilterIndex(
  index: FilterIndex<number>,
  lookups: Lookups,
  strings: readonly string[] | undefined,
  from: number,
  to: number,
): number {
  for (let i = from; i < to; i++) {
    const topic = strings === undefined ? lookupAt(lookups, i) : (strings[i] as string);
    index.match(topic, visit);
  }
  return to - from;
}

function loopFilterIndexCollect(
  index: FilterIndex<number>,
  lookups: Lookups,
  strings: readonly string[] | undefined,
  from: number,
  to: number,
): number {
  for (let i = from; i < to; i++) {
    const topic = strings === undefined ? lookupAt(lookups, i) : (strings[i] as string);
    const ids = index.collect(topic);
    for (let j = 0; j < ids.length; j++) visit(ids[j] as number);
  }
  return to - from;
}

function loopQlobber(
  qlobber: Qlobber<number>,
  lookups: Lookups,
  strings: readonly string[] | undefined,
  from: number,
  to: number,
): number {
  for (let i = from; i < to; i++) {
    const topic = strings === undefined ? lookupAt(lookups, i) : (strings[i] as string);
    const ids = qlobber.match(topic);
    for (let j = 0; j < ids.length; j++) visit(ids[j] as number);
  }
  return to - from;
}

function loopQlobberDedup(
  qlobber: QlobberDedup<number>,
  lookups: Lookups,
  strings: readonly string[] | undefined,
  from: number,
  to: number,
): number {
  for (let i = from; i < to; i++) {
    const topic = strings === undefined ? lookupAt(lookups, i) : (strings[i] as string);
    for (const id of qlobber.match(topic)) visit(id);
  }
  return to - from;
}

function loopMqemitter(
  emitter: Emitter,
  lookups: Lookups,
  strings: readonly string[] | undefined,
  from: number,
  to: number,
): number {
  for (let i = from; i < to; i++) {
    const topic = strings === undefined ? lookupAt(lookups, i) : (strings[i] as string);
    emitter.emit({ topic });
  }
  return to - from;
}

function buildFilterIndex(subscriptions: readonly Subscription[]): FilterIndex<number> {
  const index = new FilterIndex<number>();
  for (const { filter, id } of subscriptions) index.add(filter, id);
  return index;
}

function buildQlobber(subscriptions: readonly Subscription[]): Qlobber<number> {
  const qlobber = new Qlobber<number>(QLOBBER_MQTT);
  for (const { filter, id } of subscriptions) qlobber.add(filter, id);
  return qlobber;
}

function buildQlobberDedup(subscriptions: readonly Subscription[]): QlobberDedup<number> {
  const qlobber = new QlobberDedup<number>(QLOBBER_MQTT);
  for (const { filter, id } of subscriptions) qlobber.add(filter, id);
  return qlobber;
}

function buildMqemitter(
  subscriptions: readonly Subscription[],
  listeners: readonly Listener[],
): Emitter {
  // mqemitter's defaults are MQTT's: '/', '+', '#', and `+` matching empty levels.
  const emitter = mqemitter({ matchEmptyLevels: true });
  for (const { filter, id } of subscriptions) emitter.on(filter, listeners[id] as Listener);
  return emitter;
}

/** The ids each implementation finds for a topic, sorted, for comparison. */
interface Built {
  readonly ours: FilterIndex<number>;
  readonly qlobber: Qlobber<number>;
  readonly dedup: QlobberDedup<number>;
  readonly emitter: Emitter;
}

function sortedIds(ids: Iterable<number>): string {
  return [...ids].sort((a, b) => a - b).join(',');
}

/** Compares every implementation on the first `sample` lookups; throws on the first difference. */
function verify(built: Built, lookups: Lookups, sample: number): { hitRate: number; mean: number } {
  let matched = 0;
  let total = 0;
  for (let i = 0; i < Math.min(sample, lookups.count); i++) {
    const topic = lookupAt(lookups, i);
    const ours = built.ours.collect(topic);
    const expected = sortedIds(ours);
    recording = [];
    built.emitter.emit({ topic });
    const fromEmitter = recording;
    recording = null;
    const others: [string, Iterable<number>][] = [
      ['Qlobber', built.qlobber.match(topic)],
      ['QlobberDedup', built.dedup.match(topic)],
      ['mqemitter', fromEmitter],
    ];
    for (const [name, ids] of others) {
      const got = sortedIds(ids);
      if (got !== expected) {
        throw new Error(`results differ for ${topic}: FilterIndex [${expected}], ${name} [${got}]`);
      }
    }
    if (ours.length > 0) matched++;
    total += ours.length;
  }
  const n = Math.min(sample, lookups.count);
  return { hitRate: matched / n, mean: total / n };
}

export interface FilterBenchOptions {
  readonly sizes: readonly number[];
  readonly lookups: number;
  readonly rounds: number;
  readonly warmup: number;
  /** Parts each round is cut into, taken in turns by the candidates. */
  readonly slices: number;
  readonly verifySample: number;
  /** Build the peers' structures before ours (the default builds ours first). */
  readonly peersFirst: boolean;
  /** Also time with topic strings reused across lookups (hashes cached), as many benchmarks do. */
  readonly reusedStrings: boolean;
}

interface Row {
  readonly name: string;
  readonly peer: boolean;
  readonly ours: boolean;
  bytesPerSub: number;
  buildMs: number;
}

/** Runs the comparison for each size and logs Markdown. */
export function runFilterBench(options: FilterBenchOptions, log: (line: string) => void): void {
  for (const size of options.sizes) {
    const specs: FilterSpec[] = generateFilters(size, 0xc0ffee + size);
    const subscriptions = subscriptionsOf(specs);
    const lookups = generateLookups(specs, options.lookups, 0xbadcafe + size);
    const kinds = { exact: 0, plus: 0, hash: 0 };
    for (const spec of specs) kinds[spec.kind]++;
    // Listener closures exist before mqemitter is measured: a broker has its client objects anyway.
    const listeners = subscriptions.map(({ id }) => listenerFor(id));

    const rows: Row[] = [];
    const build = (): FilterIndex<number> => buildFilterIndex(subscriptions);
    const measure = <T>(name: string, peer: boolean, build: () => T): T => {
      const start = performance.now();
      const { bytes, value } = retainedBytes(build);
      const buildMs = performance.now() - start;
      rows.push({ name, peer, ours: !peer, bytesPerSub: bytes / subscriptions.length, buildMs });
      return value;
    };
    // Each structure is built alone between two full GCs; the earlier ones stay alive, which
    // does not change the growth that the next one causes.
    // `peersFirst` builds ours last, to show that the results do not hinge on build order.
    let ours = options.peersFirst ? undefined : measure('FilterIndex.match', false, build);
    const qlobber = measure('Qlobber.match', true, () => buildQlobber(subscriptions));
    const dedup = measure('QlobberDedup.match', true, () => buildQlobberDedup(subscriptions));
    const emitter = measure('mqemitter.emit', true, () => buildMqemitter(subscriptions, listeners));
    ours ??= measure('FilterIndex.match', false, build);
    const built: Built = { ours, qlobber, dedup, emitter };

    const check = verify(built, lookups, options.verifySample);

    const info = ours.info();
    log(`\n### FilterIndex: ${size.toLocaleString('en')} filters\n`);
    log(
      `${subscriptions.length.toLocaleString('en')} subscriptions on ${info.filters.toLocaleString('en')} ` +
        `distinct filters (${kinds.exact} exact, ${kinds.plus} with +, ${kinds.hash} with #; ` +
        `${info.nodes.toLocaleString('en')} trie nodes); ` +
        `${options.lookups.toLocaleString('en')} lookups per round, ` +
        `${(check.hitRate * 100).toFixed(0)} % of them match, ${check.mean.toFixed(2)} values per lookup on average. ` +
        `Results checked equal on ${Math.min(options.verifySample, options.lookups).toLocaleString('en')} lookups ` +
        `before timing, and by count and id sum on every timed round.\n`,
    );

    // Every candidate runs the same lookups, so over a whole timing they must add up to the same
    // count and id sum; that catches any divergence that the sampled check above missed.
    const totals = new Map<string, { hits: number; idSum: number }>();
    const candidatesFor = (strings: readonly string[] | undefined): Candidate[] => {
      totals.clear();
      const slice = (part: number, parts: number): [number, number] => [
        Math.floor((lookups.count * part) / parts),
        Math.floor((lookups.count * (part + 1)) / parts),
      ];
      const checked = (name: string, loop: (from: number, to: number) => number): Candidate => {
        const total = { hits: 0, idSum: 0 };
        totals.set(name, total);
        return {
          name,
          run: (part, parts) => {
            hits = 0;
            idSum = 0;
            const ops = loop(...slice(part, parts));
            total.hits += hits;
            total.idSum += idSum;
            return ops;
          },
        };
      };
      return [
        checked('FilterIndex.match', (a, b) => loopFilterIndex(ours, lookups, strings, a, b)),
        checked('FilterIndex.collect', (a, b) =>
          loopFilterIndexCollect(ours, lookups, strings, a, b),
        ),
        checked('Qlobber.match', (a, b) => loopQlobber(qlobber, lookups, strings, a, b)),
        checked('QlobberDedup.match', (a, b) => loopQlobberDedup(dedup, lookups, strings, a, b)),
        checked('mqemitter.emit', (a, b) => loopMqemitter(emitter, lookups, strings, a, b)),
        {
          name: 'decode only',
          run: (part, parts) => loopDecodeOnly(lookups, strings, ...slice(part, parts)),
        },
      ];
    };
    const assertTotals = (): void => {
      const distinct = new Set([...totals.values()].map((t) => `${t.hits}/${t.idSum}`));
      if (distinct.size > 1) {
        throw new Error(`timed rounds disagree: ${JSON.stringify([...totals])}`);
      }
    };
    const timing = { rounds: options.rounds, warmup: options.warmup, slices: options.slices };

    const fresh = timeRounds(candidatesFor(undefined), timing);
    assertTotals();
    let reused: RoundResults | undefined;
    if (options.reusedStrings) {
      const strings = Array.from({ length: lookups.count }, (_, i) => lookupAt(lookups, i));
      reused = timeRounds(candidatesFor(strings), timing);
      assertTotals();
    }

    // Ours first in the table, whatever the build order.
    rows.sort((a, b) => Number(b.ours) - Number(a.ours));
    const matchRow = rows.find((r) => r.name === 'FilterIndex.match') as Row;
    rows.splice(1, 0, { ...matchRow, name: 'FilterIndex.collect', ours: true });
    rows.push({ name: 'decode only', peer: false, ours: false, bytesPerSub: 0, buildMs: 0 });

    /** The peer with the highest median rate, and every row's paired ratio against it. */
    const against = (results: RoundResults): { best: string; ratio: (name: string) => number } => {
      let best = '';
      let bestRate = -1;
      for (const row of rows) {
        const rate = median(results.get(row.name) ?? [0]);
        if (row.peer && rate > bestRate) {
          best = row.name;
          bestRate = rate;
        }
      }
      return { best, ratio: (name) => pairedRatio(results, name, best) };
    };
    const freshVs = against(fresh);
    const reusedVs = reused === undefined ? undefined : against(reused);
    const minPeerBytes = Math.min(...rows.filter((r) => r.peer).map((r) => r.bytesPerSub));

    const header = ['implementation', 'lookups/s, fresh strings', 'spread', 'vs fastest peer'];
    if (reused !== undefined) header.push('lookups/s, reused strings', 'vs fastest peer');
    header.push('memory per subscription', 'build');
    const table = rows.map((row) => {
      const timed = row.name !== 'decode only';
      const f = summarize(fresh.get(row.name) ?? [0]);
      const cells = [
        row.name,
        formatRate(f.median),
        `±${((f.spread / 2) * 100).toFixed(0)} %`,
        timed ? formatRatio(freshVs.ratio(row.name)) : '',
      ];
      if (reused !== undefined && reusedVs !== undefined) {
        cells.push(
          formatRate(median(reused.get(row.name) ?? [0])),
          timed ? formatRatio(reusedVs.ratio(row.name)) : '',
        );
      }
      cells.push(
        timed ? formatBytes(row.bytesPerSub) : '',
        timed ? formatDuration(row.buildMs) : '',
      );
      return cells;
    });
    log(formatTable(header, table));
    log(
      `\nFilterIndex.match: ${formatRatio(freshVs.ratio('FilterIndex.match'))} the lookups/s of ` +
        `the fastest peer (${freshVs.best}, fresh strings; median of per-round ratios), ` +
        `${formatRatio(matchRow.bytesPerSub / minPeerBytes)} the memory per subscription of the ` +
        'leanest peer.',
    );
  }
}
