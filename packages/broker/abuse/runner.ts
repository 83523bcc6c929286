/**
 * Runs one case against one broker: a fresh broker process, the observer (bystander and canary)
 * attached, RSS before, RSS at its peak while the load runs, RSS after the attacker has left,
 * a health check, and then the load again and SIGTERM in the middle of it.
 */
import { performance } from 'node:perf_hooks';
import type { Packet } from 'mqtt-packet';
import {
  type AuthFiles,
  type BrokerKind,
  BrokerProcess,
  type TermResult,
} from './broker-process.ts';
import type { PingStats } from './bystander.ts';
import type { CanaryStats } from './canary.ts';
import type { AbuseCase, SizeSpec } from './cases.ts';
import { type Credentials, MqttClient, sleep } from './client.ts';
import type { Figures } from './loads.ts';
import type { Observer } from './observer.ts';

export interface CaseResult {
  readonly caseId: string;
  readonly title: string;
  readonly broker: BrokerKind;
  readonly nonReading: boolean;
  /** VmRSS in bytes: before the load (after GC), at its peak during it, after (after GC). */
  readonly rssBefore: number;
  readonly rssPeak: number;
  readonly rssAfter: number;
  /**
   * Ours: V8 heap in use plus external memory, after GC, before the load and after the attacker
   * left (NaN for Mosquitto). RSS can stay up after a flood even when the broker holds nothing
   * more: the allocator keeps freed pages for reuse. This tells the two apart.
   */
  readonly heldBefore: number;
  readonly heldAfter: number;
  readonly pings: PingStats | undefined;
  readonly canary: CanaryStats | undefined;
  /** Alive after the attacker left, and a new client could publish to itself at QoS 1. */
  readonly healthy: boolean;
  readonly sigterm: TermResult | undefined;
  readonly figures: Figures;
  /** The case's own figure, for the table. */
  readonly figure: string;
  /** What went wrong running the case (not a missed target). */
  readonly errors: readonly string[];
  readonly durationMs: number;
  /** Why the case did not run on this broker (then nothing else is measured). */
  readonly skipped?: string;
}

/** The row of a case that cannot run on a broker here. */
export function skippedResult(kind: BrokerKind, abuseCase: AbuseCase, reason: string): CaseResult {
  return {
    caseId: abuseCase.id,
    title: abuseCase.title,
    broker: kind,
    nonReading: abuseCase.nonReading,
    rssBefore: Number.NaN,
    rssPeak: Number.NaN,
    rssAfter: Number.NaN,
    heldBefore: Number.NaN,
    heldAfter: Number.NaN,
    pings: undefined,
    canary: undefined,
    healthy: false,
    sigterm: undefined,
    figures: {},
    figure: `n/a: ${reason}`,
    errors: [],
    durationMs: 0,
    skipped: reason,
  };
}

export interface RunSettings {
  readonly size: SizeSpec;
  /** Where broker logs and configurations go. */
  readonly dir: string;
  readonly auth: AuthFiles;
  readonly observer: Observer;
  /** Boots the next case's broker while this one settles (see {@link Launcher}). */
  readonly launcher?: Launcher | undefined;
}

function startBroker(kind: BrokerKind, abuseCase: AbuseCase, settings: RunSettings) {
  return BrokerProcess.start(kind, {
    dir: settings.dir,
    name: `${kind}-${abuseCase.id}`,
    auth: abuseCase.auth ? settings.auth : undefined,
    ourFlags: abuseCase.ourFlags,
  });
}

/**
 * Starts brokers ahead of time, to make a run shorter: the next case's broker boots (a second or
 * so of CPU, for ours from source) while the current case waits for "RSS after" and SIGTERMs its
 * broker, when nothing is timed but the exit. The CI test uses it; `pnpm bench:abuse` does not,
 * so that nothing else runs beside a case there.
 */
export class Launcher {
  private readonly ready = new Map<string, Promise<BrokerProcess>>();

  /** Starts the broker of `abuseCase` now, for a later {@link Launcher.take}. */
  prepare(kind: BrokerKind, abuseCase: AbuseCase, settings: RunSettings): void {
    const key = `${kind}:${abuseCase.id}`;
    if (this.ready.has(key)) return;
    const starting = startBroker(kind, abuseCase, settings);
    starting.catch(() => {}); // reported by take
    this.ready.set(key, starting);
  }

  /** The broker prepared for `abuseCase`, or a new one. */
  take(kind: BrokerKind, abuseCase: AbuseCase, settings: RunSettings): Promise<BrokerProcess> {
    const key = `${kind}:${abuseCase.id}`;
    const prepared = this.ready.get(key);
    this.ready.delete(key);
    return prepared ?? startBroker(kind, abuseCase, settings);
  }

