/**
 * `pnpm bench:cluster`: mqtt-sessions in cluster mode over Redis, in one run, with the load
 * generator of `pnpm bench:broker` (bench/client.ts, bench/scenarios.ts). Prints Markdown tables
 * and writes them to bench/cluster-results.md.
 *
 *   node --import tsx bench/cluster.ts [--reps 3] [--only fan-out,pairs,cross-node]
 *     [--warmup 1000] [--measure 3000] [--redis-url redis://...] [--checkout <dir>] [--no-write]
 *     [--profile <dir>]
 *
 * 1. fan-out, pairs: one broker process against `--workers 2` (and one process with `--cluster`,
 *    a cluster of one node), all on Redis, with the scenarios and limits of `pnpm bench:broker`.
 *    The node:cluster primary spreads connections over the workers in turn, so about half of the
 *    pairs and half of the fan-out's subscribers are on the other worker than their publisher.
 * 2. cross-node: two `--cluster` brokers, publishers on node A and their subscribers on node B:
 *    throughput at QoS 1 (closed loop), latency at a fixed rate, Redis commands per message,
 *    per connect and per subscription (bench/cluster-flow.ts).
 * 3. The same cross-node run against two Aedes processes joined by mqemitter-redis and
 *    aedes-persistence-redis (bench/aedes-server.mjs --mq redis --persistence redis).
 *
 * Every run starts fresh broker processes under a fresh Redis key prefix, whose keys are deleted
 * afterwards. Without --redis-url the benchmark starts a Redis server of its own on a free port,
 * so that its command counts and CPU time are the brokers' alone. Every process it starts is a
 * process group of its own, killed at the end, on failure and on Ctrl-C.
 */
import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { describeCode } from '../../../tooling/bench/code.ts';
import { describeMachine } from '../../../tooling/bench/machine.ts';
import {
  formatDuration,
  formatRate,
  formatRatio,
  formatTable,
  median,
  summarize,
} from '../../../tooling/bench/stats.ts';
import { AEDES_CONCURRENCY, freePort, OUR_LIMIT_FLAGS, waitForQuiet } from './brokers.ts';
import { HOST } from './client.ts';
import { type CrossNodeResult, type LoopResult, runCrossNode } from './cluster-flow.ts';
import {
  asFlowBroker,
  freshPrefix,
  NodeGroup,
  type RedisServer,
  redisCli,
  releasePrefix,
  useRedisServer,
} from './cluster-nodes.ts';
import { FAN_OUT, type FlowSpec, PAIRS, type RunResult, runFlow } from './scenarios.ts';

const { values } = parseArgs({
  options: {
    reps: { type: 'string', default: '3' },
    only: { type: 'string' },
    warmup: { type: 'string', default: '1000' },
    measure: { type: 'string', default: '3000' },
    workers: { type: 'string', default: '2' },
    'cross-pairs': { type: 'string', default: '100' },
    'cross-window': { type: 'string', default: '20' },
    'single-window': { type: 'string', default: '100' },
    'latency-rate': { type: 'string', default: '2000' },
    'latency-ms': { type: 'string', default: '3000' },
    'redis-url': { type: 'string' },
    checkout: { type: 'string' },
    'quiet-pct': { type: 'string', default: '25' },
    'quiet-wait': { type: 'string', default: '120' },
    'max-other': { type: 'string', default: '40' },
    profile: { type: 'string' },
    'no-write': { type: 'boolean', default: false },
  },
});

const reps = Number(values.reps);
const warmupMs = Number(values.warmup);
const measureMs = Number(values.measure);
const workers = Number(values.workers);
const crossPairs = Number(values['cross-pairs']);
const crossWindow = Number(values['cross-window']);
const singleWindow = Number(values['single-window']);
const latencyRate = Number(values['latency-rate']);
const latencyMs = Number(values['latency-ms']);
const quietPct = Number(values['quiet-pct']);
const quietWaitMs = Number(values['quiet-wait']) * 1000;
/** A run during which other processes used more than this (% of a core) is run once more. */
const maxOtherPct = Number(values['max-other']);

const SCENARIO_IDS = ['fan-out', 'pairs', 'cross-node'] as const;
type ScenarioId = (typeof SCENARIO_IDS)[number];
const only = values.only?.split(',') as ScenarioId[] | undefined;
for (const id of only ?? []) {
  if (!SCENARIO_IDS.includes(id))
    throw new Error(`--only ${id}: one of ${SCENARIO_IDS.join(', ')}`);
}
const selected = (id: ScenarioId) => only === undefined || only.includes(id);

/** The checkout whose built broker runs: this one, or --checkout (e.g. a worktree of a commit). */
const root = resolve(values.checkout ?? fileURLToPath(new URL('../../../', import.meta.url)));
const cliPath = join(root, 'packages/broker/dist/cli.js');
if (!existsSync(cliPath)) throw new Error(`${cliPath} is missing: run pnpm build first`);
const aedesPath = fileURLToPath(new URL('./aedes-server.mjs', import.meta.url));

