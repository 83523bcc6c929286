/**
 * The parent's side of the observer process (observer-main.ts): attach it to a broker, start it
 * when a case starts, stop it when the case ends and read what the bystander and canary saw.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { PingStats } from './bystander.ts';
import type { CanaryStats } from './canary.ts';
import { type Credentials, REPO_ROOT } from './client.ts';

export type ObserverRequest = { readonly id: number } & (
  | {
      readonly op: 'attach';
      readonly port: number;
      readonly name: string;
      readonly credentials?: Credentials | undefined;
    }
  | { readonly op: 'start'; readonly pingIntervalMs: number; readonly canaryIntervalMs: number }
  | { readonly op: 'stop'; readonly drainMs: number }
  | { readonly op: 'detach' }
);

export interface ObserverReply {
  readonly id: number;
  readonly ok: boolean;
  readonly error?: string;
  readonly pings?: PingStats;
  readonly canary?: CanaryStats;
}

type Request = ObserverRequest extends infer R
  ? R extends unknown
    ? Omit<R, 'id'>
    : never
  : never;

const mainPath = fileURLToPath(new URL('./observer-main.ts', import.meta.url));

export class Observer {
  private readonly child: ChildProcess;
  private nextId = 1;
  private readonly pending = new Map<number, (reply: ObserverReply) => void>();

  private constructor(child: ChildProcess) {
    this.child = child;
    child.on('message', (reply: ObserverReply) => {
      const resolve = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      resolve?.(reply);
    });
    child.on('exit', () => {
      for (const resolve of this.pending.values())
        resolve({ id: 0, ok: false, error: 'the observer process exited' });
      this.pending.clear();
    });
  }

  static spawn(): Observer {
    const child = spawn(process.execPath, ['--import', 'tsx', mainPath], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return new Observer(child);
  }

  /** Connects the bystander and the canary to the broker on `port`. */
  async attach(port: number, name: string, credentials?: Credentials): Promise<void> {
    await this.request({ op: 'attach', port, name, credentials });
  }

  start(pingIntervalMs = 10, canaryIntervalMs = 10): Promise<ObserverReply> {
    return this.request({ op: 'start', pingIntervalMs, canaryIntervalMs });
  }

  /** Stops both and returns what they saw (the canary waits up to `drainMs` for stragglers). */
  async stop(drainMs = 5000): Promise<{ pings: PingStats; canary: CanaryStats }> {
    const reply = await this.request({ op: 'stop', drainMs });
    return { pings: reply.pings as PingStats, canary: reply.canary as CanaryStats };
  }

  async detach(): Promise<void> {
    await this.request({ op: 'detach' });
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.disconnect();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }

  private request(request: Request): Promise<ObserverReply> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, (reply) => {
        if (reply.ok) resolve(reply);
        else reject(new Error(`observer: ${reply.error}`));
      });
      this.child.send({ ...request, id });
    });
  }
}