  /** Kills every broker prepared and not taken. */
  async close(): Promise<void> {
    const left = [...this.ready.values()];
    this.ready.clear();
    for (const starting of left) await (await starting.catch(() => undefined))?.kill();
  }
}

/** The RSS growth of a result: peak during the load minus before it. */
export function rssGrowth(result: CaseResult): number {
  return result.rssPeak - result.rssBefore;
}

/**
 * A new client that subscribes to a topic of its own and publishes to it at QoS 1: the broker
 * must deliver and acknowledge within 5 s.
 */
export async function healthCheck(port: number, credentials: Credentials | undefined) {
  const client = await MqttClient.connect(port, { clientId: 'abuse-health', credentials });
  try {
    client.send({
      cmd: 'subscribe',
      messageId: 1,
      subscriptions: [{ topic: 'abuse/health', qos: 1 }],
    } as Packet);
    await client.next('suback');
    client.send({
      cmd: 'publish',
      topic: 'abuse/health',
      payload: Buffer.from('ok'),
      qos: 1,
      messageId: 2,
      retain: false,
      dup: false,
    } as Packet);
    const [delivery] = await Promise.all([client.next('publish'), client.next('puback')]);
    if (delivery.payload.toString() !== 'ok') throw new Error('the health message came back wrong');
  } finally {
    await client.disconnect();
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Runs `abuseCase` on a fresh `kind` broker. With a launcher in the settings, `next` (the case
 * that will run after this one) gets its broker started once this one's load is over.
 */
export async function runCase(
  kind: BrokerKind,
  abuseCase: AbuseCase,
  settings: RunSettings,
  next?: AbuseCase,
): Promise<CaseResult> {
  const began = performance.now();
  const errors: string[] = [];
  const auth = abuseCase.auth ? settings.auth : undefined;
  const credentials = auth?.credentials;
  const broker = await (settings.launcher?.take(kind, abuseCase, settings) ??
    startBroker(kind, abuseCase, settings));
  const context = { port: broker.port, credentials: settings.auth.credentials };
  let rssBefore = Number.NaN;
  let rssPeak = Number.NaN;
  let rssAfter = Number.NaN;
  let heldBefore = Number.NaN;
  let heldAfter = Number.NaN;
  let pings: PingStats | undefined;
  let canary: CanaryStats | undefined;
  let healthy = false;
  let sigterm: TermResult | undefined;
  let figures: Figures = {};
  let figure = '';
  try {
    await settings.observer.attach(broker.port, `${kind}-${abuseCase.id}`, credentials);
    ({ rss: rssBefore, held: heldBefore } = await broker.memoryAfterGc());
    rssPeak = rssBefore;
    const sampler = setInterval(() => {
      const rss = broker.rss();
      if (rss > rssPeak) rssPeak = rss;
    }, 50);
    await settings.observer.start();
    const attack = abuseCase.start(context);
    try {
      figures = await attack.finished;
    } catch (error) {
      errors.push(`load: ${message(error)}`);
    }
    try {
      ({ pings, canary } = await settings.observer.stop());
    } catch (error) {
      errors.push(`observer: ${message(error)}`);
    }
    clearInterval(sampler);
    const rss = broker.rss();
    if (rss > rssPeak) rssPeak = rss;
    await attack.stop(); // the attacker leaves
    if (next !== undefined) settings.launcher?.prepare(kind, next, settings);
    figure = abuseCase.describe(figures, rssPeak - rssBefore);
    await sleep(settings.size.settleMs);
    ({ rss: rssAfter, held: heldAfter } = await broker.memoryAfterGc());
    try {
      if (!broker.alive()) throw new Error(`the broker exited: ${broker.logTail(500)}`);
      await healthCheck(broker.port, credentials);
      healthy = true;
    } catch (error) {
      errors.push(`health: ${message(error)}`);
    }
    await settings.observer.detach().catch(() => {});
    if (broker.alive()) {
      const again = abuseCase.startForSigterm(context);
      await sleep(abuseCase.sigtermAfterMs);
      sigterm = await broker.terminate(15_000);
      await again.stop();
    }
  } catch (error) {
    errors.push(message(error));
  } finally {
    await settings.observer.detach().catch(() => {});
    await broker.kill();
  }
  return {
    caseId: abuseCase.id,
    title: abuseCase.title,
    broker: kind,
    nonReading: abuseCase.nonReading,
    rssBefore,
    rssPeak,
    rssAfter,
    heldBefore,
    heldAfter,
    pings,
    canary,
    healthy,
    sigterm,
    figures,
    figure,
    errors,
    durationMs: performance.now() - began,
  };
}