/** How one broker setup runs: our broker with some flags, or Aedes. */
interface Setup {
  readonly id: string;
  readonly title: string;
}

/** The setups of fan-out and pairs: one process, one process as a cluster of one, --workers. */
const SINGLE: Setup = { id: 'single', title: '1 process' };
const SINGLE_CLUSTER: Setup = { id: 'single-cluster', title: '1 process, --cluster' };
const WORKERS: Setup = { id: 'workers', title: `--workers ${workers}` };
const FLOW_SETUPS = [SINGLE, SINGLE_CLUSTER, WORKERS];
/** The setups of the cross-node scenario. */
const OURS: Setup = { id: 'ours', title: 'mqtt-sessions' };
const AEDES: Setup = { id: 'aedes', title: 'Aedes' };
const CROSS_SETUPS = [OURS, AEDES];

const execFileAsync = promisify(execFile);
const log = (line: string) => console.log(line);
const loadAverage = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

/** Our broker's flags in every setup: as `pnpm bench:broker` runs it, on Redis. */
function ourFlags(port: number, redisUrl: string, prefix: string): string[] {
  return [
    ...['--host', HOST, '--port', String(port), '--ws-port', 'off', '--metrics-port', 'off'],
    ...['--sys-interval', '0', '--log-level', 'warn', ...OUR_LIMIT_FLAGS],
    ...['--store', 'redis', '--retain-store', 'redis'],
    ...['--redis-url', redisUrl, '--redis-prefix', prefix],
  ];
}

/** How many cluster nodes have joined under `prefix` (their leases). */
function nodesJoined(redisUrl: string, prefix: string): number {
  return Number(redisCli(redisUrl, 'zcard', `${prefix}{cluster}:nodes`).trim());
}

/**
 * Starts our broker with `extra` flags; with `nodes`, resolves only once that many cluster nodes
 * hold a lease under the prefix (each joins before it listens) and its port accepts connections.
 */
