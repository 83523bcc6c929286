/**
 * The brokers under test, each in a child process of its own: mqtt-sessions (the built CLI),
 * optionally a baseline build of it (another checkout's CLI), Aedes (bench/aedes-server.mjs),
 * Mosquitto (when installed, with a generated configuration) and the bare-socket floor
 * (bench/bare-server.mjs). The parent reads a child's memory from /proc/<pid>/status and its CPU
 * time from /proc/<pid>/stat, and asks a Node child over IPC to collect garbage before a memory
 * reading (Mosquitto, in C, has no collector: its VmRSS is read as it is).
 *
 * Each broker keeps its sessions in a store: in memory, or (for the persistent-session scenarios)
 * in SQLite or Redis. A durable store is fresh for every broker process and removed after it.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { HOST } from './client.ts';

/**
 * `baseline` is mqtt-sessions built from another checkout (`--baseline DIR`), run like `ours`;
 * `mosquitto` is Eclipse Mosquitto (C, MQTT 5 and 3.1.1); `bare` is no broker: a net server that
 * only answers CONNECT (a floor for the storm).
 */
export type BrokerName = 'ours' | 'baseline' | 'aedes' | 'mosquitto' | 'bare';

/** A broker's name as the tables print it. */
export function displayName(name: BrokerName): string {
  switch (name) {
    case 'aedes':
      return 'Aedes';
    case 'mosquitto':
      return 'Mosquitto';
    default:
      return name;
  }
}

/**
 * How a broker is set up, beyond its store:
 * - `bench`: as the benchmark runs brokers: ours on TCP only, with the limits of
 *   `OUR_LIMIT_FLAGS` raised; every Node broker with `--expose-gc` and the GC hook.
 * - `tls-ws`: as `bench`, and ours also has TLS, WebSocket and secure WebSocket listeners that
 *   no client uses (certificate from `useThrowawayCertificate`).
 * - `defaults`: as a user starts it: ours with only `--port`, `--ws-port`, `--metrics-port` and
 *   a fresh `--data-dir` (so its default store, SQLite, in there); no Node broker gets
 *   `--expose-gc` or the GC hook, so nothing of the benchmark's is loaded into it.
 */
export type BrokerVariant = 'bench' | 'tls-ws' | 'defaults';

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

/** A broker's memory after a full collection (when it has a collector), in bytes. */
export interface MemoryReading {
  /** VmRSS from /proc/<pid>/status. */
  readonly vmRss: number;
  /** What `process.memoryUsage()` reports inside a Node broker; undefined for Mosquitto. */
  readonly v8: V8Memory | undefined;
}

/** `process.memoryUsage()` of a Node broker, in bytes. */
export interface V8Memory {
  readonly rss: number;
  readonly heapUsed: number;
  readonly external: number;
  readonly arrayBuffers: number;
  /** The size of V8's young generation (new space). */
  readonly youngGeneration: number;
}

const benchDir = fileURLToPath(new URL('.', import.meta.url));
const cliPath = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const aedesPath = fileURLToPath(new URL('./aedes-server.mjs', import.meta.url));
const barePath = fileURLToPath(new URL('./bare-server.mjs', import.meta.url));
const hookUrl = pathToFileURL(`${benchDir}child-hook.mjs`).href;

/** Where Debian's package installs the Mosquitto broker. */
const MOSQUITTO_PATH = '/usr/sbin/mosquitto';

/** The Mosquitto broker's command: Debian's path, else `mosquitto` on the PATH if it runs. */
function mosquittoCommand(): string | undefined {
  if (existsSync(MOSQUITTO_PATH)) return MOSQUITTO_PATH;
  return spawnSync('mosquitto', ['-h']).error === undefined ? 'mosquitto' : undefined;
}

/** Whether the Mosquitto broker (not just its clients) is installed here. */
export function mosquittoInstalled(): boolean {
  return mosquittoCommand() !== undefined;
}

/** Mosquitto's version line (`mosquitto version 2.0.11`), or undefined when it is not installed. */
export function mosquittoVersion(): string | undefined {
  const command = mosquittoCommand();
  if (command === undefined) return undefined;
  const help = spawnSync(command, ['-h'], { encoding: 'utf8' });
  return /mosquitto version \S+/.exec(`${help.stdout}${help.stderr}`)?.[0];
}

