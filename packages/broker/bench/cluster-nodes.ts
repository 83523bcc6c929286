/**
 * Processes and Redis for `pnpm bench:cluster` (bench/cluster.ts): a broker node is a process
 * group of its own (`--workers N` is a supervisor and its N workers), measured as a whole (CPU
 * time and VmRSS of every process in it) and killed as a whole, at the end and on failure. The
 * Redis server is the one of `--redis-url`, or a private one this benchmark starts on a free port,
 * so that its command counts and CPU time are the brokers' alone.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { type BrokerProcess, freePort, systemBusyMs } from './brokers.ts';
import { HOST } from './client.ts';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** USER_HZ: clock ticks per second of /proc/<pid>/stat. */
const CLOCK_TICKS = 100;

/** The fields of /proc/<pid>/stat after the command name, or undefined when the process is gone. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** CPU time (user + system) of one process so far, in ms; 0 when it is gone. */
function cpuMsOf(pid: number): number {
  const fields = statFields(pid);
  return fields === undefined
    ? 0
    : ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}

/** VmRSS of one process in bytes; 0 when it is gone. */
function rssOf(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match === null ? 0 : Number(match[1]) * 1024;
  } catch {
    return 0;
  }
}

/** Write system calls of one process so far (syscw of /proc/<pid>/io); 0 when it is gone. */
function writeCallsOf(pid: number): number {
  try {
    return Number(/^syscw: (\d+)/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** `pid` and every process below it (children, their children, ...), from /proc. */
function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const ppid = Number(statFields(Number(entry))?.[1]);
    if (!Number.isFinite(ppid)) continue;
    const list = children.get(ppid);
    if (list === undefined) children.set(ppid, [Number(entry)]);
    else list.push(Number(entry));
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i] as number) ?? []));
  return tree;
}

/** Every process group this benchmark started and has not seen end: killed on exit. */
const live = new Set<NodeGroup>();
/** Redis key prefixes in use, deleted after each run and, whatever is left, on exit. */
const prefixes = new Map<string, string>();
let exitHooked = false;

/** Kills what is left (process groups, Redis keys) when this process exits or is interrupted. */
function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.once('exit', cleanUpNow);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      console.error(`\n${signal}: stopping every broker and Redis this benchmark started`);
      cleanUpNow();
      process.exit(130);
    });
  }
  process.once('uncaughtException', (error) => {
    console.error(error);
    cleanUpNow();
    process.exit(1);
  });
}

/** Synchronously: SIGKILL to every broker left, delete the keys still recorded, stop Redis. */
function cleanUpNow(): void {
  // Brokers first, so that none writes keys again after they are deleted; the private Redis last.
  for (const group of [...live]) if (!group.isRedis) group.killNow();
  for (const [prefix, url] of prefixes) {
    try {
      deleteKeys(url, prefix);
    } catch {
      // Redis is gone: nothing to delete.
    }
  }
  prefixes.clear();
  for (const group of [...live]) group.killNow();
}

/**
 * A process this benchmark started, with everything it starts, as one process group (`detached`):
 * a broker, a `--workers` supervisor and its workers, an Aedes node, or the private Redis.
 */
export class NodeGroup {
  readonly label: string;
  readonly child: ChildProcess;
  readonly isRedis: boolean;
  /** The Redis URL of the private server (isRedis only). */
  url = '';
  private exited = false;
  private stopping = false;
  private stderr = '';
  /** CPU time of processes of the group that have ended (a worker that died), in ms. */
  private cpuSeen = new Map<number, number>();

  private constructor(label: string, command: string, args: readonly string[], isRedis: boolean) {
    hookExit();
    this.label = label;
    this.isRedis = isRedis;
    this.child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    live.add(this);
    this.child.on('exit', () => {
      this.exited = true;
    });
    this.child.on('error', (error) => {
      this.exited = true;
      this.stderr += `${error.message}\n`;
    });
    this.child.stderr?.setEncoding('utf8');
    this.child.stderr?.on('data', (text: string) => {
      if (this.stderr.length < 20_000) this.stderr += text;
    });
    this.child.stdout?.setEncoding('utf8');
    this.child.stdout?.on('data', (text: string) => {
      // Our broker logs to stdout (warnings and errors only, at --log-level warn).
      if (!isRedis && this.stderr.length < 20_000) this.stderr += text;
    });
  }

  /**
   * Starts `command` and resolves once `port` accepts connections and `ready` (if given) says
   * so; kills it when that takes longer than 20 s.
   */
  static async start(
    label: string,
    command: string,
    args: readonly string[],
    port: number,
    ready?: () => boolean,
  ): Promise<NodeGroup> {
    const group = new NodeGroup(label, command, args, false);
    try {
      await group.waitUntil(
        async () => (await accepts(port)) && (ready?.() ?? true),
        `${label} did not listen on ${port}`,
      );
    } catch (error) {
      await group.stop();
      throw error;
    }
    return group;
  }