async function startOurs(
  label: string,
  port: number,
  redis: RedisServer,
  prefix: string,
  extra: readonly string[],
  nodes?: number,
): Promise<NodeGroup> {
  // A --workers supervisor's workers inherit its node flags (process.execArgv).
  const profile =
    values.profile === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${resolve(values.profile)}`];
  const group = await NodeGroup.start(
    label,
    process.execPath,
    [...profile, cliPath, ...ourFlags(port, redis.url, prefix), ...extra],
    port,
    nodes === undefined ? undefined : () => nodesJoined(redis.url, prefix) >= nodes,
  );
  // node:cluster hands connections only to workers that listen: give the last one a moment.
  if (nodes !== undefined && nodes > 1) await new Promise((r) => setTimeout(r, 300));
  return group;
}

async function startAedes(
  label: string,
  port: number,
  redis: RedisServer,
  prefix: string,
): Promise<NodeGroup> {
  return NodeGroup.start(
    label,
    process.execPath,
    [
      aedesPath,
      ...['--port', String(port), '--id', label, '--concurrency', String(AEDES_CONCURRENCY)],
      ...['--persistence', 'redis', '--mq', 'redis'],
      ...['--redis-url', redis.url, '--redis-prefix', prefix],
    ],
    port,
  );
}

/** One run of a scenario on a setup. */
interface Run {
  readonly scenario: ScenarioId;
  readonly setup: Setup;
  readonly rep: number;
  /** fan-out and pairs. */
  readonly flow?: RunResult;
  /** cross-node. */
  readonly cross?: CrossNodeResult;
  /** --workers: the share of deliveries whose publisher and subscriber are on different workers. */
  readonly crossing?: number | undefined;
  /** Why the run failed, if it did: then it has no figures. */
  readonly error?: string;
  /** Whether a broker died during the run, and what the brokers printed. */
  readonly died: boolean;
  readonly output: string;
  readonly keysDeleted: number;
  /** CPU of everything else during the measured interval, % of a core. */
  readonly other: number;
}

const flowSettings = {
  warmupMs,
  measureMs,
  windowScale: 1,
  // Connection storms and retained messages are not run here.
  stormConnections: 0,
  largeStormConnections: 0,
  stormInFlight: 0,
  retainedMessages: 0,
};

const FLOW_SPECS: Record<'fan-out' | 'pairs', { spec: FlowSpec; title: string }> = {
  'fan-out': { spec: FAN_OUT, title: 'fan-out 1 -> 1000, QoS 0 (deliveries/s)' },
  pairs: { spec: PAIRS, title: '1000 pairs, QoS 1 (msgs/s)' },
};

/** fan-out or pairs on one setup, in fresh broker processes under a fresh prefix. */
async function runFlowOnce(
  redis: RedisServer,
  scenario: 'fan-out' | 'pairs',
  setup: Setup,
  rep: number,
): Promise<Run> {
  const prefix = freshPrefix(redis.url, setup.id);
  const port = await freePort();
  const extra =
    setup === WORKERS
      ? ['--workers', String(workers), '--node-id', 'bench']
      : setup === SINGLE_CLUSTER
        ? ['--cluster', '--node-id', 'bench-1']
        : [];
  const nodes = setup === WORKERS ? workers : setup === SINGLE_CLUSTER ? 1 : undefined;
  let group: NodeGroup | undefined;
  let flow: RunResult;
  let keysDeleted = 0;
  let crossing: number | undefined;
  try {
    group = await startOurs(setup.id, port, redis, prefix, extra, nodes);
    const watch = { done: false };
    const placement =
      setup === WORKERS ? watchPlacement(redis.url, prefix, scenario, watch) : undefined;
    try {
      flow = await runFlow(
        asFlowBroker(group, port, redis),
        FLOW_SPECS[scenario].spec,
        flowSettings,
      );
    } finally {
      watch.done = true;
      crossing = await placement;
    }
  } finally {
    await group?.stop();
    keysDeleted = releasePrefix(prefix);
  }
  return {
    scenario,
    setup,
    rep,
    flow,
    crossing,
    died: group.died,
    output: group.output,
    keysDeleted,
    other: flow.cpu.other,
  };
}

/**
 * Where the clients of a `--workers` run landed: once every client of the scenario is connected,
 * reads which worker holds each client id (its owner key in Redis) and returns the share of
 * deliveries that cross workers: of the pairs, those whose publisher and subscriber are on
 * different workers; of the fan-out, the subscribers on another worker than the publisher.
 * runFlow names its clients s<i> and p<i>. Undefined if not every client was seen connected.
 */
async function watchPlacement(
  redisUrl: string,
  prefix: string,
  scenario: 'fan-out' | 'pairs',
  watch: { done: boolean },
): Promise<number | undefined> {
  const spec = FLOW_SPECS[scenario].spec;
  const ids = [
    ...Array.from({ length: spec.subscribers }, (_, i) => `s${i}`),
    ...Array.from({ length: spec.publishers }, (_, i) => `p${i}`),
  ];
  // The broker's one pool is "default": the key holds the pool name's length, then the name.
  const keys = ids.map((id) => `${prefix}{cluster}:owner:7:default:${id}`);
  while (!watch.done) {
    await new Promise((r) => setTimeout(r, 250));
    let owners: string[];
    try {
      const { stdout } = await execFileAsync('redis-cli', ['-u', redisUrl, 'mget', ...keys]);
      owners = stdout.split('\n').slice(0, keys.length);
    } catch {
      continue;
    }
    if (owners.length < keys.length || owners.some((owner) => owner === '')) continue;
    const ownerOf = (id: string) => owners[ids.indexOf(id)];
    let crossing = 0;
    for (let s = 0; s < spec.subscribers; s++) {
      const publisher = scenario === 'pairs' ? `p${s}` : 'p0';
      if (ownerOf(`s${s}`) !== ownerOf(publisher)) crossing++;
    }
    return crossing / spec.subscribers;
  }
  return undefined;
}

/** The cross-node scenario on ours or Aedes: two nodes, publishers on A, subscribers on B. */
async function runCrossOnce(redis: RedisServer, setup: Setup, rep: number): Promise<Run> {
  const prefix = freshPrefix(redis.url, setup.id);
  const ports = [await freePort(), await freePort()] as const;
  const nodes: NodeGroup[] = [];
  let cross: CrossNodeResult;
  let keysDeleted = 0;
  try {
    for (const [i, name] of (['a', 'b'] as const).entries()) {
      const port = ports[i] as number;
      nodes.push(
        setup === AEDES
          ? await startAedes(`aedes-${name}`, port, redis, prefix)
          : await startOurs(
              `node-${name}`,
              port,
              redis,
              prefix,
              ['--cluster', '--node-id', name],
              i + 1,
            ),
      );
    }
    cross = await runCrossNode({
      nodes: nodes as [NodeGroup, NodeGroup],
      ports,
      redis,
      pairs: crossPairs,
      window: crossWindow,
      singleWindow,
      warmupMs,
      measureMs,
      latencyRate,
      latencyWarmupMs: 500,
      latencyMs,
    });
  } finally {
    for (const node of nodes) await node.stop();
    keysDeleted = releasePrefix(prefix);
  }
  return {
    scenario: 'cross-node',
    setup,
    rep,
    cross,
    died: nodes.some((n) => n.died),
    output: nodes
      .map((n) => (n.output === '' ? '' : `[${n.label}] ${n.output}`))
      .filter((text) => text !== '')
      .join('\n'),
    keysDeleted,
    other: cross.throughput.cpu.other,
  };
}

/**
 * Runs once when the machine is quiet; once more if other processes disturbed it. A run that
 * fails (a broker that does not start, a client refused) is recorded as failed, and the others go
 * on.
 */
async function runQuietly(
  scenario: ScenarioId,
  setup: Setup,
  rep: number,
  attempt: () => Promise<Run>,
): Promise<Run> {
  let kept: Run | undefined;
  for (let i = 0; i < 2; i++) {
    const quiet = await waitForQuiet(quietPct, quietWaitMs);
    if (quiet.waitedMs > 1000) {
      log(`  (waited ${(quiet.waitedMs / 1000).toFixed(0)} s for other processes to calm down)`);
    }
    let run: Run;
    try {
      run = await attempt();
    } catch (error) {
      run = {
        scenario,
        setup,
        rep,
        error: String(error),
        died: false,
        output: '',
        keysDeleted: 0,
        other: 0,
      };
    }
    log(`  ${describeRun(run)}`);
    if (run.output !== '') log(`  broker output: ${run.output.slice(0, 2000)}`);
    if (run.error !== undefined || run.died || run.other <= maxOtherPct) return run;
    log(`  -- other processes used ${run.other.toFixed(0)}% of a core: run again`);
    if (kept === undefined || run.other < kept.other) kept = run;
  }
  return kept as Run;
}

const pct = (x: number) => `${x.toFixed(0)}%`;
const micros = (ms: number) => `${(ms * 1000).toFixed(1)} µs`;

function describeRun(run: Run): string {
  const head = `${run.scenario.padEnd(10)} ${run.setup.title.padEnd(20)} #${run.rep + 1}:`;
  const tail = `${run.died ? ', A BROKER DIED' : ''}; ${run.keysDeleted} keys deleted`;
  if (run.error !== undefined) return `${head} FAILED: ${run.error.slice(0, 2000)}`;
  if (run.flow !== undefined) {
    const r = run.flow;
    return (
      `${head} ${formatRate(r.value)}, p50/p99 ${formatDuration(r.p50 ?? Number.NaN)} / ` +
      `${formatDuration(r.p99 ?? Number.NaN)}, CPU broker ${pct(r.cpu.broker)} + Redis ` +
      `${pct(r.cpu.store)}, load gen ${pct(r.cpu.loadgen)}, other ${pct(r.cpu.other)}` +
      `${run.crossing === undefined ? '' : `, ${pct(run.crossing * 100)} of deliveries cross workers`}` +
      `${r.complete ? '' : ', INCOMPLETE'}; ${r.note}${tail}`
    );
  }
  const c = run.cross as CrossNodeResult;
  const t = c.throughput;
  return (
    `${head} ${formatRate(t.rate)} (${t.commandsPerMessage.toFixed(2)} Redis cmds/msg), ` +
    `1 publisher ${formatRate(c.single.rate)} (${c.single.commandsPerMessage.toFixed(2)} cmds/msg, ` +
    `write calls/msg A ${writesPerMessage(c.single, 0)} B ${writesPerMessage(c.single, 1)}), ` +
    `at ${latencyRate}/s p50/p99 ${formatDuration(c.fixedRate.p50)} / ` +
    `${formatDuration(c.fixedRate.p99)} (${c.fixedRate.commandsPerMessage.toFixed(2)} cmds/msg); ` +
    `closed loop CPU ${cpuText(t)}, write calls/msg A ${writesPerMessage(t, 0)} B ` +
    `${writesPerMessage(t, 1)}; fixed rate CPU ${cpuText(c.fixedRate)}` +
    `${c.complete ? '' : ', INCOMPLETE'}; ${c.note}${tail}`
  );
}

