/**
 * The brokers under test, each in a child process of its own: mqtt-sessions (the built CLI),
 * optionally a baseline build of it (another checkout's CLI), and Aedes (bench/aedes-server.mjs). The parent reads a child's memory from /proc/<pid>/status and its
 * CPU time from /proc/<pid>/stat, and asks it over IPC to collect garbage before a memory reading.
 *
 * Each broker keeps its sessions in a store: in memory, or (for the persistent-session scenarios)
 * in SQLite or Redis. A durable store is fresh for every broker process and removed after it.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { HOST } from './client.ts';

/**
 * `baseline` is mqtt-sessions built from another checkout (`--baseline DIR`), run like `ours`;
 * `bare` is no broker: a net server that only answers CONNECT (a floor for the storm).
 */
export type BrokerName = 'ours' | 'baseline' | 'aedes' | 'bare';

/**
 * Where a broker keeps its sessions: `memory` (Aedes' default, and ours with `--store memory`),
 * `sqlite` (ours only: a database file in a fresh directory) or `redis` (ours with
 * `--store redis`, Aedes with aedes-persistence-redis; a fresh key prefix on one server).
 */
export type StoreKind = 'memory' | 'sqlite' | 'redis';

/** A broker on a store, as the tables name it: `ours`, `ours-sqlite`, `aedes-redis`, ... */
export function setupLabel(name: BrokerName, store: StoreKind): string {
  return store === 'memory' ? name : `${name}-${store}`;
}

/** A broker's memory after a full collection, in bytes. */
export interface MemoryReading {
  /** VmRSS from /proc/<pid>/status. */
  readonly vmRss: number;
  /** As `process.memoryUsage()` reports them inside the broker. */
  readonly rss: number;
  readonly heapUsed: number;
  readonly external: number;
  readonly arrayBuffers: number;
}

const benchDir = fileURLToPath(new URL('.', import.meta.url));
const cliPath = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const aedesPath = fileURLToPath(new URL('./aedes-server.mjs', import.meta.url));
const barePath = fileURLToPath(new URL('./bare-server.mjs', import.meta.url));
const hookUrl = pathToFileURL(`${benchDir}child-hook.mjs`).href;

/**
 * Per-client limits of mqtt-sessions raised for the benchmark, as CLI flags. The defaults (1000
 * PUBLISH/s per client with a 5000 burst, 1000 queued messages per session) are production
 * guards: a load generator exceeds them by design, and Aedes has no equivalent, so left in place
 * they would measure the guards (refused or dropped messages), not the broker.
 */
export const OUR_LIMIT_FLAGS: readonly string[] = [
  '--incoming-rate',
  '1000000000',
  '--incoming-burst',
  '1000000000',
  '--max-queued',
  '1000000',
];

/** The built CLI of the `baseline` broker, set by `setBaselineDir`. */
let baselineCliPath: string | undefined;
/** Whether the baseline's CLI has `--store` (older builds keep sessions in memory, flagless). */
let baselineHasStores = false;

/**
 * Makes `baseline` run `DIR/packages/broker/dist/cli.js`, DIR being another checkout of this
 * repository, built. Returns the checkout's absolute path.
 */
export function setBaselineDir(dir: string): string {
  const root = resolve(dir);
  const cli = join(root, 'packages/broker/dist/cli.js');
  if (!existsSync(cli)) {
    throw new Error(`${cli} is missing: run pnpm install && pnpm build in ${root}`);
  }
  baselineCliPath = cli;
  const help = execFileSync(process.execPath, [cli, '--help'], { encoding: 'utf8' });
  baselineHasStores = help.includes('--store');
  return root;
}

/** The stores a broker can run on here. */
export function storesOf(name: BrokerName): readonly StoreKind[] {
  switch (name) {
    case 'ours':
      return ['memory', 'sqlite', 'redis'];
    case 'baseline':
      return baselineHasStores ? ['memory', 'sqlite', 'redis'] : ['memory'];
    case 'aedes':
      return ['memory', 'redis'];
    case 'bare':
      return ['memory'];
  }
}

/** The Redis server of the `redis` stores, set by `useRedis`. */
let redisUrl: string | undefined;
/** Its process id when it runs on this machine: its CPU time is part of a run's cost. */
let redisPid: number | undefined;

