/**
 * The cases of the abuse suite, each parameterised by size: `full` for `pnpm bench:abuse`, `ci`
 * for the test that `pnpm test` runs.
 */
import type { Credentials } from './client.ts';
import {
  type BadLoginSize,
  badLogins,
  type Figures,
  FLOOD_PACKETS,
  type FloodKind,
  type FuzzSize,
  flood,
  fuzz,
  type IdleSize,
  idleSockets,
  type Load,
  type SlowlorisSize,
  slowloris,
  subscribeBurst,
} from './loads.ts';

export interface CaseContext {
  readonly port: number;
  /** The one user of the password files (the bad-login case only logs in). */
  readonly credentials: Credentials;
}

export interface AbuseCase {
  /** Short and unique: `flood-pingreq`, `burst-32000`, ... */
  readonly id: string;
  /** What the table calls it. */
  readonly title: string;
  /** The attacker never reads what the broker sends (the flood RSS bound applies). */
  readonly nonReading: boolean;
  /** The broker needs a password file (ours --users-file, Mosquitto password_file). */
  readonly auth: boolean;
  /** Flags for our broker in this case. */
  readonly ourFlags: readonly string[];
  /** The measured load. */
  start(context: CaseContext): Load;
  /** The load of the SIGTERM phase: runs until stopped. */
  startForSigterm(context: CaseContext): Load;
  /** When the SIGTERM goes, after the SIGTERM phase's load starts, ms. */
  readonly sigtermAfterMs: number;
  /** The case's own figure, for the table. */
  describe(figures: Figures, rssGrowth: number): string;
}

export interface SizeSpec {
  readonly name: 'ci' | 'full';
  readonly fuzz: FuzzSize;
  /** How long each flood from a non-reading client lasts, ms. */
  readonly floodMs: number;
  /** SUBSCRIBE packets per burst: one case each. */
  readonly bursts: readonly number[];
  readonly burstTimeoutMs: number;
  readonly slowloris: SlowlorisSize & {
    /** Our --connect-timeout-ms in the slowloris case (default: the broker's own, 20 s). */
    readonly connectTimeoutMs?: number;
  };
  readonly idle: IdleSize;
  readonly badLogin: BadLoginSize;
  /** How long after the attacker leaves "RSS after" is read, ms. */
  readonly settleMs: number;
  /** How long the SIGTERM phase's load runs before the signal, ms. */
  readonly sigtermAfterMs: number;
}

export const FULL: SizeSpec = {
  name: 'full',
  fuzz: { packets: 1_000_000, sockets: 50, batch: 16, seed: 12 },
  floodMs: 10_000,
  bursts: [4000, 16_000, 32_000, 64_000],
  burstTimeoutMs: 60_000,
  slowloris: { sockets: 100, trickleMs: 200, waitMs: 25_000 },
  idle: { sockets: 10_000, holdMs: 5000 },
  badLogin: { concurrency: 200, durationMs: 10_000, probeEveryMs: 500 },
  settleMs: 3000,
  sigtermAfterMs: 2000,
};

export const CI: SizeSpec = {
  name: 'ci',
  fuzz: { packets: 20_000, sockets: 50, batch: 16, seed: 12 },
  floodMs: 1500,
  bursts: [4000, 16_000, 32_000],
  burstTimeoutMs: 15_000,
  // The default CONNECT timeout is 20 s: too long for CI, so ours gets 2 s here.
  slowloris: { sockets: 20, trickleMs: 200, waitMs: 5000, connectTimeoutMs: 2000 },
  idle: { sockets: 2000, holdMs: 1500 },
  badLogin: { concurrency: 200, durationMs: 2500, probeEveryMs: 250 },
  settleMs: 500,
  sigtermAfterMs: 500,
};

const FOREVER = 24 * 3600_000;

function count(n: number): string {
  if (!Number.isFinite(n)) return '-';
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return String(Math.round(n));
}

function ms(n: number): string {
  if (!Number.isFinite(n)) return '-';
  return n >= 1000 ? `${(n / 1000).toFixed(2)} s` : `${n.toFixed(0)} ms`;
}

function floodCase(kind: FloodKind, size: SizeSpec): AbuseCase {
  const packets = FLOOD_PACKETS[kind]();
  return {
    id: `flood-${kind.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`,
    title: `${kind} flood, never reads`,
    nonReading: true,
    auth: false,
    ourFlags: [],
    start: ({ port }) => flood(port, packets, size.floodMs),
    startForSigterm: ({ port }) => flood(port, packets, FOREVER),
    sigtermAfterMs: size.sigtermAfterMs,
    describe: (f) =>
      `${count(f.packets as number)} ${kind} written` +
      (Number.isNaN(f.closedAtMs) ? '' : `, connection closed at ${ms(f.closedAtMs as number)}`),
  };
}