function writesPerMessage(loop: LoopResult, node: number): string {
  return ((loop.cpu.writeCalls[node] ?? 0) / Math.max(1, loop.delivered)).toFixed(2);
}

function cpuText(loop: LoopResult): string {
  const cpu = loop.cpu;
  return (
    `A ${pct(cpu.nodes[0] ?? 0)} B ${pct(cpu.nodes[1] ?? 0)} Redis ${pct(cpu.redis)} ` +
    `load gen ${pct(cpu.loadgen)} other ${pct(cpu.other)}`
  );
}

// ---------------------------------------------------------------------------------------------

const benchStart = performance.now();
const redis = await useRedisServer(values['redis-url'] ?? process.env.REDIS_URL);
const machine = describeMachine();
const code = describeCode(root);
const date = new Date().toISOString();
const loadAtStart = loadAverage();
const redisText = redis.private
  ? `a private redis-server ${redis.version} started for this run (in memory, no persistence)`
  : `Redis ${redis.version} at ${redis.url.replace(/\/\/[^@]*@/, '//')}`;
log(`Machine: ${machine}`);
log(`Code: ${code}`);
log(`Date: ${date}; load average (1/5/15 min) at start: ${loadAtStart}`);
log(`Redis: ${redisText}`);
log(`Settings: ${reps} runs per setup, warm-up ${warmupMs} ms, measured ${measureMs} ms`);