  /** Starts a Redis server of this benchmark's own, in memory, on a free port. */
  static async startRedis(): Promise<NodeGroup> {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'mqtt-sessions-bench-redis-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    const args = ['--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no'];
    const group = new NodeGroup('redis', 'redis-server', [...args, '--dir', dir], true);
    group.url = `redis://${HOST}:${port}`;
    await group.waitUntil(async () => {
      try {
        return redisCli(group.url, 'ping').trim() === 'PONG';
      } catch {
        return false;
      }
    }, `redis-server did not start on ${port}`);
    return group;
  }

  get pid(): number {
    return this.child.pid as number;
  }

  /** Output so far (warnings, errors, crashes). */
  get output(): string {
    return this.stderr.trim();
  }

  /** Whether it ended before `stop()` asked it to. */
  get died(): boolean {
    return this.exited && !this.stopping;
  }

  /** The processes of the group now. */
  pids(): number[] {
    return this.exited ? [] : processTree(this.pid);
  }

  /** CPU time of the whole group so far, in ms (a process that ended keeps its last reading). */
  cpuMs(): number {
    for (const pid of this.pids())
      this.cpuSeen.set(pid, cpuMsOf(pid) || this.cpuSeen.get(pid) || 0);
    let sum = 0;
    for (const ms of this.cpuSeen.values()) sum += ms;
    return sum;
  }

  /** Write system calls (socket writes included) of the group's processes now, so far. */
  writeCalls(): number {
    return this.pids().reduce((sum, pid) => sum + writeCallsOf(pid), 0);
  }

  /** VmRSS of the whole group, in bytes. */
  rss(): number {
    return this.pids().reduce((sum, pid) => sum + rssOf(pid), 0);
  }

  /**
   * Stops the group: SIGTERM to its leader (a `--workers` supervisor passes it on to its workers),
   * SIGKILL to the whole group after `graceMs`, and SIGKILL to what is left of the group after
   * the leader exited.
   */
  async stop(graceMs = 5000): Promise<void> {
    this.stopping ||= !this.exited;
    if (!this.exited) {
      const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
      this.signal('SIGTERM', false);
      const timer = setTimeout(() => this.signal('SIGKILL', true), graceMs);
      await exited;
      clearTimeout(timer);
    }
    this.signal('SIGKILL', true);
    live.delete(this);
  }

  /** SIGKILL to the whole group, at once (on exit or failure). */
  killNow(): void {
    this.stopping ||= !this.exited;
    this.signal('SIGKILL', true);
    live.delete(this);
  }

  private signal(signal: NodeJS.Signals, group: boolean): void {
    try {
      process.kill(group ? -this.pid : this.pid, signal);
    } catch {
      // Already gone.
    }
  }

  private async waitUntil(check: () => Promise<boolean>, failure: string): Promise<void> {
    const until = performance.now() + 20_000;
    while (!(await check())) {
      if (this.exited) throw new Error(`${this.label} exited at start: ${this.output}`);
      if (performance.now() > until) throw new Error(`${failure}: ${this.output}`);
      await sleep(50);
    }
  }
}

