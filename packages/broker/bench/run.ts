/**
 * `pnpm bench:broker`: mqtt-sessions against Aedes, each broker in a child process of its own,
 * driven by this process over raw TCP sockets (MQTT 3.1.1, mqtt-packet). Prints a Markdown table
 * and writes it to bench/results.md.
 *
 *   node --expose-gc --import tsx bench/run.ts [--quick] [--reps 2] [--only fan-in-0,storm]
 *     [--measure 5000] [--warmup 1000] [--window-scale 1] [--parser inline|mqtt-packet]
 *     [--brokers ours,aedes] [--baseline <checkout>] [--profile <dir>] [--no-write]
 *     [--redis-url redis://127.0.0.1:6379]
 *
 * Scenarios: fan-in-0, fan-in-1, fan-out, pairs, storm, retained, and with persistent sessions
 * pairs-persistent and fan-in-persistent. For each one the brokers take turns, A B A B..., each
 * run in a fresh broker process. `--baseline` adds a third broker, our broker as built in another
 * checkout, to compare a change with the code before it in one run.
 *
 * Every broker keeps its sessions in memory (ours with `--store memory`, so that it compares with
 * Aedes' in-memory default), except in the persistent-session scenarios: there ours runs once on
 * each store (memory, SQLite, Redis) and Aedes on Redis (aedes-persistence-redis), and a second
 * table compares them.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os, { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { describeMachine } from '../../../tooling/bench/machine.ts';
import {
  formatBytes,
  formatDuration,
  formatRate,
  formatRatio,
  formatTable,
  summarize,
} from '../../../tooling/bench/stats.ts';
import {
  AEDES_CONCURRENCY,
  type BrokerName,
  BrokerProcess,
  OUR_LIMIT_FLAGS,
  type StoreKind,
  setAedesConcurrency,
  setBaselineDir,
  setupLabel,
  storesOf,
  useRedis,
  waitForQuiet,
} from './brokers.ts';
import { type ParserMode, setParserMode } from './client.ts';
import {
  FAN_IN,
  FAN_OUT,
  type FlowSpec,
  PAIRS,
  persistent,
  type RunResult,
  runFlow,
  runRetained,
  runStorm,
  type ScenarioSettings,
} from './scenarios.ts';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    reps: { type: 'string' },
    only: { type: 'string' },
    measure: { type: 'string' },
    warmup: { type: 'string' },
    'window-scale': { type: 'string' },
    parser: { type: 'string' },
    brokers: { type: 'string' },
    baseline: { type: 'string' },
    profile: { type: 'string' },
    'aedes-concurrency': { type: 'string' },
    'quiet-pct': { type: 'string' },
    'quiet-wait': { type: 'string' },
    'max-other': { type: 'string' },
    retries: { type: 'string' },
    'heap-snapshot': { type: 'string' },
    'redis-url': { type: 'string' },
    'no-write': { type: 'boolean', default: false },
  },
});

const quick = values.quick === true;
const reps = Number(values.reps ?? (quick ? 1 : 2));
const settings: ScenarioSettings = {
  warmupMs: Number(values.warmup ?? (quick ? 500 : 1000)),
  measureMs: Number(values.measure ?? (quick ? 2000 : 5000)),
  windowScale: Number(values['window-scale'] ?? 1),
  stormConnections: 10_000,
  stormInFlight: 500,
  retainedMessages: 100_000,
  heapSnapshotDir: values['heap-snapshot'],
};
/** Before each broker run, wait (up to a minute) until the rest of the machine is this quiet. */
const quietPct = Number(values['quiet-pct'] ?? 25);
/** Give up waiting for quiet after this long (then run anyway). */
const quietWaitMs = Number(values['quiet-wait'] ?? 300) * 1000;
/** A run during which other processes used more CPU than this (% of one core) is repeated. */
const maxOtherPct = Number(values['max-other'] ?? 30);
const retries = Number(values.retries ?? 3);
const parserMode = (values.parser ?? 'inline') as ParserMode;
setParserMode(parserMode);
const brokerNames = (values.brokers ?? 'ours,aedes').split(',') as BrokerName[];
/** Another checkout of this repository, built: its broker runs as `baseline`, after `ours`. */
const baselineDir = values.baseline === undefined ? undefined : setBaselineDir(values.baseline);
if (baselineDir !== undefined && !brokerNames.includes('baseline')) {
  brokerNames.splice(brokerNames.indexOf('ours') + 1, 0, 'baseline');
}
/** The Redis of the `redis` stores (persistent-session scenarios), as in the Redis store's bench. */
const redisUrl = values['redis-url'] ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const profileDir = values.profile;
if (values['aedes-concurrency'] !== undefined) {
  setAedesConcurrency(Number(values['aedes-concurrency']));
}
if (profileDir !== undefined) mkdirSync(profileDir, { recursive: true });
if (settings.heapSnapshotDir !== undefined)
  mkdirSync(settings.heapSnapshotDir, { recursive: true });