const runs: Run[] = [];
try {
  for (const scenario of ['fan-out', 'pairs'] as const) {
    if (!selected(scenario)) continue;
    for (let rep = 0; rep < reps; rep++) {
      for (const setup of FLOW_SETUPS) {
        runs.push(
          await runQuietly(scenario, setup, rep, () => runFlowOnce(redis, scenario, setup, rep)),
        );
      }
    }
  }
  if (selected('cross-node')) {
    for (let rep = 0; rep < reps; rep++) {
      for (const setup of CROSS_SETUPS) {
        runs.push(
          await runQuietly('cross-node', setup, rep, () => runCrossOnce(redis, setup, rep)),
        );
      }
    }
  }
} finally {
  await redis.stop();
}

// ---------------------------------------------------------------------------------------------
// Report: medians of the runs of each setup.

/** The runs of a setup in a scenario that did not fail. */
const runsOf = (scenario: ScenarioId, setup: Setup) =>
  runs.filter((r) => r.scenario === scenario && r.setup === setup && r.error === undefined);
const failed = runs.filter((r) => r.error !== undefined);
const med = (xs: readonly number[]) => (xs.length === 0 ? Number.NaN : median(xs));
const spreadText = (xs: readonly number[]) =>
  xs.length < 2 ? '' : ` ±${((summarize(xs).spread * 100) / 2).toFixed(0)}%`;
const incomplete = (rs: readonly Run[]) =>
  rs.some((r) => r.died || (r.flow?.complete ?? r.cross?.complete) === false) ? ' (!)' : '';

const flowHeader = [
  'scenario',
  'setup',
  'rate (median)',
  `vs 1 process`,
  'crossing workers',
  'p50 / p99',
  'broker CPU',
  'Redis CPU',
  'load gen CPU',
];
const flowRows: string[][] = [];
/** The median share of deliveries that crossed workers, over the runs that saw it. */
function crossingText(rs: readonly Run[]): string {
  const xs = rs.flatMap((r) => (r.crossing === undefined ? [] : [r.crossing]));
  return xs.length === 0 ? '?' : pct(med(xs) * 100);
}
for (const scenario of ['fan-out', 'pairs'] as const) {
  const base = med(runsOf(scenario, SINGLE).map((r) => r.flow?.value ?? Number.NaN));
  for (const setup of FLOW_SETUPS) {
    const rs = runsOf(scenario, setup);
    if (rs.length === 0) continue;
    const f = (pick: (r: RunResult) => number) => med(rs.map((r) => pick(r.flow as RunResult)));
    const rate = f((r) => r.value);
    flowRows.push([
      FLOW_SPECS[scenario].title,
      setup.title,
      `${formatRate(rate)}${spreadText(rs.map((r) => r.flow?.value ?? 0))}${incomplete(rs)}`,
      setup === SINGLE ? '-' : formatRatio(rate / base),
      setup === WORKERS ? crossingText(rs) : '-',
      `${formatDuration(f((r) => r.p50 ?? Number.NaN))} / ${formatDuration(f((r) => r.p99 ?? Number.NaN))}`,
      pct(f((r) => r.cpu.broker)),
      pct(f((r) => r.cpu.store)),
      pct(f((r) => r.cpu.loadgen)),
    ]);
  }
}

/** A figure of the cross-node runs of a setup: the median over its runs. */
const crossFigure = (setup: Setup, pick: (c: CrossNodeResult) => number) =>
  med(runsOf('cross-node', setup).map((r) => pick(r.cross as CrossNodeResult)));
const perMessageMs = (loop: LoopResult, ms: number) =>
  ms / Math.max(1, loop.rate * (loop.cpu.ms / 1000));