/** Whether a TCP connection to `port` on the loopback is accepted now. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: HOST, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Runs redis-cli against `url` (the benchmark has no Redis client of its own). */
export function redisCli(url: string, ...args: string[]): string {
  return execFileSync('redis-cli', ['-u', url, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** The Redis server of a run: its URL, and its process id when it runs on this machine. */
export interface RedisServer {
  readonly url: string;
  readonly pid: number | undefined;
  /** Whether this benchmark started it (and nothing else uses it). */
  readonly private: boolean;
  readonly version: string;
  stop(): Promise<void>;
}

/**
 * The Redis at `url`, checked; or, without one, a private redis-server started here (stopped by
 * `stop()`, and killed on exit in any case).
 */
export async function useRedisServer(url: string | undefined): Promise<RedisServer> {
  let group: NodeGroup | undefined;
  if (url === undefined) group = await NodeGroup.startRedis();
  const at = url ?? (group as NodeGroup).url;
  let info: string;
  try {
    info = redisCli(at, 'info', 'server');
  } catch (error) {
    throw new Error(`no Redis answers at ${at}: ${(error as Error).message}`);
  }
  const pid = Number(/process_id:(\d+)/.exec(info)?.[1]);
  // The same process id on another machine (or in a container) would be someone else's.
  const comm = `/proc/${pid}/comm`;
  const local = existsSync(comm) && readFileSync(comm, 'utf8').startsWith('redis');
  return {
    url: at,
    pid: local ? pid : undefined,
    private: group !== undefined,
    version: /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown',
    stop: async () => {
      await group?.stop();
    },
  };
}

/** CPU time of the Redis server so far, in ms (0 when it does not run here). */
export function redisCpuMs(redis: RedisServer): number {
  return redis.pid === undefined ? 0 : cpuMsOf(redis.pid);
}

/**
 * Calls per command so far, from INFO commandstats: every command Redis ran, those that Lua
 * scripts ran included (EVALSHA counts once more). INFO itself, which this benchmark sends, is
 * left out.
 */
export function commandCounts(url: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const match of redisCli(url, 'info', 'commandstats').matchAll(
    /^cmdstat_([^:]+):calls=(\d+)/gm,
  )) {
    const name = match[1] as string;
    if (name !== 'info') counts.set(name, Number(match[2]));
  }
  return counts;
}

/** Commands run between two readings of `commandCounts`, per command. */
export function commandsBetween(
  before: Map<string, number>,
  after: Map<string, number>,
): Map<string, number> {
  const delta = new Map<string, number>();
  for (const [name, calls] of after) {
    const n = calls - (before.get(name) ?? 0);
    if (n > 0) delta.set(name, n);
  }
  return delta;
}

/** The sum of a `commandsBetween` result. */
export function total(counts: Map<string, number>): number {
  let sum = 0;
  for (const n of counts.values()) sum += n;
  return sum;
}

/** Deletes every key under `prefix` (SCAN, then DEL in batches); returns how many. */
export function deleteKeys(url: string, prefix: string): number {
  const keys = redisCli(url, '--scan', '--pattern', `${prefix}*`)
    .split('\n')
    .filter((key) => key !== '');
  for (let i = 0; i < keys.length; i += 500) redisCli(url, 'del', ...keys.slice(i, i + 500));
  return keys.length;
}

let prefixCount = 0;

/**
 * A fresh key prefix on `url` for one run, recorded so that its keys are deleted on exit if
 * `releasePrefix` has not deleted them before.
 */
export function freshPrefix(url: string, name: string): string {
  const prefix = `bench-cluster-${name}-${process.pid}-${++prefixCount}:`;
  prefixes.set(prefix, url);
  return prefix;
}

/** Deletes the keys under a prefix of `freshPrefix`; returns how many there were. */
export function releasePrefix(prefix: string): number {
  const url = prefixes.get(prefix);
  if (url === undefined) return 0;
  prefixes.delete(prefix);
  return deleteKeys(url, prefix);
}

/** CPU use over an interval, in % of one core. */
export interface ClusterCpu {
  /** Each broker node (process group), in the order given. */
  readonly nodes: readonly number[];
  readonly redis: number;
  readonly loadgen: number;
  /** Everything else on the machine. */
  readonly other: number;
  /** Write system calls of each broker node over the interval. */
  readonly writeCalls: readonly number[];
  /** All broker nodes together, CPU ms. */
  readonly nodesMs: number;
  readonly redisMs: number;
  readonly ms: number;
}

/** Measures the CPU use of broker nodes, the Redis server, this process and the rest. */
export class ClusterCpuMeter {
  private readonly nodes: readonly NodeGroup[];
  private readonly redis: RedisServer;
  private readonly nodes0: number[];
  private readonly writes0: number[];
  private readonly redis0: number;
  private readonly self0: NodeJS.CpuUsage;
  private readonly system0: number;
  private readonly t0: number;

  constructor(nodes: readonly NodeGroup[], redis: RedisServer) {
    this.nodes = nodes;
    this.redis = redis;
    this.nodes0 = nodes.map((n) => n.cpuMs());
    this.writes0 = nodes.map((n) => n.writeCalls());
    this.redis0 = redisCpuMs(redis);
    this.self0 = process.cpuUsage();
    this.system0 = systemBusyMs();
    this.t0 = performance.now();
  }

  stop(): ClusterCpu {
    const ms = performance.now() - this.t0;
    const nodes = this.nodes.map((n, i) => n.cpuMs() - (this.nodes0[i] as number));
    const writeCalls = this.nodes.map((n, i) => n.writeCalls() - (this.writes0[i] as number));
    const redis = redisCpuMs(this.redis) - this.redis0;
    const self = process.cpuUsage(this.self0);
    const loadgen = (self.user + self.system) / 1000;
    const system = systemBusyMs() - this.system0;
    const nodesMs = nodes.reduce((a, b) => a + b, 0);
    const pct = (x: number) => (x * 100) / ms;
    return {
      nodes: nodes.map(pct),
      redis: pct(redis),
      loadgen: pct(loadgen),
      other: Math.max(0, pct(system - nodesMs - redis - loadgen)),
      writeCalls,
      nodesMs,
      redisMs: redis,
      ms,
    };
  }
}

/**
 * A node group as `runFlow` of bench/scenarios.ts sees a broker. `runFlow` and the `CpuMeter` and
 * `RssSampler` it uses read only `port`, `rss()`, `cpuMs()` and `storeCpuMs()` of a
 * `BrokerProcess`; here they are the whole group's (a `--workers` supervisor and its workers) and
 * the Redis server's.
 */
export function asFlowBroker(group: NodeGroup, port: number, redis: RedisServer): BrokerProcess {
  const broker: Pick<BrokerProcess, 'port' | 'rss' | 'cpuMs' | 'storeCpuMs'> = {
    port,
    rss: () => group.rss(),
    cpuMs: () => group.cpuMs(),
    storeCpuMs: () => redisCpuMs(redis),
  };
  return broker as BrokerProcess;
}
