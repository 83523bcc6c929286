/**
 * The brokers under test, each a real process of its own: ours (the CLI, run from source) or
 * Mosquitto (when installed), started with a generated configuration on a free port. The parent
 * reads a broker's memory from /proc/<pid>/status (VmRSS) and stops it with SIGTERM, timing the
 * exit.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type Credentials, HOST, openSocket, REPO_ROOT, sleep } from './client.ts';

export type BrokerKind = 'ours' | 'mosquitto';

const cliPath = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const gcHookUrl = pathToFileURL(fileURLToPath(new URL('./gc-hook.ts', import.meta.url))).href;
const MOSQUITTO = '/usr/sbin/mosquitto';

/** Whether Mosquitto (the broker, not just its clients) is installed here. */
export function mosquittoInstalled(): boolean {
  return existsSync(MOSQUITTO) || spawnSync('mosquitto', ['-h']).error === undefined;
}

function mosquittoCommand(): string {
  return existsSync(MOSQUITTO) ? MOSQUITTO : 'mosquitto';
}

/** Whether mosquitto_passwd is installed (for Mosquitto's password file). */
export function mosquittoPasswdInstalled(): boolean {
  return spawnSync('mosquitto_passwd', ['-h']).error === undefined;
}

/** The password files of both brokers for one user. */
export interface AuthFiles {
  readonly credentials: Credentials;
  /** Ours: made with `mqtt-sessions passwd`. */
  readonly usersFile: string;
  /** Mosquitto's: made with mosquitto_passwd; undefined when that is not installed. */
  readonly mosquittoPasswordFile: string | undefined;
}

/** Makes both brokers' password files for one user in `dir`. */
export function makeAuthFiles(dir: string, credentials: Credentials): AuthFiles {
  const usersFile = join(dir, 'users.txt');
  execFileSync(
    process.execPath,
    [
      '--conditions=@mqtt-sessions/source',
      '--import',
      'tsx',
      cliPath,
      'passwd',
      usersFile,
      credentials.username,
      '--password',
      credentials.password,
    ],
    { cwd: REPO_ROOT, stdio: 'ignore' },
  );
  let mosquittoPasswordFile: string | undefined;
  if (mosquittoPasswdInstalled()) {
    mosquittoPasswordFile = join(dir, 'mosquitto-passwords.txt');
    execFileSync(
      'mosquitto_passwd',
      ['-b', '-c', mosquittoPasswordFile, credentials.username, credentials.password],
      { stdio: 'ignore' },
    );
  }
  return { credentials, usersFile, mosquittoPasswordFile };
}

export interface StartOptions {
  /** Where the broker's log (and Mosquitto's configuration) go. */
  readonly dir: string;
  /** A name for the log file. */
  readonly name: string;
  /** Log in with a password file: ours --users-file, Mosquitto password_file. */
  readonly auth?: AuthFiles | undefined;
  /** More CLI flags for our broker (Mosquitto has none of them). */
  readonly ourFlags?: readonly string[] | undefined;
}

/** How a SIGTERM went. */
export interface TermResult {
  /** ms from the signal to the exit; undefined when it had not exited after the time allowed. */
  readonly exitMs: number | undefined;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A running broker process. */
export class BrokerProcess {
  readonly kind: BrokerKind;
  readonly port: number;
  readonly child: ChildProcess;
  readonly logPath: string;
  private exitCode: number | null | undefined;
  private exitSignal: NodeJS.Signals | null = null;
  private readonly exited: Promise<void>;