interface CrossRow {
  readonly title: string;
  readonly pick: (c: CrossNodeResult) => number;
  readonly show: (x: number) => string;
  /** Ratio ours / Aedes when higher is better, Aedes / ours when lower is; none if undefined. */
  readonly higherIsBetter?: boolean;
}
const count2 = (x: number) => x.toFixed(2);
const crossRowSpecs: CrossRow[] = [
  {
    title: `throughput, ${crossPairs} pairs A -> B, QoS 1, window ${crossWindow} (msgs/s)`,
    pick: (c) => c.throughput.rate,
    show: formatRate,
    higherIsBetter: true,
  },
  {
    title: 'latency p50 in that closed loop (queueing)',
    pick: (c) => c.throughput.p50,
    show: formatDuration,
    higherIsBetter: false,
  },
  {
    title: `throughput, 1 publisher A -> 1 subscriber B, QoS 1, window ${singleWindow} (msgs/s)`,
    pick: (c) => c.single.rate,
    show: formatRate,
    higherIsBetter: true,
  },
  {
    title: 'Redis commands per delivered message, 1 publisher',
    pick: (c) => c.single.commandsPerMessage,
    show: count2,
    higherIsBetter: false,
  },
  {
    title: `latency p50 at ${latencyRate} msgs/s`,
    pick: (c) => c.fixedRate.p50,
    show: formatDuration,
    higherIsBetter: false,
  },
  {
    title: `latency p99 at ${latencyRate} msgs/s`,
    pick: (c) => c.fixedRate.p99,
    show: formatDuration,
    higherIsBetter: false,
  },
  {
    title: 'Redis commands per delivered message, closed loop',
    pick: (c) => c.throughput.commandsPerMessage,
    show: count2,
    higherIsBetter: false,
  },
  {
    title: `Redis commands per delivered message at ${latencyRate} msgs/s`,
    pick: (c) => c.fixedRate.commandsPerMessage,
    show: count2,
    higherIsBetter: false,
  },
  {
    title: 'Redis commands per connect',
    pick: (c) => c.commandsPerConnect,
    show: count2,
    higherIsBetter: false,
  },
  {
    title: 'Redis commands per subscription',
    pick: (c) => c.commandsPerSubscription,
    show: count2,
    higherIsBetter: false,
  },
  {
    title: 'Redis commands per second, both nodes idle',
    pick: (c) => c.idleCommandsPerSecond,
    show: (x) => x.toFixed(1),
  },
  {
    title: 'broker CPU per message, A + B, closed loop',
    pick: (c) => perMessageMs(c.throughput, c.throughput.cpu.nodesMs),
    show: micros,
    higherIsBetter: false,
  },
  {
    title: 'Redis CPU per message, closed loop',
    pick: (c) => perMessageMs(c.throughput, c.throughput.cpu.redisMs),
    show: micros,
    higherIsBetter: false,
  },
  {
    title: 'write system calls per message, node A, closed loop',
    pick: (c) => (c.throughput.cpu.writeCalls[0] ?? 0) / Math.max(1, c.throughput.delivered),
    show: count2,
    higherIsBetter: false,
  },
  {
    title: 'write system calls per message, node B, closed loop',
    pick: (c) => (c.throughput.cpu.writeCalls[1] ?? 0) / Math.max(1, c.throughput.delivered),
    show: count2,
    higherIsBetter: false,
  },
  {
    title: 'CPU in the closed loop: node A / node B / Redis / load gen',
    pick: () => Number.NaN,
    show: () => '',
  },
];
const crossHeader = [
  'cross-node (2 processes, one Redis)',
  OURS.title,
  AEDES.title,
  'ours / Aedes',
];
const crossRows: string[][] = [];
const hasCross = runs.some((r) => r.scenario === 'cross-node');
if (hasCross) {
  for (const row of crossRowSpecs) {
    if (row.title.startsWith('CPU in the closed loop')) {
      const cpuCell = (setup: Setup) => {
        const rs = runsOf('cross-node', setup).map(
          (r) => (r.cross as CrossNodeResult).throughput.cpu,
        );
        if (rs.length === 0) return '-';
        return [
          med(rs.map((c) => c.nodes[0] ?? 0)),
          med(rs.map((c) => c.nodes[1] ?? 0)),
          med(rs.map((c) => c.redis)),
          med(rs.map((c) => c.loadgen)),
        ]
          .map(pct)
          .join(' / ');
      };
      crossRows.push([row.title, cpuCell(OURS), cpuCell(AEDES), '-']);
      continue;
    }
    const ours = crossFigure(OURS, row.pick);
    const aedes = crossFigure(AEDES, row.pick);
    const ratio =
      row.higherIsBetter === undefined
        ? Number.NaN
        : row.higherIsBetter
          ? ours / aedes
          : aedes / ours;
    const cell = (setup: Setup, x: number) => {
      const rs = runsOf('cross-node', setup);
      if (rs.length === 0) return '-';
      const spread = row.higherIsBetter
        ? spreadText(rs.map((r) => row.pick(r.cross as CrossNodeResult)))
        : '';
      return `${row.show(x)}${spread}${row === crossRowSpecs[0] ? incomplete(rs) : ''}`;
    };
    crossRows.push([
      row.title,
      cell(OURS, ours),
      cell(AEDES, aedes),
      Number.isFinite(ratio) ? formatRatio(ratio) : '-',
    ]);
  }
}

/** The commands per message of a setup's median run (by throughput), the most frequent first. */
function commandMix(setup: Setup, loop: (c: CrossNodeResult) => LoopResult, top = 8): string {
  const rs = runsOf('cross-node', setup)
    .map((r) => r.cross as CrossNodeResult)
    .sort((a, b) => a.throughput.rate - b.throughput.rate);
  const mid = rs[Math.floor((rs.length - 1) / 2)];
  if (mid === undefined) return '-';
  return [...loop(mid).commands]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, n]) => `${name} ${n.toFixed(n >= 0.1 ? 2 : 3)}`)
    .join(', ');
}