/** How a scenario's headline figure reads. */
type Kind = 'rate' | 'connects' | 'bytes' | 'time';

interface Scenario {
  readonly id: string;
  readonly title: string;
  readonly kind: Kind;
  /** A persistent-session scenario: the stores ours runs on (see `setupsOf`). */
  readonly stores?: readonly StoreKind[];
  run(broker: BrokerProcess): Promise<RunResult>;
}

/** A broker on a store, run in turn with the others: `ours`, `ours-sqlite`, `aedes-redis`, ... */
interface Setup {
  readonly name: BrokerName;
  readonly store: StoreKind;
  readonly label: string;
}

const setup = (name: BrokerName, store: StoreKind): Setup => ({
  name,
  store,
  label: setupLabel(name, store),
});

/**
 * The setups of a scenario, in the order they take turns. Most scenarios run every broker in
 * memory. A persistent-session scenario runs ours (and the baseline, if it has stores) on each of
 * its stores, and Aedes on the durable ones it has, i.e. Redis: the peer the targets name.
 */
function setupsOf(scenario: Scenario): Setup[] {
  const stores = scenario.stores;
  if (stores === undefined) return brokerNames.map((name) => setup(name, 'memory'));
  return brokerNames.flatMap((name) =>
    stores
      .filter((store) => storesOf(name).includes(store))
      .filter((store) => name !== 'aedes' || store !== 'memory')
      .map((store) => setup(name, store)),
  );
}

/** Stores of the persistent-session scenarios. */
const ALL_STORES: readonly StoreKind[] = ['memory', 'sqlite', 'redis'];

const flow =
  (spec: FlowSpec) =>
  (broker: BrokerProcess): Promise<RunResult> =>
    runFlow(broker, spec, settings);

const SCENARIOS: readonly Scenario[] = [
  { id: 'fan-in-0', title: 'fan-in 100 -> 1, QoS 0', kind: 'rate', run: flow(FAN_IN(0)) },
  { id: 'fan-in-1', title: 'fan-in 100 -> 1, QoS 1', kind: 'rate', run: flow(FAN_IN(1)) },
  { id: 'fan-out', title: 'fan-out 1 -> 1000, QoS 0', kind: 'rate', run: flow(FAN_OUT) },
  { id: 'pairs', title: '1000 pairs, QoS 1', kind: 'rate', run: flow(PAIRS) },
  {
    id: 'pairs-persistent',
    title: '1000 persistent pairs, QoS 1',
    kind: 'rate',
    stores: ALL_STORES,
    run: flow(persistent(PAIRS)),
  },
  {
    id: 'fan-in-persistent',
    title: 'fan-in 100 -> 1 persistent subscriber, QoS 1',
    kind: 'rate',
    stores: ALL_STORES,
    run: flow(persistent(FAN_IN(1))),
  },
  {
    id: 'storm',
    title: `connection storm ${settings.stormConnections / 1000}k`,
    kind: 'connects',
    run: (broker) => runStorm(broker, settings),
  },
  {
    id: 'retained',
    title: `${settings.retainedMessages / 1000}k retained -> one \`#\``,
    kind: 'time',
    run: (broker) => runRetained(broker, settings),
  },
];