/**
 * Mosquitto's limits in the benchmark, set like ours (see `OUR_LIMIT_FLAGS`): its defaults (1000
 * queued messages per client, then dropped, QoS 0 included when the socket is backed up; 20 QoS 1
 * messages in flight) would drop or stall messages in the closed-loop scenarios, where one
 * subscriber can have 5000 messages coming. Queued messages as ours (`--max-queued 1000000`), in
 * flight as ours (`--max-inflight` 500, its default).
 */
export const MOSQUITTO_LIMITS = { maxQueuedMessages: 1_000_000, maxInflightMessages: 500 };

/** The configuration file of a Mosquitto under test: anonymous, in memory, errors logged only. */
function mosquittoConfig(port: number): string {
  const lines = [
    `listener ${port} ${HOST}`,
    'persistence false',
    'allow_anonymous true',
    `max_queued_messages ${MOSQUITTO_LIMITS.maxQueuedMessages}`,
    `max_inflight_messages ${MOSQUITTO_LIMITS.maxInflightMessages}`,
    'log_dest stderr',
    'log_type error',
    // As root, Mosquitto would switch to the user "mosquitto", who may not read the config.
    ...(process.getuid?.() === 0 ? ['user root'] : []),
  ];
  return `${lines.join('\n')}\n`;
}

/** The certificate of the `tls-ws` variant, made by `useThrowawayCertificate`. */
let certificate: { readonly certFile: string; readonly keyFile: string } | undefined;

/**
 * Makes a throwaway self-signed certificate (RSA 2048, valid for a day) with openssl, in a fresh
 * temporary directory removed when this process exits, for our broker's TLS listeners in the
 * `tls-ws` variant.
 */
export function useThrowawayCertificate(): void {
  if (certificate !== undefined) return;
  const dir = mkdtempSync(join(tmpdir(), 'mqtt-sessions-bench-tls-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost'],
      ...['-days', '1', '-keyout', keyFile, '-out', certFile],
    ],
    { stdio: 'ignore' },
  );
  certificate = { certFile, keyFile };
}

/** A TCP port free on the loopback now (the kernel's choice). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host: HOST, port: 0 }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * The soft limit on open files of this process, from /proc/self/limits ("Max open files"); a child
 * inherits it. Node raises its soft limit to the hard one at start, so this is the hard limit.
 */
export function openFileLimit(): number {
  const line = /^Max open files\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
  const soft = line?.[1];
  return soft === undefined || soft === 'unlimited' ? Number.POSITIVE_INFINITY : Number(soft);
}

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
    case 'mosquitto':
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
  /** How it is set up beyond its store; default `bench`. */
  readonly variant?: BrokerVariant | undefined;
  /** Write a V8 CPU profile of our broker into this directory (`--cpu-prof`). */
  readonly cpuProfileDir?: string | undefined;
}

/** How to spawn a broker, and what to remove after it. */
interface Launch {
  readonly command: string;
  readonly args: readonly string[];
  /** Its listeners besides the MQTT port (WebSocket, TLS, metrics), which open after it. */
  readonly otherPorts: readonly number[];
  /** Whether it runs bench/child-hook.mjs, which answers "gc" and heap snapshot requests. */
  readonly gcHook: boolean;
  readonly cleanup: () => void;
}