/**
 * Runs redis-cli against the Redis of the `redis` stores. The benchmark has no Redis client of
 * its own; redis-cli comes with every redis-server.
 */
function redisCli(...args: string[]): string {
  if (redisUrl === undefined) throw new Error('no Redis: call useRedis first');
  return execFileSync('redis-cli', ['-u', redisUrl, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/**
 * Makes the `redis` stores use the Redis at `url`, and checks that it answers. Brokers share the
 * server, each under a key prefix of its own, so nothing else on it is touched.
 */
export function useRedis(url: string): void {
  redisUrl = url;
  let info: string;
  try {
    info = redisCli('info', 'server');
  } catch (error) {
    throw new Error(
      `no Redis answers at ${url} (start one, e.g. redis-server --port 6390 --daemonize yes, and ` +
        `pass --redis-url): ${(error as Error).message}`,
    );
  }
  const pid = Number(/process_id:(\d+)/.exec(info)?.[1]);
  // The same process id on another machine (or in a container) would be someone else's.
  const comm = `/proc/${pid}/comm`;
  redisPid = existsSync(comm) && readFileSync(comm, 'utf8').startsWith('redis') ? pid : undefined;
}

/** Deletes every key under `prefix` (SCAN, then DEL in batches). */
function deleteRedisKeys(prefix: string): void {
  const keys = redisCli('--scan', '--pattern', `${prefix}*`)
    .split('\n')
    .filter((key) => key !== '');
  for (let i = 0; i < keys.length; i += 500) redisCli('del', ...keys.slice(i, i + 500));
}

/** Tells the broker processes' durable stores apart, within this run and from other runs. */
let storeCount = 0;

/** A fresh place for one broker process's store, and how to remove it afterwards. */
interface StorePlace {
  /** CLI flags of our broker (or of aedes-server.mjs) that point it there. */
  readonly flags: readonly string[];
  readonly cleanup: () => void;
}

function placeStore(name: BrokerName, store: StoreKind): StorePlace {
  if (!storesOf(name).includes(store)) throw new Error(`${name} cannot run on ${store}`);
  const ours = name === 'ours' || name === 'baseline';
  // A baseline without --store keeps sessions in memory already; the flag would be refused.
  const memoryFlags = ours && (name === 'ours' || baselineHasStores) ? ['--store', 'memory'] : [];
  switch (store) {
    case 'memory':
      return { flags: memoryFlags, cleanup: () => {} };
    case 'sqlite': {
      const dir = mkdtempSync(join(tmpdir(), 'mqtt-sessions-bench-'));
      return {
        flags: ['--store', 'sqlite', '--data-dir', dir],
        cleanup: () => rmSync(dir, { recursive: true, force: true }),
      };
    }
    case 'redis': {
      const url = redisUrl;
      if (url === undefined) throw new Error('the redis store needs a server: call useRedis first');
      const prefix = `bench-${name}-${process.pid}-${++storeCount}:`;
      return {
        flags: ours
          ? ['--store', 'redis', '--redis-url', url, '--redis-prefix', prefix]
          : ['--persistence', 'redis', '--redis-url', url, '--redis-prefix', prefix],
        cleanup: () => deleteRedisKeys(prefix),
      };
    }
  }
}

/** Aedes options: mqemitter `concurrency` (default 100), its one knob on the delivery path. */
export let AEDES_CONCURRENCY = 100;

/** Sets Aedes' `concurrency` for brokers started afterwards. */
export function setAedesConcurrency(value: number): void {
  AEDES_CONCURRENCY = value;
}

export interface StartOptions {
  readonly port: number;
  /** Where the broker keeps its sessions; default `memory`. */
  readonly store?: StoreKind | undefined;
  /** Write a V8 CPU profile of our broker into this directory (`--cpu-prof`). */
  readonly cpuProfileDir?: string | undefined;
}

/** A running broker child. */
export class BrokerProcess {
  readonly name: BrokerName;
  readonly store: StoreKind;
  readonly port: number;
  readonly child: ChildProcess;
  private exited = false;
  private stopping = false;
  /** The last CPU reading: it stands once the process is gone. */
  private cpuSeen = 0;
  private stderr = '';
  private cleanup: (() => void) | undefined;

  private constructor(
    name: BrokerName,
    store: StoreKind,
    port: number,
    child: ChildProcess,
    cleanup: () => void,
  ) {
    this.name = name;
    this.store = store;
    this.cleanup = cleanup;
    this.port = port;
    this.child = child;
    child.on('exit', () => {
      this.exited = true;
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (text: string) => {
      if (this.stderr.length < 20_000) this.stderr += text;
    });
    child.stdout?.resume();
  }

  /** Spawns a broker and resolves once its port accepts connections. */
  static async start(name: BrokerName, options: StartOptions): Promise<BrokerProcess> {
    const store = options.store ?? 'memory';
    const place = placeStore(name, store);
    const nodeFlags = ['--expose-gc', '--import', hookUrl];
    let args: string[];
    if (name === 'ours' || name === 'baseline') {
      if (options.cpuProfileDir !== undefined) {
        nodeFlags.push('--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`);
      }
      const cli = name === 'ours' ? cliPath : baselineCliPath;
      if (cli === undefined) throw new Error('baseline: no checkout given (--baseline DIR)');
      args = [
        ...nodeFlags,
        cli,
        '--host',
        HOST,
        '--port',
        String(options.port),
        '--ws-port',
        'off',
        '--metrics-port',
        'off',
        '--sys-interval',
        '0',
        '--log-level',
        'warn',
        ...OUR_LIMIT_FLAGS,
        ...place.flags,
      ];
    } else if (name === 'bare') {
      args = [...nodeFlags, barePath, '--port', String(options.port)];
    } else {
      args = [
        ...nodeFlags,
        aedesPath,
        '--port',
        String(options.port),
        '--concurrency',
        String(AEDES_CONCURRENCY),
        ...place.flags,
      ];
    }
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    const broker = new BrokerProcess(name, store, options.port, child, place.cleanup);
    try {
      await broker.waitForPort();
    } catch (error) {
      await broker.stop();
      throw error;
    }
    return broker;
  }

  /** Broker output on stderr so far (warnings, crashes). */
  get errorOutput(): string {
    return this.stderr;
  }

  get pid(): number {
    return this.child.pid as number;
  }

  /** Resident set size in bytes (VmRSS). */
  rss(): number {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const match = /VmRSS:\s+(\d+)\s+kB/.exec(status);
    return match === null ? Number.NaN : Number(match[1]) * 1024;
  }

  /** Whether the broker exited before `stop()` asked it to (a crash: see `errorOutput`). */
  get died(): boolean {
    return this.exited && !this.stopping;
  }

  /** CPU time (user + system) consumed so far, in ms. */
  cpuMs(): number {
    try {
      this.cpuSeen = processCpuMs(this.pid);
    } catch {
      // The broker died mid-run: keep the last reading, so that the run still reports.
    }
    return this.cpuSeen;
  }

  /** CPU time of the Redis server holding this broker's store (if it runs here), in ms; else 0. */
  storeCpuMs(): number {
    return this.store === 'redis' && redisPid !== undefined ? processCpuMs(redisPid) : 0;
  }

  /** Runs the child's garbage collector, then returns VmRSS and the V8 figures, in bytes. */
  async memoryAfterGc(): Promise<MemoryReading> {
    const answer = (await this.ask('gc')) as Omit<MemoryReading, 'vmRss'>;
    return { ...answer, vmRss: this.rss() };
  }

  /** Writes a heap snapshot of the child into `dir`; resolves with its path. */
  async heapSnapshot(dir: string, tag: string): Promise<string> {
    const answer = (await this.ask({ snapshot: dir, tag }, 120_000)) as { snapshot: string };
    return answer.snapshot;
  }

  private ask(message: unknown, timeoutMs = 10_000): Promise<unknown> {
    const child = this.child;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name}: no answer`)), timeoutMs);
      child.once('message', (answer) => {
        clearTimeout(timer);
        resolve(answer);
      });
      child.send(message as string);
    });
  }

  /**
   * Stops the broker: SIGTERM (lets a CPU profile be written), SIGKILL after `graceMs`; then
   * removes its store (the SQLite directory, the Redis keys under its prefix).
   */
  async stop(graceMs = 5000): Promise<void> {
    this.stopping ||= !this.exited;
    if (!this.exited) {
      const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    }
    const cleanup = this.cleanup;
    this.cleanup = undefined;
    cleanup?.();
  }

  private async waitForPort(): Promise<void> {
    const until = Date.now() + 15_000;
    while (Date.now() < until) {
      if (this.exited) throw new Error(`${this.name} exited at start: ${this.stderr}`);
      const ok = await new Promise<boolean>((resolve) => {
        const socket = connect({ host: HOST, port: this.port });
        socket.once('connect', () => {
          socket.destroy();
          resolve(true);
        });
        socket.once('error', () => resolve(false));
      });
      if (ok) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`${this.name} did not listen on ${this.port}: ${this.stderr}`);
  }
}

/** USER_HZ: clock ticks per second of /proc/<pid>/stat (100 on Linux x86 and arm). */
const CLOCK_TICKS = 100;

/** CPU time (user + system, all threads) a process has consumed so far, in ms. */
function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / CLOCK_TICKS;
}

/** Samples a broker's VmRSS every `everyMs` and keeps the peak. */
export class RssSampler {
  peak = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(broker: BrokerProcess, everyMs = 100) {
    const sample = () => {
      try {
        this.peak = Math.max(this.peak, broker.rss());
      } catch {
        // The child has exited; keep the peak seen so far.
      }
    };
    sample();
    this.timer = setInterval(sample, everyMs);
  }

  stop(): number {
    clearInterval(this.timer);
    return this.peak;
  }
}

/** CPU time all processes have spent busy since boot, from /proc/stat, in ms. */
export function systemBusyMs(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] as string;
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal. Interrupt time is left out: on loopback it is
  // mostly the benchmark's own TCP traffic, which no process is charged for.
  const busy = (f[0] ?? 0) + (f[1] ?? 0) + (f[2] ?? 0) + (f[7] ?? 0);
  return (busy * 1000) / CLOCK_TICKS;
}

/** CPU use over an interval, in % of one core. */
export interface CpuUse {
  readonly broker: number;
  /** The Redis server of a `redis` store: work done for the broker, so not counted as other. */
  readonly store: number;
  readonly loadgen: number;
  /** Everything else on the machine: other engineers' tests, the kernel's softirqs, ... */
  readonly other: number;
  readonly ms: number;
}

/**
 * Measures the broker's (and its Redis server's), this process's and everybody else's CPU use
 * from now to `stop()`.
 */
export class CpuMeter {
  private readonly broker: BrokerProcess;
  private readonly broker0: number;
  private readonly store0: number;
  private readonly self0: NodeJS.CpuUsage;
  private readonly system0: number;
  private readonly t0: number;

  constructor(broker: BrokerProcess) {
    this.broker = broker;
    this.broker0 = broker.cpuMs();
    this.store0 = broker.storeCpuMs();
    this.self0 = process.cpuUsage();
    this.system0 = systemBusyMs();
    this.t0 = performance.now();
  }

  stop(): CpuUse {
    const ms = performance.now() - this.t0;
    const broker = this.broker.cpuMs() - this.broker0;
    const store = this.broker.storeCpuMs() - this.store0;
    const self = process.cpuUsage(this.self0);
    const loadgen = (self.user + self.system) / 1000;
    const system = systemBusyMs() - this.system0;
    const pct = (x: number) => (x * 100) / ms;
    return {
      broker: pct(broker),
      store: pct(store),
      loadgen: pct(loadgen),
      other: Math.max(0, pct(system - broker - store - loadgen)),
      ms,
    };
  }
}

/**
 * Waits until the rest of the machine is quiet: less than `maxBusyPct` % of one core busy over
 * half a second (this process is idle while it waits). Gives up after `maxWaitMs` and returns the
 * last reading, so a busy machine slows the benchmark down but does not stop it.
 */
export async function waitForQuiet(
  maxBusyPct = 25,
  maxWaitMs = 60_000,
): Promise<{ busyPct: number; waitedMs: number }> {
  const start = performance.now();
  for (;;) {
    const b0 = systemBusyMs();
    const t0 = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 500));
    const busyPct = ((systemBusyMs() - b0) * 100) / (performance.now() - t0);
    const waitedMs = performance.now() - start;
    if (busyPct < maxBusyPct || waitedMs > maxWaitMs) return { busyPct, waitedMs };
  }
}