const only = values.only?.split(',');
const selected = SCENARIOS.filter((s) => only === undefined || only.includes(s.id));
if (selected.length === 0) throw new Error(`no scenario matches --only ${values.only}`);

const cliPath = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
if (brokerNames.includes('ours') && !existsSync(cliPath)) {
  throw new Error(`${cliPath} is missing: run pnpm build first (pnpm bench:broker does)`);
}
const setups = new Map(selected.map((scenario) => [scenario.id, setupsOf(scenario)]));
const allSetups = [...setups.values()].flat();
const usesRedis = allSetups.some((s) => s.store === 'redis');
// Fails now, not halfway through, when the Redis of the persistent-session scenarios is missing.
if (usesRedis) useRedis(redisUrl);
const nameWidth = Math.max(5, ...allSetups.map((s) => s.label.length));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const loadAverage = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

/**
 * The commit measured, whether the core packages' sources differ from it, and the build time, of
 * this checkout or of the one at `root`.
 */
function describeCode(root?: string): string {
  const git = (...args: string[]) =>
    execFileSync('git', root === undefined ? args : ['-C', root, ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  let text: string;
  try {
    const commit = git('rev-parse', '--short', 'HEAD');
    const dirty = git('status', '--porcelain', '--', 'packages/*/src/*')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => /packages\/([^/]+)\//.exec(line)?.[1])
      .filter((name, i, all) => name !== undefined && all.indexOf(name) === i);
    text = `commit ${commit}${dirty.length > 0 ? ` with uncommitted changes in ${dirty.join(', ')}` : ''}`;
  } catch {
    text = 'commit unknown';
  }
  // The newest build output of any package: the code the brokers ran.
  const packagesDir =
    root === undefined ? fileURLToPath(new URL('../../', import.meta.url)) : `${root}/packages/`;
  let newest = 0;
  for (const pkg of readdirSync(packagesDir)) {
    const dist = `${packagesDir}${pkg}/dist`;
    if (!existsSync(dist)) continue;
    for (const file of readdirSync(dist, { recursive: true, encoding: 'utf8' })) {
      if (file.endsWith('.js')) newest = Math.max(newest, statSync(`${dist}/${file}`).mtimeMs);
    }
  }
  if (newest > 0) text += `; packages built ${new Date(newest).toISOString()}`;
  return text;
}

const log = (line: string) => console.log(line);
const machine = describeMachine();
const code = describeCode();
const baselineCode =
  baselineDir === undefined ? undefined : `${baselineDir}, ${describeCode(baselineDir)}`;
const loadAtStart = loadAverage();
log(`Machine: ${machine}`);
log(`Code: ${code}`);
if (baselineCode !== undefined) log(`Baseline: ${baselineCode}`);
log(`Load average (1/5/15 min) at start: ${loadAtStart}`);
log(
  `Settings: ${reps} run(s) per broker and scenario, warm-up ${settings.warmupMs} ms, ` +
    `measured ${settings.measureMs} ms, window x${settings.windowScale}, parser ${parserMode}`,
);

/** Each scenario's runs per setup (by label). */
const results = new Map<string, Map<string, RunResult[]>>();

for (const scenario of selected) {
  const scenarioSetups = setups.get(scenario.id) as Setup[];
  const perSetup = new Map<string, RunResult[]>(scenarioSetups.map((s) => [s.label, []]));
  results.set(scenario.id, perSetup);
  for (let rep = 0; rep < reps; rep++) {
    for (const s of scenarioSetups) {
      const result = await runQuietly(scenario, s, rep);
      perSetup.get(s.label)?.push(result);
    }
  }
}

/**
 * Runs a scenario once against a fresh broker, when the rest of the machine is quiet. A run during
 * which other processes used more than `maxOtherPct` % of a core is discarded and repeated (up to
 * `retries` times); if every attempt was disturbed, the least disturbed one is kept.
 */
async function runQuietly(scenario: Scenario, s: Setup, rep: number): Promise<RunResult> {
  const { name, label } = s;
  let kept: RunResult | undefined;
  for (let attempt = 0; attempt <= retries; attempt++) {
    const quiet = await waitForQuiet(quietPct, quietWaitMs);
    if (quiet.waitedMs > 1000) {
      log(
        `  (waited ${(quiet.waitedMs / 1000).toFixed(0)} s for other processes to calm down; ` +
          `now ${quiet.busyPct.toFixed(0)}% busy)`,
      );
    }
    const port = await freePort();
    const broker = await BrokerProcess.start(name, {
      port,
      store: s.store,
      cpuProfileDir: name === 'ours' ? profileDir : undefined,
    });
    let result: RunResult;
    try {
      result = await scenario.run(broker);
    } finally {
      await broker.stop();
    }
    if (broker.died) {
      // What it delivered before it died still counts, marked incomplete: a crash is a finding.
      result = { ...result, complete: false, note: `broker died during the run; ${result.note}` };
    }
    if (broker.errorOutput.trim() !== '') {
      console.error(`[${label} stderr] ${broker.errorOutput.trim().slice(0, 2000)}`);
    }
    // A crash is kept, not retried: its CPU figures are meaningless, and it is a finding.
    const disturbed = !broker.died && result.cpu.other > maxOtherPct;
    log(
      `  ${scenario.id.padEnd(9)} ${label.padEnd(nameWidth)} #${rep + 1}: ${headline(scenario.kind, result)}` +
        `${latencyText(result)}, RSS ${formatBytes(result.peakRss)}, CPU ${cpuText(result)}` +
        `${result.complete ? '' : ', INCOMPLETE'}; ${result.note}` +
        (disturbed ? ' -- disturbed by other processes, discarded' : ''),
    );
    if (!disturbed) return result;
    if (kept === undefined || result.cpu.other < kept.cpu.other) kept = result;
  }
  log(`  (kept the least disturbed of ${retries + 1} attempts)`);
  return kept as RunResult;
}

function cpuText(result: RunResult): string {
  const cpu = result.cpu;
  return `broker ${brokerCpu(result)} / load gen ${cpu.loadgen.toFixed(0)}% / other ${cpu.other.toFixed(0)}%`;
}

/** The broker's CPU, and its Redis server's when it has one. */
function brokerCpu(result: RunResult): string {
  const cpu = result.cpu;
  return `${cpu.broker.toFixed(0)}%${cpu.store > 0 ? ` + Redis ${cpu.store.toFixed(0)}%` : ''}`;
}

function headline(kind: Kind, result: RunResult): string {
  switch (kind) {
    case 'rate':
      return `${formatRate(result.value)} msgs`;
    case 'connects':
      return `${formatRate(result.value)} connects, ${formatBytes(result.extra?.bytesPerConnection ?? Number.NaN)}/conn`;
    case 'bytes':
      return formatBytes(result.value);
    case 'time':
      return formatDuration(result.value);
  }
}

function latencyText(result: RunResult): string {
  return result.p50 === undefined ? '' : `, p50/p99 ${lat(result)}`;
}

function lat(result: RunResult | undefined): string {
  if (result?.p50 === undefined || result.p99 === undefined) return '-';
  return `${formatDuration(result.p50)} / ${formatDuration(result.p99)}`;
}

/** Load generator CPU (% of a core) past which a rate is reported as a lower bound. */
const LOADGEN_BOUND_PCT = 85;

/** Higher is better for rates, lower for bytes and times. */
const higherIsBetter = (kind: Kind) => kind === 'rate' || kind === 'connects';

/** The best run of a broker (by the headline figure) and the spread of that figure across runs. */
function best(
  kind: Kind,
  runs: readonly RunResult[],
  figure: (r: RunResult) => number = (r) => r.value,
): { run: RunResult; value: number; spread: number } | undefined {
  if (runs.length === 0) return undefined;
  const sorted = [...runs].sort((a, b) =>
    higherIsBetter(kind) ? figure(b) - figure(a) : figure(a) - figure(b),
  );
  const top = sorted[0] as RunResult;
  return { run: top, value: figure(top), spread: summarize(runs.map(figure)).spread };
}

function show(kind: Kind, value: number | undefined, spread: number | undefined): string {
  if (value === undefined) return '-';
  const text =
    kind === 'rate'
      ? `${formatRate(value)}`
      : kind === 'connects'
        ? `${formatRate(value)}`
        : kind === 'bytes'
          ? formatBytes(value)
          : formatDuration(value);
  return spread === undefined || reps < 2 ? text : `${text} ±${((spread * 100) / 2).toFixed(0)}%`;
}

/**
 * ours / baseline, > 1 when ours is better, and whether the difference is within noise: no larger
 * than the spread between the runs of either build ((max - min) / median).
 */
function versusBaseline(
  kind: Kind,
  o: { value: number; spread: number } | undefined,
  b: { value: number; spread: number } | undefined,
): string {
  if (o === undefined || b === undefined) return '-';
  const ratio = higherIsBetter(kind) ? o.value / b.value : b.value / o.value;
  if (reps < 2) return formatRatio(ratio);
  const noise = Math.max(o.spread, b.spread);
  const within = Math.abs(ratio - 1) <= noise;
  return `${formatRatio(ratio)} ${within ? 'within' : 'outside'} ${(noise * 100).toFixed(0)}%`;
}

const withBaseline = brokerNames.includes('baseline');
const header = withBaseline
  ? [
      'scenario',
      'ours',
      'baseline',
      'Aedes',
      'ours / baseline',
      'ours / Aedes',
      'ours p50/p99',
      'baseline p50/p99',
      'Aedes p50/p99',
      'ours RSS',
      'baseline RSS',
      'Aedes RSS',
    ]
  : [
      'scenario',
      'ours',
      'Aedes',
      'ratio',
      'ours p50/p99',
      'Aedes p50/p99',
      'ours RSS',
      'Aedes RSS',
    ];
const rows: string[][] = [];
const targets: string[] = [];
const detailRows: string[][] = [];
const persistentHeader = [
  'scenario',
  'broker (store)',
  'msgs/s',
  'vs memory',
  'vs Aedes (same store)',
  'p50/p99',
  'RSS',
  'CPU (+ Redis)',
];
const persistentRows: string[][] = [];

for (const scenario of selected) {
  const perBroker = results.get(scenario.id) as Map<string, RunResult[]>;
  for (const [label, runs] of perBroker) {
    runs.forEach((r, i) => {
      detailRows.push([
        scenario.id,
        `${label} #${i + 1}`,
        headline(scenario.kind, r),
        brokerCpu(r),
        `${r.cpu.loadgen.toFixed(0)}%`,
        `${r.cpu.other.toFixed(0)}%`,
        r.note,
      ]);
    });
  }
  if (scenario.stores !== undefined) {
    addPersistentRows(scenario, perBroker);
    continue;
  }
  const oursRuns = perBroker.get('ours') ?? [];
  const baselineRuns = perBroker.get('baseline') ?? [];
  const aedesRuns = perBroker.get('aedes') ?? [];
  const rowsOf = (kind: Kind, title: string, figure?: (r: RunResult) => number) => {
    const o = best(kind, oursRuns, figure);
    const b = best(kind, baselineRuns, figure);
    const a = best(kind, aedesRuns, figure);
    const ratio =
      o === undefined || a === undefined
        ? undefined
        : higherIsBetter(kind)
          ? o.value / a.value
          : a.value / o.value;
    const figureOf = (x: ReturnType<typeof best>, runs: readonly RunResult[]) =>
      `${bound(kind, x?.run)}${show(kind, x?.value, x?.spread)}${incomplete(runs)}`;
    const latencyOf = (x: ReturnType<typeof best>) => (kind === 'bytes' ? '-' : lat(x?.run));
    const rssOf = (x: ReturnType<typeof best>) =>
      x === undefined ? '-' : formatBytes(x.run.peakRss);
    const ratioText = ratio === undefined ? '-' : formatRatio(ratio);
    rows.push(
      withBaseline
        ? [
            title,
            figureOf(o, oursRuns),
            figureOf(b, baselineRuns),
            figureOf(a, aedesRuns),
            versusBaseline(kind, o, b),
            ratioText,
            latencyOf(o),
            latencyOf(b),
            latencyOf(a),
            rssOf(o),
            rssOf(b),
            rssOf(a),
          ]
        : [
            title,
            figureOf(o, oursRuns),
            figureOf(a, aedesRuns),
            ratioText,
            latencyOf(o),
            latencyOf(a),
            rssOf(o),
            rssOf(a),
          ],
    );
    return { o, ratio };
  };
  if (scenario.kind === 'connects') {
    const { ratio } = rowsOf('connects', `${scenario.title}: connects/s`);
    if (ratio !== undefined)
      targets.push(target(`${scenario.title} connects/s >= 2x Aedes`, ratio >= 2));
    const { o } = rowsOf(
      'bytes',
      `${scenario.title}: RSS per idle connection`,
      (r) => r.extra?.bytesPerConnection ?? Number.NaN,
    );
    if (o !== undefined)
      targets.push(target('RSS per idle connection <= 3 KB', o.value <= 3 * 1024));
  } else {
    const { o, ratio } = rowsOf(scenario.kind, scenario.title);
    if (scenario.kind === 'rate' && ratio !== undefined) {
      targets.push(target(`${scenario.title} >= 2x Aedes`, ratio >= 2));
    }
    if (scenario.kind === 'time' && o !== undefined) {
      targets.push(target('retained delivery < 0.5 s', o.value < 500));
    }
  }
}

/**
 * The rows of a persistent-session scenario, one per setup: its rate, and how it compares with
 * the same broker in memory (what the store costs) and with Aedes on the same store.
 */
function addPersistentRows(scenario: Scenario, perSetup: Map<string, RunResult[]>): void {
  const bestOf = (name: BrokerName, store: StoreKind) =>
    best('rate', perSetup.get(setupLabel(name, store)) ?? []);
  const ratio = (x: ReturnType<typeof best>, y: ReturnType<typeof best>) =>
    x === undefined || y === undefined ? undefined : x.value / y.value;
  const ratioText = (value: number | undefined) => (value === undefined ? '-' : formatRatio(value));
  for (const s of setups.get(scenario.id) as Setup[]) {
    const runs = perSetup.get(s.label) ?? [];
    const x = best('rate', runs);
    persistentRows.push([
      scenario.title,
      `${s.name === 'aedes' ? 'Aedes' : s.name} (${s.store})`,
      `${bound('rate', x?.run)}${show('rate', x?.value, x?.spread)}${incomplete(runs)}`,
      ratioText(s.store === 'memory' ? undefined : ratio(x, bestOf(s.name, 'memory'))),
      ratioText(s.name === 'aedes' ? undefined : ratio(x, bestOf('aedes', s.store))),
      lat(x?.run),
      x === undefined ? '-' : formatBytes(x.run.peakRss),
      x === undefined ? '-' : brokerCpu(x.run),
    ]);
  }
  const sqlite = ratio(bestOf('ours', 'sqlite'), bestOf('ours', 'memory'));
  if (sqlite !== undefined) {
    targets.push(target(`${scenario.title}: ours on SQLite >= 0.5x in memory`, sqlite >= 0.5));
  }
  const redis = ratio(bestOf('ours', 'redis'), bestOf('aedes', 'redis'));
  if (redis !== undefined) {
    targets.push(target(`${scenario.title}: ours on Redis >= 3x Aedes on Redis`, redis >= 3));
  }
}

/** ` (!)` when a run did not deliver every message it had to. */
function incomplete(runs: readonly RunResult[]): string {
  return runs.every((r) => r.complete) ? '' : ' (!)';
}

/** `≥ ` when the load generator used most of a core: then the broker could go faster. */
function bound(kind: Kind, run: RunResult | undefined): string {
  return kind === 'rate' && run !== undefined && run.cpu.loadgen >= LOADGEN_BOUND_PCT ? '≥ ' : '';
}

function target(text: string, met: boolean): string {
  return `- ${met ? 'met' : 'MISSED'}: ${text}`;
}

const loadAtEnd = loadAverage();
const table = formatTable(
  header,
  rows,
  header.map((_, i) => (i === 0 ? 'left' : 'right')),
);
const persistentTable = formatTable(
  persistentHeader,
  persistentRows,
  persistentHeader.map((_, i) => (i < 2 ? 'left' : 'right')),
);
const details = formatTable(
  ['scenario', 'run', 'result', 'broker CPU', 'load gen CPU', 'other CPU', 'counts'],
  detailRows,
  ['left', 'left', 'right', 'right', 'right', 'right', 'left'],
);
const report = [
  `Machine: ${machine}`,
  `Code: ${code}`,
  ...(baselineCode === undefined ? [] : [`Baseline: ${baselineCode}`]),
  `Load average (1/5/15 min): ${loadAtStart} at start, ${loadAtEnd} at end.`,
  `Runs: ${reps} per broker and scenario (A B A B, a fresh broker process each); the table shows the best run, ±half the spread across runs. Warm-up ${settings.warmupMs} ms, measured ${settings.measureMs} ms, parser ${parserMode}.`,
  `mqtt-sessions flags: --store memory ${OUR_LIMIT_FLAGS.join(' ')}; Aedes: concurrency ${AEDES_CONCURRENCY}. Ratio > 1 means mqtt-sessions is better (for memory and time: Aedes / ours). (!) marks a broker that did not deliver every message it had to; ≥ a rate at which the load generator used over ${LOADGEN_BOUND_PCT}% of a core, so the broker may be faster.`,
  ...(withBaseline
    ? [
        'baseline is mqtt-sessions built in the baseline checkout, run with the same flags. ours / baseline > 1 means the current build is better; "within n%" when the difference is no larger than the spread (max - min) / median between the runs of either build, "outside" otherwise.',
      ]
    : []),
  ...(rows.length === 0 ? [] : ['', table]),
  ...(persistentRows.length === 0
    ? []
    : [
        '',
        `Persistent sessions: every client connects with Clean Session 0, so its session outlives the connection and a durable store journals it. Ours runs with --store memory, --store sqlite (a fresh --data-dir under ${tmpdir()}, default --durability normal) or --store redis (a fresh --redis-prefix); Aedes with aedes-persistence-redis (a fresh key prefix) and mqemitter in memory; both Redis stores on ${redisUrl}. "vs memory" is a rate over the same broker's in memory, "vs Aedes" over Aedes' on the same store. RSS is the broker's alone; CPU adds the Redis server's (% of a core).`,
        '',
        persistentTable,
      ]),
  '',
  'Targets:',
  ...targets,
  '',
  '<details><summary>Every run</summary>',
  '',
  details,
  '',
  '</details>',
  '',
].join('\n');

log('');
log(report);
if (
  values['no-write'] !== true &&
  only === undefined &&
  brokerNames.length === 2 &&
  baselineDir === undefined &&
  profileDir === undefined
) {
  const path = fileURLToPath(new URL('./results.md', import.meta.url));
  writeFileSync(path, `# pnpm bench:broker results\n\n${report}`);
  log(`written to ${path}`);
}