  private constructor(kind: BrokerKind, port: number, child: ChildProcess, logPath: string) {
    this.kind = kind;
    this.port = port;
    this.child = child;
    this.logPath = logPath;
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.exitCode = code;
        this.exitSignal = signal;
        resolve();
      }),
    );
  }

  /** Starts a broker and resolves once it accepts connections. */
  static async start(kind: BrokerKind, options: StartOptions): Promise<BrokerProcess> {
    const logPath = join(options.dir, `${options.name}.log`);
    const log = openSync(logPath, 'w');
    let broker: BrokerProcess;
    try {
      if (kind === 'ours') {
        const child = spawn(
          process.execPath,
          [
            '--expose-gc',
            '--conditions=@mqtt-sessions/source',
            '--import',
            'tsx',
            '--import',
            gcHookUrl,
            cliPath,
            ...['--host', HOST, '--port', '0', '--ws-port', 'off', '--metrics-port', 'off'],
            ...['--sys-interval', '0', '--store', 'memory'],
            ...(options.auth === undefined ? [] : ['--users-file', options.auth.usersFile]),
            ...(options.ourFlags ?? []),
          ],
          // The log goes to a file: a pipe the parent is slow to read would block the broker.
          { cwd: REPO_ROOT, stdio: ['ignore', log, log, 'ipc'] },
        );
        const port = await listeningPort(child, logPath);
        broker = new BrokerProcess(kind, port, child, logPath);
      } else {
        const port = await freePort();
        const config = join(options.dir, `${options.name}.conf`);
        const lines = [
          `listener ${port} ${HOST}`,
          'persistence false',
          // As root, Mosquitto would switch to the user "mosquitto", who cannot read our files.
          ...(process.getuid?.() === 0 ? ['user root'] : []),
          'log_dest stdout',
          'log_type error',
          'log_type warning',
          'log_type notice',
          'log_type information',
        ];
        if (options.auth === undefined) lines.push('allow_anonymous true');
        else {
          if (options.auth.mosquittoPasswordFile === undefined)
            throw new Error('mosquitto_passwd is not installed: no password file for Mosquitto');
          lines.push(
            'allow_anonymous false',
            `password_file ${options.auth.mosquittoPasswordFile}`,
          );
        }
        writeFileSync(config, `${lines.join('\n')}\n`);
        const child = spawn(mosquittoCommand(), ['-c', config], {
          stdio: ['ignore', log, log],
        });
        broker = new BrokerProcess(kind, port, child, logPath);
        await broker.waitForPort();
      }
    } finally {
      closeSync(log);
    }
    return broker;
  }

  get pid(): number {
    return this.child.pid as number;
  }

  /** Whether the process is still running. */
  alive(): boolean {
    return this.exitCode === undefined;
  }

  /** Resident set size in bytes (VmRSS from /proc/<pid>/status); NaN once it has exited. */
  rss(): number {
    try {
      const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
      const match = /VmRSS:\s+(\d+)\s+kB/.exec(status);
      return match === null ? Number.NaN : Number(match[1]) * 1024;
    } catch {
      return Number.NaN;
    }
  }

  /**
   * VmRSS after a full garbage collection, and for ours what JavaScript still holds (V8 heap in
   * use plus external memory such as buffers). Mosquitto frees as it goes: VmRSS only. Gives up
   * on the collection after `timeoutMs` and reads VmRSS as it is.
   */
  async memoryAfterGc(timeoutMs = 5000): Promise<{ rss: number; held: number }> {
    let held = Number.NaN;
    if (this.kind === 'ours' && this.alive() && this.child.connected) {
      const done = new Promise<void>((resolve) => {
        const onMessage = (message: { gcDone?: boolean; heapUsed: number; external: number }) => {
          if (message?.gcDone !== true) return;
          this.child.off('message', onMessage);
          held = message.heapUsed + message.external;
          resolve();
        };
        this.child.on('message', onMessage);
      });
      this.child.send('gc');
      await Promise.race([done, sleep(timeoutMs)]);
    }
    return { rss: this.rss(), held };
  }

  /** Sends SIGTERM and times the exit; SIGKILLs it if it has not exited after `allowMs`. */
  async terminate(allowMs = 15_000): Promise<TermResult> {
    if (!this.alive()) return { exitMs: 0, code: this.exitCode ?? null, signal: this.exitSignal };
    const start = performance.now();
    this.child.kill('SIGTERM');
    let exitMs: number | undefined;
    await Promise.race([
      this.exited.then(() => {
        exitMs = performance.now() - start;
      }),
      sleep(allowMs),
    ]);
    if (exitMs === undefined) await this.kill();
    return { exitMs, code: this.exitCode ?? null, signal: this.exitSignal };
  }

  /** SIGKILL, for cleaning up. */
  async kill(): Promise<void> {
    if (!this.alive()) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** The last `bytes` of the broker's log, for error messages. */
  logTail(bytes = 2000): string {
    try {
      const text = readFileSync(this.logPath, 'utf8');
      return text.slice(-bytes);
    } catch {
      return '';
    }
  }

  private async waitForPort(timeoutMs = 10_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      if (!this.alive()) throw new Error(`${this.kind} exited: ${this.logTail()}`);
      try {
        const socket = await openSocket(this.port, { timeoutMs: 1000 });
        socket.destroy();
        return;
      } catch (error) {
        if (Date.now() > until) throw error;
        await sleep(50);
      }
    }
  }
}

/** Waits for our broker's "broker listening" log line; resolves with its TCP port. */
async function listeningPort(child: ChildProcess, logPath: string): Promise<number> {
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  const until = Date.now() + 30_000;
  for (;;) {
    const text = readFileSync(logPath, 'utf8');
    for (const line of text.split('\n'))
      if (line.includes('broker listening')) return JSON.parse(line).tcp as number;
    if (exited || Date.now() > until) {
      child.kill('SIGKILL');
      throw new Error(`our broker did not start: ${text.slice(-2000)}`);
    }
    await sleep(20);
  }
}

/** A TCP port nobody listens on right now (for Mosquitto, which cannot be given port 0). */
async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, HOST);
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  server.close();
  await once(server, 'close');
  return port;
}
