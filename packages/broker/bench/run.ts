import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { describeCode } from '../../../tooling/bench/code.ts';
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
  type BrokerVariant,
  displayName,
  freePort,
  MOSQUITTO_LIMITS,
  mosquittoInstalled,
  mosquittoVersion,
  OUR_LIMIT_FLAGS,
  openFileLimit,
  type StoreKind,
  setAedesConcurrency,
  setBaselineDir,
  setupLabel,
  storesOf,
  useRedis,
  useThrowawayCertificate,
  waitForQuiet,
} from './brokers.ts';
import { type ParserMode, setParserMode } from './client.ts';
import {
  FAN_IN,
  FAN_OUT,
  type FlowSpec,
  IDLE_SETTLE_MS,
  PAIRS,
  persistent,
  type RunResult,
  runFlow,
  runIdle,
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
  largeStormConnections: 50_000,
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

const KNOWN_BROKERS: readonly BrokerName[] = ['ours', 'baseline', 'aedes', 'mosquitto', 'bare'];
/** Without --brokers: ours, the peers installed here, and the floor (which the storms alone run). */
const DEFAULT_BROKERS: readonly BrokerName[] = [
  'ours',
  'aedes',
  ...(mosquittoInstalled() ? (['mosquitto'] as const) : []),
  'bare',
];
const brokerNames: BrokerName[] =
  values.brokers === undefined ? [...DEFAULT_BROKERS] : (values.brokers.split(',') as BrokerName[]);
for (const name of brokerNames) {
  if (!KNOWN_BROKERS.includes(name)) {
    throw new Error(`--brokers ${name}: one of ${KNOWN_BROKERS.join(', ')}`);
  }
}
if (brokerNames.includes('mosquitto') && !mosquittoInstalled()) {
  throw new Error('--brokers mosquitto: Mosquitto is not installed (/usr/sbin/mosquitto)');
}
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

/**
 * How a figure reads: a rate of deliveries, connects per second, bytes, a time, or CPU time per
 * connect.
 */
type Kind = 'rate' | 'connects' | 'bytes' | 'time' | 'cpu';

/** A row of the main table: one figure of a scenario's runs, for every broker. */
interface RowSpec {
  readonly title: string;
  readonly kind: Kind;
  readonly figure: (result: RunResult) => number;
}

/** A broker's best run in a scenario by a figure, and the spread of that figure across its runs. */
interface Best {
  readonly run: RunResult;
  readonly value: number;
  readonly spread: number;
}

/** The best run of a broker in the scenario at hand, by the figure of a row. */
type BestOf = (name: BrokerName, row: RowSpec) => Best | undefined;

interface Scenario {
  readonly id: string;
  readonly title: string;
  /** How its headline figure (`RunResult.value`) reads. */
  readonly kind: Kind;
  /** The brokers that can run it (of those in --brokers); default the ones that route messages. */
  readonly brokers?: readonly BrokerName[];
  /** A persistent-session scenario: the stores ours runs on (see `setupsOf`). */
  readonly stores?: readonly StoreKind[];
  /** How the brokers are set up for it; default `bench`. */
  readonly variant?: BrokerVariant;
  /** Its rows in the main table; default one, of its headline figure. */
  readonly rows?: readonly RowSpec[];
  /** Why it cannot run on this machine; undefined when it can. */
  readonly unavailable?: () => string | undefined;
  /** Its "Targets:" lines. */
  readonly targets?: (bestOf: BestOf) => string[];
  run(broker: BrokerProcess): Promise<RunResult>;
}

/** Brokers that route messages: every scenario's, unless it says otherwise. */
const ROUTING_BROKERS: readonly BrokerName[] = ['ours', 'baseline', 'aedes', 'mosquitto'];
/** The storm and idle scenarios: the routing brokers and the bare-socket floor. */
const CONNECTION_BROKERS: readonly BrokerName[] = [...ROUTING_BROKERS, 'bare'];
/** Setups only our broker has (TLS and WebSocket listeners next to TCP). */
const OUR_BROKERS: readonly BrokerName[] = ['ours', 'baseline'];
/** Persistent sessions: Mosquitto's persistence is a periodic snapshot, not a store to compare. */
const PERSISTENT_BROKERS: readonly BrokerName[] = ['ours', 'baseline', 'aedes'];

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
 * The setups of a scenario, in the order they take turns: the brokers of --brokers that can run
 * it, in memory. A persistent-session scenario runs ours (and the baseline, if it has stores) on
 * each of its stores, and Aedes on the durable ones it has, i.e. Redis: the peer the targets name.
 */
function setupsOf(scenario: Scenario): Setup[] {
  const names = brokerNames.filter((name) => (scenario.brokers ?? ROUTING_BROKERS).includes(name));
  const stores = scenario.stores;
  if (stores === undefined) return names.map((name) => setup(name, 'memory'));
  return names.flatMap((name) =>
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

const storm =
  (count: number) =>
  (broker: BrokerProcess): Promise<RunResult> =>
    runStorm(broker, settings, count);

const stormTitle = (count: number) => `connection storm ${count / 1000}k`;
const STORM_TITLE = stormTitle(settings.stormConnections);
const LARGE_STORM_TITLE = stormTitle(settings.largeStormConnections);
const TLS_WS_STORM_TITLE = `${STORM_TITLE}, TLS, WS and WSS listeners idle`;
const IDLE_TITLE = 'idle RSS at start, default flags';

/** The storm's figures, each a row of the table. */
const connectsRow = (title: string): RowSpec => ({
  title: `${title}: connects/s`,
  kind: 'connects',
  figure: (r) => r.value,
});
const cpuPerConnectRow = (title: string): RowSpec => ({
  title: `${title}: broker CPU per connect`,
  kind: 'cpu',
  figure: (r) => r.extra?.cpuMsPerConnection ?? Number.NaN,
});
const rssPerConnectionRow = (title: string): RowSpec => ({
  title: `${title}: RSS per idle connection`,
  kind: 'bytes',
  figure: (r) => r.extra?.bytesPerConnection ?? Number.NaN,
});

/**
 * Why a storm of `count` connections cannot run here, if it cannot: this process holds one file
 * descriptor per client socket and the broker one per connection (a child inherits the limit),
 * plus a few hundred for the warm-up connections, listeners and pipes.
 */
function openFileShortfall(count: number): string | undefined {
  const needed = count + 500;
  const limit = openFileLimit();
  return limit >= needed
    ? undefined
    : `open-file limit ${limit} < ${needed.toLocaleString('en-US')} needed`;
}

const SCENARIOS: readonly Scenario[] = [
  {
    id: 'fan-in-0',
    title: 'fan-in 100 -> 1, QoS 0',
    kind: 'rate',
    targets: twiceAedes('fan-in 100 -> 1, QoS 0'),
    run: flow(FAN_IN(0)),
  },
  {
    id: 'fan-in-1',
    title: 'fan-in 100 -> 1, QoS 1',
    kind: 'rate',
    targets: twiceAedes('fan-in 100 -> 1, QoS 1'),
    run: flow(FAN_IN(1)),
  },
  {
    id: 'fan-out',
    title: 'fan-out 1 -> 1000, QoS 0',
    kind: 'rate',
    targets: twiceAedes('fan-out 1 -> 1000, QoS 0'),
    run: flow(FAN_OUT),
  },
  {
    id: 'pairs',
    title: '1000 pairs, QoS 1',
    kind: 'rate',
    targets: twiceAedes('1000 pairs, QoS 1'),
    run: flow(PAIRS),
  },
  {
    id: 'pairs-persistent',
    title: '1000 persistent pairs, QoS 1',
    kind: 'rate',
    brokers: PERSISTENT_BROKERS,
    stores: ALL_STORES,
    run: flow(persistent(PAIRS)),
  },
  {
    id: 'fan-in-persistent',
    title: 'fan-in 100 -> 1 persistent subscriber, QoS 1',
    kind: 'rate',
    brokers: PERSISTENT_BROKERS,
    stores: ALL_STORES,
    run: flow(persistent(FAN_IN(1))),
  },
  {
    id: 'idle',
    title: IDLE_TITLE,
    kind: 'bytes',
    brokers: CONNECTION_BROKERS,
    variant: 'defaults',
    targets: idleTarget,
    run: runIdle,
  },
  {
    id: 'storm',
    title: STORM_TITLE,
    kind: 'connects',
    brokers: CONNECTION_BROKERS,
    rows: stormRows(STORM_TITLE),
    targets: stormTargets(STORM_TITLE),
    run: storm(settings.stormConnections),
  },
  {
    id: 'storm-50k',
    title: LARGE_STORM_TITLE,
    kind: 'connects',
    brokers: CONNECTION_BROKERS,
    rows: stormRows(LARGE_STORM_TITLE),
    targets: stormTargets(LARGE_STORM_TITLE),
    unavailable: () => openFileShortfall(settings.largeStormConnections),
    run: storm(settings.largeStormConnections),
  },
  {
    id: 'storm-tls-ws',
    title: TLS_WS_STORM_TITLE,
    kind: 'connects',
    brokers: OUR_BROKERS,
    variant: 'tls-ws',
    // Only the memory: whether listeners a deployment has cost anything per connection.
    rows: [rssPerConnectionRow(TLS_WS_STORM_TITLE)],
    run: storm(settings.stormConnections),
  },
  {
    id: 'retained',
    title: `${settings.retainedMessages / 1000}k retained -> one \`#\``,
    kind: 'time',
    targets: (bestOf) => {
      const o = bestOf('ours', headlineRow('retained', 'time'));
      return o === undefined ? [] : [target('retained delivery < 0.5 s', o.value < 500)];
    },
    run: (broker) => runRetained(broker, settings),
  },
];

/** The row of a scenario's headline figure (`RunResult.value`). */
function headlineRow(title: string, kind: Kind): RowSpec {
  return { title, kind, figure: (r) => r.value };
}

/** A storm's rows: connects/s, the broker's CPU time per connect, its RSS per idle connection. */
function stormRows(title: string): RowSpec[] {
  return [connectsRow(title), cpuPerConnectRow(title), rssPerConnectionRow(title)];
}

/** The target of `idle`: ours in at most 45 MB (MiB, as the CLI's sizes) with default flags. */
function idleTarget(bestOf: BestOf): string[] {
  const o = bestOf('ours', headlineRow(IDLE_TITLE, 'bytes'));
  if (o === undefined) return [];
  return [target(`${IDLE_TITLE} ≤ 45 MB (${formatBytes(o.value)})`, o.value <= 45 * 1024 * 1024)];
}

/** The target of a message scenario: ours at least twice as fast as Aedes. */
function twiceAedes(title: string): (bestOf: BestOf) => string[] {
  return (bestOf) => {
    const row = headlineRow(title, 'rate');
    const ratio = ratioOf('rate', bestOf('ours', row), bestOf('aedes', row));
    return ratio === undefined ? [] : [target(`${title} ≥ 2x Aedes`, ratio >= 2)];
  };
}

/**
 * The storm's targets, for the peers that ran: connects/s at least twice Aedes' and at least
 * Mosquitto's, CPU per connect at most 1.2 times Mosquitto's, RSS per idle connection at most 1.3
 * times the bare-socket floor's.
 */
function stormTargets(title: string): (bestOf: BestOf) => string[] {
  return (bestOf) => {
    const lines: string[] = [];
    const connects = connectsRow(title);
    const cpu = cpuPerConnectRow(title);
    const rss = rssPerConnectionRow(title);
    const ours = {
      connects: bestOf('ours', connects),
      cpu: bestOf('ours', cpu),
      rss: bestOf('ours', rss),
    };
    const aedes = bestOf('aedes', connects);
    if (ours.connects !== undefined && aedes !== undefined) {
      const ratio = ours.connects.value / aedes.value;
      lines.push(target(`${title} connects/s ≥ 2x Aedes (${formatRatio(ratio)})`, ratio >= 2));
    }
    const mosquitto = { connects: bestOf('mosquitto', connects), cpu: bestOf('mosquitto', cpu) };
    if (ours.connects !== undefined && mosquitto.connects !== undefined) {
      const ratio = ours.connects.value / mosquitto.connects.value;
      lines.push(target(`${title} connects/s ≥ Mosquitto's (${formatRatio(ratio)})`, ratio >= 1));
    }
    if (ours.cpu !== undefined && mosquitto.cpu !== undefined) {
      const ratio = ours.cpu.value / mosquitto.cpu.value;
      lines.push(
        target(
          `${title}: broker CPU per connect ≤ 1.2x Mosquitto's (${formatDuration(ours.cpu.value)} / ${formatDuration(mosquitto.cpu.value)} = ${formatRatio(ratio)})`,
          ratio <= 1.2,
        ),
      );
    }
    const bare = bestOf('bare', rss);
    if (ours.rss !== undefined && bare !== undefined) {
      const ratio = ours.rss.value / bare.value;
      lines.push(
        target(
          `${title}: RSS per idle connection ≤ 1.3x the bare-socket floor (${formatBytes(ours.rss.value)} / ${formatBytes(bare.value)} = ${formatRatio(ratio)})`,
          ratio <= 1.3,
        ),
      );
    }
    return lines;
  };
}

const only = values.only?.split(',');
const unknownIds = only?.filter((id) => !SCENARIOS.some((s) => s.id === id)) ?? [];
if (unknownIds.length > 0) {
  throw new Error(
    `--only ${unknownIds.join(',')}: no such scenario (${SCENARIOS.map((s) => s.id).join(', ')})`,
  );
}
/** The scenarios asked for that cannot run here, with the reason. */
const notRun: { readonly scenario: Scenario; readonly reason: string }[] = [];
const selected = SCENARIOS.filter((scenario) => {
  if (only !== undefined && !only.includes(scenario.id)) return false;
  const reason =
    scenario.unavailable?.() ??
    (setupsOf(scenario).length === 0 ? `no broker of --brokers runs it` : undefined);
  if (reason !== undefined) notRun.push({ scenario, reason });
  return reason === undefined;
});

const cliPath = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
if (brokerNames.includes('ours') && !existsSync(cliPath)) {
  throw new Error(`${cliPath} is missing: run pnpm build first (pnpm bench:broker does)`);
}
const setups = new Map(selected.map((scenario) => [scenario.id, setupsOf(scenario)]));
const allSetups = [...setups.values()].flat();
const usesRedis = allSetups.some((s) => s.store === 'redis');
// Fails now, not halfway through, when the Redis of the persistent-session scenarios is missing.
if (usesRedis) useRedis(redisUrl);
if (selected.some((s) => s.variant === 'tls-ws')) useThrowawayCertificate();
const nameWidth = Math.max(5, ...allSetups.map((s) => s.label.length));
const idWidth = Math.max(9, ...selected.map((s) => s.id.length));
const mosquittoText = brokerNames.includes('mosquitto') ? mosquittoVersion() : undefined;

const loadAverage = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

const log = (line: string) => console.log(line);
const machine = describeMachine();
const code = describeCode(fileURLToPath(new URL('../../../', import.meta.url)));
const baselineCode =
  baselineDir === undefined ? undefined : `${baselineDir}, ${describeCode(baselineDir)}`;
const loadAtStart = loadAverage();
const notRunLines = notRun.map(
  ({ scenario, reason }) => `Not run: ${scenario.id} (${scenario.title}): ${reason}.`,
);
log(`Machine: ${machine}`);
log(`Code: ${code}`);
if (baselineCode !== undefined) log(`Baseline: ${baselineCode}`);
log(`Load average (1/5/15 min) at start: ${loadAtStart}`);
log(
  `Settings: ${reps} run(s) per broker and scenario, warm-up ${settings.warmupMs} ms, ` +
    `measured ${settings.measureMs} ms, window x${settings.windowScale}, parser ${parserMode}`,
);
log(
  `Brokers: ${brokerNames.map(displayName).join(', ')}` +
    (mosquittoText === undefined ? '' : ` (${mosquittoText})`),
);
for (const line of notRunLines) log(line);

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
      variant: scenario.variant,
      // A profile needs node flags, which the `defaults` variant leaves out.
      cpuProfileDir: name === 'ours' && scenario.variant !== 'defaults' ? profileDir : undefined,
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
      `  ${scenario.id.padEnd(idWidth)} ${label.padEnd(nameWidth)} #${rep + 1}: ${headline(scenario.kind, result)}` +
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
    case 'connects': {
      const extra = result.extra;
      return (
        `${formatRate(result.value)} connects, ` +
        `${formatBytes(extra?.bytesPerConnection ?? Number.NaN)}/conn, ` +
        `${formatDuration(extra?.cpuMsPerConnection ?? Number.NaN)} CPU/conn`
      );
    }
    case 'bytes':
      return formatBytes(result.value);
    case 'time':
    case 'cpu':
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

/** Higher is better for rates, lower for bytes, times and CPU. */
const higherIsBetter = (kind: Kind) => kind === 'rate' || kind === 'connects';

/** The best run of a broker (by a figure, the headline by default) and its spread across runs. */
function best(
  kind: Kind,
  runs: readonly RunResult[],
  figure: (r: RunResult) => number = (r) => r.value,
): Best | undefined {
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
    kind === 'rate' || kind === 'connects'
      ? formatRate(value)
      : kind === 'bytes'
        ? formatBytes(value)
        : formatDuration(value);
  return spread === undefined || reps < 2 ? text : `${text} ±${((spread * 100) / 2).toFixed(0)}%`;
}

/** ours over a peer, > 1 when ours is better: ours / peer for rates, peer / ours otherwise. */
function ratioOf(kind: Kind, o: Best | undefined, peer: Best | undefined): number | undefined {
  if (o === undefined || peer === undefined) return undefined;
  return higherIsBetter(kind) ? o.value / peer.value : peer.value / o.value;
}

/**
 * ours / baseline, > 1 when ours is better, and whether the difference is within noise: no larger
 * than the spread between the runs of either build ((max - min) / median).
 */
function versusBaseline(kind: Kind, o: Best | undefined, b: Best | undefined): string {
  const ratio = ratioOf(kind, o, b);
  if (o === undefined || b === undefined || ratio === undefined) return '-';
  if (reps < 2) return formatRatio(ratio);
  const noise = Math.max(o.spread, b.spread);
  const within = Math.abs(ratio - 1) <= noise;
  return `${formatRatio(ratio)} ${within ? 'within' : 'outside'} ${(noise * 100).toFixed(0)}%`;
}

/** The brokers of the main tables (persistent sessions aside), one column each. */
const tableBrokers = brokerNames.filter((name) =>
  selected.some(
    (scenario) =>
      scenario.stores === undefined && setups.get(scenario.id)?.some((s) => s.name === name),
  ),
);
/** The brokers ours is compared with, a ratio column each: all but ours and the floor. */
const peers = tableBrokers.includes('ours')
  ? tableBrokers.filter((name) => name !== 'ours' && name !== 'bare')
  : [];
const columnName = (name: BrokerName) => (name === 'bare' ? 'bare floor' : displayName(name));
const withBaseline = brokerNames.includes('baseline');
const header = [
  'scenario',
  ...tableBrokers.map(columnName),
  ...peers.map((peer) => `ours / ${displayName(peer)}`),
];
const rows: string[][] = [];
/** Latency and peak RSS, one row per scenario: the main table would be too wide with them. */
const runHeader = [
  'scenario',
  ...tableBrokers.map((name) => `${columnName(name)} p50/p99`),
  ...tableBrokers.map((name) => `${columnName(name)} peak RSS`),
];
const runRows: string[][] = [];
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
  const runsOf = (name: BrokerName) => perBroker.get(name) ?? [];
  const bestOf: BestOf = (name, row) => best(row.kind, runsOf(name), row.figure);
  for (const row of scenario.rows ?? [headlineRow(scenario.title, scenario.kind)]) {
    const o = bestOf('ours', row);
    const cell = (name: BrokerName) => {
      const x = bestOf(name, row);
      return `${bound(row.kind, x?.run)}${show(row.kind, x?.value, x?.spread)}${incomplete(runsOf(name))}`;
    };
    const ratioCell = (peer: BrokerName) => {
      if (peer === 'baseline') return versusBaseline(row.kind, o, bestOf(peer, row));
      const ratio = ratioOf(row.kind, o, bestOf(peer, row));
      return ratio === undefined ? '-' : formatRatio(ratio);
    };
    rows.push([row.title, ...tableBrokers.map(cell), ...peers.map(ratioCell)]);
  }
  const headlineBest = (name: BrokerName) => best(scenario.kind, runsOf(name));
  // A memory reading has no latency, and its peak RSS is the figure itself.
  if (scenario.kind !== 'bytes')
    runRows.push([
      scenario.title,
      ...tableBrokers.map((name) => lat(headlineBest(name)?.run)),
      ...tableBrokers.map((name) => {
        const x = headlineBest(name);
        return x === undefined ? '-' : formatBytes(x.run.peakRss);
      }),
    ]);
  targets.push(...(scenario.targets?.(bestOf) ?? []));
}

/**
 * The rows of a persistent-session scenario, one per setup: its rate, and how it compares with
 * the same broker in memory (what the store costs) and with Aedes on the same store.
 */
function addPersistentRows(scenario: Scenario, perSetup: Map<string, RunResult[]>): void {
  const bestOf = (name: BrokerName, store: StoreKind) =>
    best('rate', perSetup.get(setupLabel(name, store)) ?? []);
  const ratio = (x: Best | undefined, y: Best | undefined) => ratioOf('rate', x, y);
  const ratioText = (value: number | undefined) => (value === undefined ? '-' : formatRatio(value));
  for (const s of setups.get(scenario.id) as Setup[]) {
    const runs = perSetup.get(s.label) ?? [];
    const x = best('rate', runs);
    persistentRows.push([
      scenario.title,
      `${displayName(s.name)} (${s.store})`,
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
    targets.push(target(`${scenario.title}: ours on SQLite ≥ 0.5x in memory`, sqlite >= 0.5));
  }
  const redis = ratio(bestOf('ours', 'redis'), bestOf('aedes', 'redis'));
  if (redis !== undefined) {
    targets.push(target(`${scenario.title}: ours on Redis ≥ 3x Aedes on Redis`, redis >= 3));
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

/** What each broker is, in the report: only those that ran. */
function brokerLegend(): string[] {
  const lines = [
    `mqtt-sessions flags: --store memory ${OUR_LIMIT_FLAGS.join(' ')}.`,
    ...(brokerNames.includes('aedes') ? [`Aedes: concurrency ${AEDES_CONCURRENCY}.`] : []),
    ...(brokerNames.includes('mosquitto')
      ? [
          `Mosquitto (${mosquittoText ?? 'version unknown'}): persistence false, max_queued_messages ${MOSQUITTO_LIMITS.maxQueuedMessages}, max_inflight_messages ${MOSQUITTO_LIMITS.maxInflightMessages}; no collector, so its memory is VmRSS as read.`,
        ]
      : []),
    ...(tableBrokers.includes('bare')
      ? [
          'bare floor: bench/bare-server.mjs, a Node net server that only answers CONNECT (storm and idle scenarios): what a socket costs in Node.',
        ]
      : []),
    `Ratio > 1 means mqtt-sessions is better (ours / peer for rates, peer / ours for memory, CPU and time). (!) marks a broker that did not deliver every message it had to; ≥ a rate at which the load generator used over ${LOADGEN_BOUND_PCT}% of a core, so the broker may be faster.`,
  ];
  if (setups.has('idle')) {
    lines.push(
      `idle: VmRSS ${IDLE_SETTLE_MS / 1000} s after the broker listens, no client, no GC run: ours started as a user would, with only --port, --ws-port, --metrics-port and a fresh --data-dir (SQLite store); no broker gets --expose-gc or the GC hook.`,
    );
  }
  if ([...setups.keys()].some((id) => id.startsWith('storm'))) {
    lines.push(
      'storm, RSS per idle connection: (VmRSS with the connections open - VmRSS before) / connections, with the broker idle at both readings. A Node broker is read before once V8 has trimmed what its start-up grew (12 s after it listens), and after once V8 has given back the young generation that the storm\'s garbage grew (up to 32 MiB whatever the number of connections; its memory reducer does so 10 to 20 s after the storm), each time after a full collection; Mosquitto 1 s after the storm. "Every run" also has the figure 1 s after the storm, before GC.',
    );
  }
  if (setups.has('storm-tls-ws')) {
    lines.push(
      'storm-tls-ws: ours with TLS, WebSocket and secure WebSocket listeners on (a throwaway self-signed certificate) and unused; the clients connect over plain TCP.',
    );
  }
  if (withBaseline) {
    lines.push(
      'baseline is mqtt-sessions built in the baseline checkout, run with the same flags. ours / baseline > 1 means the current build is better; "within n%" when the difference is no larger than the spread (max - min) / median between the runs of either build, "outside" otherwise.',
    );
  }
  return lines;
}

const loadAtEnd = loadAverage();
const alignFirstLeft = (columns: readonly string[], leftColumns = 1) =>
  columns.map((_, i) => (i < leftColumns ? 'left' : 'right') as 'left' | 'right');
const table = formatTable(header, rows, alignFirstLeft(header));
const runTable = formatTable(runHeader, runRows, alignFirstLeft(runHeader));
const persistentTable = formatTable(
  persistentHeader,
  persistentRows,
  alignFirstLeft(persistentHeader, 2),
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
  ...brokerLegend(),
  ...(rows.length === 0 ? [] : ['', table]),
  ...(runRows.length === 0
    ? []
    : ['', 'Latency (p50/p99) and peak RSS of the best run:', '', runTable]),
  ...(notRunLines.length === 0 ? [] : ['', ...notRunLines]),
  ...(persistentRows.length === 0
    ? []
    : [
        '',
        `Persistent sessions: every client connects with Clean Session 0, so its session outlives the connection and a durable store journals it. Ours runs with --store memory, --store sqlite (a fresh --data-dir under ${tmpdir()}, default --durability normal) or --store redis (a fresh --redis-prefix); Aedes with aedes-persistence-redis (a fresh key prefix) and mqemitter in memory; both Redis stores on ${redisUrl}. Mosquitto does not run here (its persistence is a periodic snapshot). "vs memory" is a rate over the same broker's in memory, "vs Aedes" over Aedes' on the same store. RSS is the broker's alone; CPU adds the Redis server's (% of a core).`,
        '',
        persistentTable,
      ]),
  '',
  'Targets:',
  ...(targets.length > 0 ? targets : ['- none name the brokers and scenarios of this run']),
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
  values.brokers === undefined &&
  baselineDir === undefined &&
  profileDir === undefined
) {
  const path = fileURLToPath(new URL('./results.md', import.meta.url));
  writeFileSync(path, `# pnpm bench:broker results\n\n${report}`);
  log(`written to ${path}`);
}
