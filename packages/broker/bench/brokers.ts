/**
 * The brokers under test, each in a child process of its own: mqtt-sessions (the built CLI),
 * optionally a baseline build of it (another checkout's CLI), and Aedes (bench/aedes-server.mjs). The parent reads a child's memory from /proc/<pid>/status and its
 * CPU time from /proc/<pid>/stat, and asks it over IPC to collect garbage before a memory reading.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { HOST } from './client.ts';

/**
 * `baseline` is mqtt-sessions built from another checkout (`--baseline DIR`), run like `ours`;
 * `bare` is no broker: a net server that only answers CONNECT (a floor for the storm).
 */
export type BrokerName = 'ours' | 'baseline' | 'aedes' | 'bare';

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
  return root;
}

/** Aedes options: mqemitter `concurrency` (default 100), its one knob on the delivery path. */
export let AEDES_CONCURRENCY = 100;

/** Sets Aedes' `concurrency` for brokers started afterwards. */
export function setAedesConcurrency(value: number): void {
  AEDES_CONCURRENCY = value;
}

export interface StartOptions {
  readonly port: number;
  /** Write a V8 CPU profile of our broker into this directory (`--cpu-prof`). */
  readonly cpuProfileDir?: string | undefined;
}

/** A running broker child. */
export class BrokerProcess {
  readonly name: BrokerName;
  readonly port: number;
  readonly child: ChildProcess;
  private exited = false;
  private stderr = '';

  private constructor(name: BrokerName, port: number, child: ChildProcess) {
    this.name = name;
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
      ];
    }
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    const broker = new BrokerProcess(name, options.port, child);
    await broker.waitForPort();
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

  /** CPU time (user + system) consumed so far, in ms. */
  cpuMs(): number {
    const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return (ticks * 1000) / CLOCK_TICKS;
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

  /** Stops the broker: SIGTERM (lets a CPU profile be written), SIGKILL after `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
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
  readonly loadgen: number;
  /** Everything else on the machine: other engineers' tests, the kernel's softirqs, ... */
  readonly other: number;
  readonly ms: number;
}

/** Measures the broker's, this process's and everybody else's CPU use from now to `stop()`. */
export class CpuMeter {
  private readonly broker: BrokerProcess;
  private readonly broker0: number;
  private readonly self0: NodeJS.CpuUsage;
  private readonly system0: number;
  private readonly t0: number;

  constructor(broker: BrokerProcess) {
    this.broker = broker;
    this.broker0 = broker.cpuMs();
    this.self0 = process.cpuUsage();
    this.system0 = systemBusyMs();
    this.t0 = performance.now();
  }

  stop(): CpuUse {
    const ms = performance.now() - this.t0;
    const broker = this.broker.cpuMs() - this.broker0;
    const self = process.cpuUsage(this.self0);
    const loadgen = (self.user + self.system) / 1000;
    const system = systemBusyMs() - this.system0;
    const pct = (x: number) => (x * 100) / ms;
    return {
      broker: pct(broker),
      loadgen: pct(loadgen),
      other: Math.max(0, pct(system - broker - loadgen)),
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