/** The commands of a setup's median run in a phase (connect or subscribe), per client or filter. */
function phaseMix(setup: Setup, pick: (c: CrossNodeResult) => Map<string, number>, per: number) {
  const rs = runsOf('cross-node', setup).map((r) => r.cross as CrossNodeResult);
  const mid = rs.sort((a, b) => a.throughput.rate - b.throughput.rate)[
    Math.floor((rs.length - 1) / 2)
  ];
  if (mid === undefined) return '-';
  return [...pick(mid)]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 6)
    .map(([name, n]) => `${name} ${(n / per).toFixed(2)}`)
    .join(', ');
}

const targets: string[] = [];
if (hasCross) {
  const ratio =
    crossFigure(OURS, (c) => c.throughput.rate) / crossFigure(AEDES, (c) => c.throughput.rate);
  if (Number.isFinite(ratio)) {
    targets.push(
      `- ${ratio >= 3 ? 'met' : 'MISSED'}: cross-node throughput ≥ 3x Aedes clustered (${formatRatio(ratio)})`,
    );
  }
}

/**
 * The figures of the scaling model: what one node delivers per core, what a forwarded message
 * costs each node and Redis, what a subscription change and a connect cost Redis.
 */
const scaling: string[] = [];
{
  const pairsRuns = runsOf('pairs', SINGLE).map((r) => r.flow as RunResult);
  if (pairsRuns.length > 0) {
    const rate = med(pairsRuns.map((r) => r.value));
    const perCore = med(pairsRuns.map((r) => (r.value * 100) / Math.max(1, r.cpu.broker)));
    scaling.push(
      `- One process, 1000 pairs at QoS 1: ${formatRate(rate)}, ${formatRate(perCore)} per core of broker CPU (${micros(1000 / perCore)} of broker CPU per message).`,
    );
  }
  if (runsOf('cross-node', OURS).length > 0) {
    const nodeMs = (i: number) =>
      crossFigure(
        OURS,
        (c) => ((c.throughput.cpu.nodes[i] ?? 0) * 10) / Math.max(1, c.throughput.rate),
      );
    const perCore = crossFigure(
      OURS,
      (c) =>
        (c.throughput.rate * 100) /
        Math.max(1, (c.throughput.cpu.nodes[0] ?? 0) + (c.throughput.cpu.nodes[1] ?? 0)),
    );
    scaling.push(
      `- A message forwarded from node A to node B (closed loop, ${crossPairs} publishers): ${micros(nodeMs(0))} of CPU on A (receive, route, XADD, PUBACK) and ${micros(nodeMs(1))} on B (XREADGROUP, deliver, XACK, XDEL); ${formatRate(perCore)} per core of broker CPU, A and B together; ${micros(crossFigure(OURS, (c) => perMessageMs(c.throughput, c.throughput.cpu.redisMs)))} of Redis CPU.`,
      `- Redis commands per forwarded message: ${crossFigure(OURS, (c) => c.throughput.commandsPerMessage).toFixed(2)} with ${crossPairs} publishers in a closed loop, ${crossFigure(OURS, (c) => c.fixedRate.commandsPerMessage).toFixed(2)} at ${latencyRate} msgs/s, ${crossFigure(OURS, (c) => c.single.commandsPerMessage).toFixed(2)} with one publisher (Aedes: ${crossFigure(AEDES, (c) => c.throughput.commandsPerMessage).toFixed(2)}, ${crossFigure(AEDES, (c) => c.fixedRate.commandsPerMessage).toFixed(2)}, ${crossFigure(AEDES, (c) => c.single.commandsPerMessage).toFixed(2)}).`,
      `- Redis commands per subscription change: ${crossFigure(OURS, (c) => c.commandsPerSubscription).toFixed(2)}; per connect: ${crossFigure(OURS, (c) => c.commandsPerConnect).toFixed(2)}; per second with both nodes idle: ${crossFigure(OURS, (c) => c.idleCommandsPerSecond).toFixed(1)} (Aedes: ${crossFigure(AEDES, (c) => c.commandsPerSubscription).toFixed(2)}, ${crossFigure(AEDES, (c) => c.commandsPerConnect).toFixed(2)}, ${crossFigure(AEDES, (c) => c.idleCommandsPerSecond).toFixed(1)}).`,
    );
  }
}