/** A fresh temporary directory, and how to remove it. */
function temporaryDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The CLI flags of our broker (or the baseline's) apart from the store's, and its other ports. */
async function ourFlags(
  port: number,
  variant: BrokerVariant,
): Promise<{ flags: string[]; otherPorts: number[] }> {
  const bench = [
    ...['--host', HOST, '--port', String(port), '--metrics-port', 'off'],
    ...['--sys-interval', '0', '--log-level', 'warn', ...OUR_LIMIT_FLAGS],
  ];
  if (variant === 'bench') return { flags: [...bench, '--ws-port', 'off'], otherPorts: [] };
  if (variant === 'tls-ws') {
    if (certificate === undefined) throw new Error('tls-ws: call useThrowawayCertificate first');
    // With a certificate, the secure WebSocket listener is on by default (port 8084): give it a
    // free port, so that it runs too and does not clash with anything.
    const [ws, tls, wss] = [await freePort(), await freePort(), await freePort()];
    return {
      flags: [
        ...bench,
        ...['--ws-port', String(ws), '--tls-port', String(tls), '--wss-port', String(wss)],
        ...['--tls-cert', certificate.certFile, '--tls-key', certificate.keyFile],
      ],
      otherPorts: [ws, tls, wss],
    };
  }
  // defaults: only what keeps the default listeners off ports in use (the data dir is the store's).
  const [ws, metrics] = [await freePort(), await freePort()];
  return {
    flags: ['--port', String(port), '--ws-port', String(ws), '--metrics-port', String(metrics)],
    otherPorts: [ws, metrics],
  };
}

/** How to start broker `name` with `options`. */
async function launchOf(name: BrokerName, options: StartOptions): Promise<Launch> {
  const store = options.store ?? 'memory';
  const variant = options.variant ?? 'bench';
  const port = String(options.port);
  const gcHook = variant !== 'defaults' && name !== 'mosquitto';
  const nodeFlags = gcHook ? ['--expose-gc', '--import', hookUrl] : [];
  const node = (
    script: string,
    args: readonly string[],
    cleanup = () => {},
    otherPorts: readonly number[] = [],
  ): Launch => ({
    command: process.execPath,
    args: [...nodeFlags, script, ...args],
    otherPorts,
    gcHook,
    cleanup,
  });
  switch (name) {
    case 'ours':
    case 'baseline': {
      if (options.cpuProfileDir !== undefined) {
        nodeFlags.push('--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`);
      }
      const cli = name === 'ours' ? cliPath : baselineCliPath;
      if (cli === undefined) throw new Error('baseline: no checkout given (--baseline DIR)');
      const { flags, otherPorts } = await ourFlags(options.port, variant);
      if (variant === 'defaults') {
        // Its default store, SQLite, in a data directory of its own.
        const data = temporaryDir('mqtt-sessions-bench-');
        return node(cli, [...flags, '--data-dir', data.dir], data.cleanup, otherPorts);
      }
      const place = placeStore(name, store);
      return node(cli, [...flags, ...place.flags], place.cleanup, otherPorts);
    }
    case 'aedes': {
      const place = placeStore(name, store);
      const flags = ['--port', port, '--concurrency', String(AEDES_CONCURRENCY), ...place.flags];
      return node(aedesPath, flags, place.cleanup);
    }
    case 'bare':
      return node(barePath, ['--port', port]);
    case 'mosquitto': {
      if (store !== 'memory') throw new Error('mosquitto runs on its in-memory store only here');
      const command = mosquittoCommand();
      if (command === undefined) throw new Error('mosquitto: not installed');
      const config = temporaryDir('mqtt-sessions-bench-mosquitto-');
      const configFile = join(config.dir, 'mosquitto.conf');
      writeFileSync(configFile, mosquittoConfig(options.port));
      return {
        command,
        args: ['-c', configFile],
        otherPorts: [],
        gcHook: false,
        cleanup: config.cleanup,
      };
    }
  }
}

/**
 * Broker output that is no finding: Mosquitto warns at start that it runs as root, whatever its
 * log_type, when the benchmark (as root in a container) tells it to stay root.
 */
function withoutKnownNoise(text: string): string {
  return text.replace(
    /^\d+: Warning: Mosquitto should not be run as root\/administrator\.\n?/gm,
    '',
  );
}

/** A running broker child. */
export class BrokerProcess {
  readonly name: BrokerName;
  readonly store: StoreKind;
  readonly port: number;
  readonly child: ChildProcess;
  /**
   * Whether the child runs the GC hook: a Node broker, started with `--expose-gc`, that answers
   * `memoryAfterGc` with V8's figures and can write heap snapshots.
   */
  readonly gcHook: boolean;
  /** When all its listeners were up (`performance.now()`): its MQTT port and `otherPorts`. */
  listeningSince = Number.NaN;
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
    launch: Launch,
  ) {
    this.name = name;
    this.store = store;
    this.cleanup = launch.cleanup;
    this.gcHook = launch.gcHook;
    this.port = port;
    this.child = child;
    child.on('exit', () => {
      this.exited = true;
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (text: string) => {
      if (this.stderr.length < 20_000) this.stderr += withoutKnownNoise(text);
    });
    child.stdout?.resume();
  }

  /** Spawns a broker and resolves once its port accepts connections. */
  static async start(name: BrokerName, options: StartOptions): Promise<BrokerProcess> {
    const launch = await launchOf(name, options);
    const child = spawn(launch.command, launch.args, {
      stdio: ['ignore', 'pipe', 'pipe', ...(launch.gcHook ? (['ipc'] as const) : [])],
    });
    const store = options.store ?? 'memory';
    const broker = new BrokerProcess(name, store, options.port, child, launch);
    try {
      await broker.waitForPort();
      await broker.waitForListeners(launch.otherPorts);
      broker.listeningSince = performance.now();
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

  /**
   * Runs the child's garbage collector, then returns VmRSS and the V8 figures, in bytes. A broker
   * without the GC hook (Mosquitto: C, no collector) gives its VmRSS as it is, and no V8 figures.
   */
  async memoryAfterGc(): Promise<MemoryReading> {
    if (!this.gcHook) return { vmRss: this.rss(), v8: undefined };
    const v8 = (await this.ask('gc')) as V8Memory;
    return { vmRss: this.rss(), v8 };
  }

  /**
   * The size of the child's young generation, read without collecting (which would delay V8's
   * memory reducer); only for a broker with the GC hook.
   */
  async youngGeneration(): Promise<number> {
    const answer = (await this.ask('young')) as { youngGeneration: number };
    return answer.youngGeneration;
  }

  /**
   * Writes a heap snapshot of the child into `dir`; resolves with its path. Only for a broker with
   * the GC hook (see `gcHook`).
   */
  async heapSnapshot(dir: string, tag: string): Promise<string> {
    if (!this.gcHook) throw new Error(`${this.name}: no GC hook, so no heap snapshot`);
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

  /**
   * Waits until every one of `ports` has a listening socket, seen in /proc/net/tcp and tcp6 rather
   * than by connecting: a probe of a WebSocket, TLS or metrics listener would leave an HTTP or TLS
   * session's state behind in a broker that should be idle.
   */
  private async waitForListeners(ports: readonly number[]): Promise<void> {
    const until = Date.now() + 15_000;
    while (!ports.every((port) => listeningPorts().has(port))) {
      if (this.exited) throw new Error(`${this.name} exited at start: ${this.stderr}`);
      if (Date.now() > until) {
        throw new Error(
          `${this.name} did not open all of ports ${ports.join(', ')}: ${this.stderr}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
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

/** The local ports with a listening TCP socket in this network namespace (/proc/net/tcp, tcp6). */
function listeningPorts(): Set<number> {
  const ports = new Set<number>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(file)) continue;
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      // "sl local_address rem_address st ...": the address is hex IP:port, state 0A is LISTEN.
      const [, local, , state] = line.trim().split(/\s+/);
      if (state === '0A' && local !== undefined) {
        ports.add(Number.parseInt(local.slice(local.lastIndexOf(':') + 1), 16));
      }
    }
  }
  return ports;
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

/**
 * How often a listening socket's accept queue has overflowed, in this network namespace since it
 * was made (TcpExt ListenOverflows in /proc/net/netstat): each time, the kernel dropped a SYN or
 * a handshake's last ACK, and the client tries again after a second.
 */
export function listenOverflows(): number {
  const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n');
  const names = lines.find((line) => line.startsWith('TcpExt:'))?.split(' ') ?? [];
  const counts = lines.filter((line) => line.startsWith('TcpExt:'))[1]?.split(' ') ?? [];
  return Number(counts[names.indexOf('ListenOverflows')] ?? Number.NaN);
}

/** CPU use over an interval, in % of one core. */
export interface CpuUse {
  readonly broker: number;
  /** The broker's CPU time over the interval, in ms. */
  readonly brokerMs: number;
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
      brokerMs: broker,
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