/** Every case at the given size, in the order the table lists them. */
export function abuseCases(size: SizeSpec): AbuseCase[] {
  const { slowloris: trickle } = size;
  return [
    {
      id: 'fuzz',
      title: `fuzz, ${count(size.fuzz.packets)} mutated packets`,
      nonReading: false,
      auth: false,
      ourFlags: [],
      start: ({ port }) => fuzz(port, size.fuzz),
      startForSigterm: ({ port }) =>
        fuzz(port, { ...size.fuzz, packets: Number.POSITIVE_INFINITY }),
      sigtermAfterMs: size.sigtermAfterMs,
      describe: (f) =>
        `${count(f.read as number)} of them read by the broker, ` +
        `${count(f.connections as number)} connections, ${ms(f.ms as number)}`,
    },
    ...(['PINGREQ', 'SUBSCRIBE', 'QoS 1 PUBLISH', 'PUBREL'] as const).map((kind) =>
      floodCase(kind, size),
    ),
    ...size.bursts.map(
      (n): AbuseCase => ({
        id: `burst-${n}`,
        title: `SUBSCRIBE burst ${count(n)}`,
        nonReading: false,
        auth: false,
        // Every SUBSCRIBE a subscription of its own: the limit (default 1000) would refuse most.
        ourFlags: ['--max-subscriptions', String(Math.max(n, 1000))],
        start: ({ port }) => subscribeBurst(port, n, size.burstTimeoutMs),
        startForSigterm: ({ port }) => subscribeBurst(port, n, FOREVER),
        // Mid-burst: long enough for the write to arrive, not for the SUBACKs to end.
        sigtermAfterMs: 100,
        describe: (f) =>
          (f.subacks === n
            ? `${((f.ms as number) / 1000).toFixed(3)} s`
            : `${count(f.subacks as number)}/${count(n)} SUBACKs in ${ms(f.ms as number)}`) +
          `, ${(f.usPerSubscribe as number).toFixed(1)} µs/SUBSCRIBE` +
          (f.granted === n ? '' : `, ${count(f.granted as number)} granted`),
      }),
    ),
    {
      id: 'slowloris',
      title: `slowloris CONNECT x${trickle.sockets}`,
      nonReading: false,
      auth: false,
      ourFlags:
        trickle.connectTimeoutMs === undefined
          ? []
          : ['--connect-timeout-ms', String(trickle.connectTimeoutMs)],
      start: ({ port }) => slowloris(port, trickle),
      startForSigterm: ({ port }) => slowloris(port, { ...trickle, waitMs: FOREVER }),
      sigtermAfterMs: size.sigtermAfterMs,
      describe: (f) =>
        `${f.cutOff}/${f.sockets} cut off` +
        (f.cutOff === 0 ? ` in ${ms(trickle.waitMs)}` : `, last at ${ms(f.lastCutMs as number)}`),
    },
    {
      id: 'idle',
      title: `${count(size.idle.sockets)} idle sockets, no CONNECT`,
      nonReading: false,
      auth: false,
      ourFlags: [],
      start: ({ port }) => idleSockets(port, size.idle),
      startForSigterm: ({ port }) => idleSockets(port, { ...size.idle, holdMs: FOREVER }),
      // Opening them all takes a while: the signal comes once most are open.
      sigtermAfterMs: Math.max(size.sigtermAfterMs, size.idle.sockets / 4),
      describe: (f, growth) =>
        `${count(f.stillOpen as number)}/${count(f.opened as number)} open after ${ms(size.idle.holdMs)}, ` +
        `${(growth / 1024 / Math.max(1, f.opened as number)).toFixed(1)} KiB each`,
    },
    {
      id: 'bad-login',
      title: `bad-login flood x${size.badLogin.concurrency}`,
      nonReading: false,
      auth: true,
      ourFlags: [],
      start: ({ port, credentials }) => badLogins(port, credentials, size.badLogin),
      startForSigterm: ({ port, credentials }) =>
        badLogins(port, credentials, { ...size.badLogin, durationMs: FOREVER }),
      sigtermAfterMs: size.sigtermAfterMs,
      describe: (f) =>
        `${count(f.answered as number)} refused (${(f.answeredPerSecond as number).toFixed(0)}/s)` +
        (f.failedLogins === 0 ? '' : `, ${f.failedLogins} good logins failed`),
    },
  ];
}