const elapsedS = (performance.now() - benchStart) / 1000;
const detailRows = runs.map((r) => [
  r.scenario,
  `${r.setup.title} #${r.rep + 1}`,
  describeRun(r).replace(/^.*?#\d+: /, ''),
]);
const loadAtEnd = loadAverage();
const align = (columns: readonly string[], left = 1) =>
  columns.map((_, i) => (i < left ? 'left' : 'right') as 'left' | 'right');
const report = [
  `Machine: ${machine}`,
  `Code: ${code}`,
  `Date: ${date}. Load average (1/5/15 min): ${loadAtStart} at start, ${loadAtEnd} at end. The run took ${elapsedS.toFixed(0)} s.`,
  `Redis: ${redisText}.`,
  `Runs: ${reps} per setup and scenario, in turn, each in fresh broker processes under a fresh Redis key prefix (deleted afterwards); the tables show the median (±half the spread of the headline figure). Closed loops: warm-up ${warmupMs} ms, measured ${measureMs} ms; fixed rate: ${latencyRate} msgs/s, 500 ms warm-up, ${latencyMs} ms measured.`,
  `mqtt-sessions flags: ${OUR_LIMIT_FLAGS.join(' ')} --store redis --retain-store redis --redis-prefix <fresh>; plus --cluster --node-id <id> or --workers ${workers}. Aedes: ${AEDES_CONCURRENCY} concurrency, mqemitter-redis (pub/sub channels under the prefix) and aedes-persistence-redis (keys under the prefix), bench/aedes-server.mjs --mq redis --persistence redis. (!) marks a setup with a run that lost, duplicated or did not acknowledge a message, or whose broker died.`,
  ...(flowRows.length === 0
    ? []
    : [
        '',
        `### 1 process vs --workers ${workers}`,
        '',
        `The scenarios of \`pnpm bench:broker\` (1000 subscribers of one topic; 1000 publishers each with a subscriber of its own topic), all connections to one port. With --workers ${workers} the primary hands connections to the workers in turn, so about half of the subscribers (fan-out) and of the pairs are on another worker than their publisher, and those messages go through Redis. CPU is % of one core: the broker's is all its processes' (supervisor and workers), on a machine of ${os.availableParallelism()} cores shared with Redis and the load generator.`,
        '',
        formatTable(flowHeader, flowRows, align(flowHeader, 2)),
      ]),
  ...(crossRows.length === 0
    ? []
    : [
        '',
        '### Cross-node delivery',
        '',
        `Two broker processes on one Redis: ${crossPairs} publishers connected to node A, each on topic x/<i>, and ${crossPairs} subscribers connected to node B, one per topic, QoS 1 both ways, so every message goes from A to B through Redis. Throughput: each publisher keeps ${crossWindow} messages in flight (sent, not yet delivered and acknowledged). Latency: ${latencyRate} msgs/s in all, sent on a clock, send time in the payload. Redis commands are from INFO commandstats before and after the measured interval (commands that Lua scripts run included), divided by the messages delivered in it; per connect and per subscription, the commands of connecting ${2 * crossPairs} clients and of ${crossPairs} subscriptions, less the idle rate. The ratio is ours / Aedes for throughput, Aedes / ours for the rest (> 1: ours is better).`,
        '',
        formatTable(crossHeader, crossRows, align(crossHeader)),
        '',
        'Redis commands per delivered message by command (the median run, closed loop):',
        '',
        `- mqtt-sessions: ${commandMix(OURS, (c) => c.throughput)}`,
        `- Aedes: ${commandMix(AEDES, (c) => c.throughput)}`,
        '',
        'One publisher:',
        '',
        `- mqtt-sessions: ${commandMix(OURS, (c) => c.single)}`,
        `- Aedes: ${commandMix(AEDES, (c) => c.single)}`,
        '',
        `At ${latencyRate} msgs/s:`,
        '',
        `- mqtt-sessions: ${commandMix(OURS, (c) => c.fixedRate)}`,
        `- Aedes: ${commandMix(AEDES, (c) => c.fixedRate)}`,
        '',
        'Per connect and per subscription (all commands, idle rate not taken off):',
        '',
        `- mqtt-sessions: connect: ${phaseMix(OURS, (c) => c.connectCommands, 2 * crossPairs)}; subscribe: ${phaseMix(OURS, (c) => c.subscribeCommands, crossPairs)}`,
        `- Aedes: connect: ${phaseMix(AEDES, (c) => c.connectCommands, 2 * crossPairs)}; subscribe: ${phaseMix(AEDES, (c) => c.subscribeCommands, crossPairs)}`,
      ]),
  ...(scaling.length === 0 ? [] : ['', '### Scaling model', '', ...scaling]),
  ...(failed.length === 0
    ? []
    : ['', 'Failed runs:', '', ...failed.map((r) => `- ${describeRun(r)}`)]),
  '',
  'Targets:',
  ...(targets.length > 0 ? targets : ['- none: the cross-node scenario did not run']),
  '',
  '<details><summary>Every run</summary>',
  '',
  formatTable(['scenario', 'run', 'result'], detailRows, ['left', 'left', 'left']),
  '',
  '</details>',
  '',
].join('\n');

log('');
log(report);
if (values['no-write'] !== true && only === undefined) {
  const path = fileURLToPath(new URL('./cluster-results.md', import.meta.url));
  writeFileSync(path, `# pnpm bench:cluster results\n\n${report}`);
  log(`written to ${path}`);
}
