/**
 * What each case asserts, as a user of the broker would put it: memory stays bounded and is given
 * back, everyone else is still answered promptly, the canary loses nothing, the broker is alive
 * and healthy afterwards, and SIGTERM still ends it in time. Plus the figures of issue 12 item 7
 * for the SUBSCRIBE burst and the bad-login flood.
 */
import type { CaseResult } from './runner.ts';

export const MB = 1_000_000;

export interface Bounds {
  /** RSS growth while the load runs (peak minus before), bytes. */
  readonly rssGrowth: number;
  /** Ours: JavaScript memory (V8 heap + external) after the attacker left minus before, bytes. */
  readonly heldReturned: number;
  /** The bystander's PINGREQ round trip, 99th percentile, ms. */
  readonly pingP99Ms: number;
  /** From SIGTERM to the exit, ms. */
  readonly sigtermMs: number;
  /** A good login (CONNECT to CONNACK) during the bad-login flood, slowest, ms. */
  readonly goodLoginMs: number;
  /** 32,000 SUBSCRIBE in one write, until the last SUBACK, ms. */
  readonly burst32kMs: number;
  /** Cost per SUBSCRIBE of a bigger burst over that of the 4,000 burst, at most. */
  readonly burstCostRatio: number;
}

/** The targets of issue 12 item 7. */
export const TARGETS: Bounds = {
  rssGrowth: 64 * MB,
  heldReturned: 4 * MB,
  pingP99Ms: 100,
  sigtermMs: 10_000,
  goodLoginMs: 200,
  burst32kMs: 2000,
  burstCostRatio: 2,
};

export interface TargetCheck {
  readonly name: string;
  readonly pass: boolean;
  readonly measured: string;
}

const mb = (bytes: number) => `${(bytes / MB).toFixed(1)} MB`;
const msText = (ms: number | undefined) =>
  ms === undefined || Number.isNaN(ms) ? 'none' : `${ms.toFixed(0)} ms`;

/**
 * Every target that applies to `result`. `all` are the other results of the run (the burst
 * cost compares with the 4,000 burst on the same broker).
 */
export function checkTargets(
  result: CaseResult,
  all: readonly CaseResult[],
  bounds: Bounds = TARGETS,
): TargetCheck[] {
  const checks: TargetCheck[] = [];
  if (result.skipped !== undefined) return checks;
  const check = (name: string, pass: boolean, measured: string) =>
    checks.push({ name, pass, measured });
  const f = result.figures;
  check('ran without errors', result.errors.length === 0, result.errors.join('; ') || 'none');
  const growth = result.rssPeak - result.rssBefore;
  check(
    `RSS growth < ${mb(bounds.rssGrowth)}`,
    growth < bounds.rssGrowth,
    `${mb(growth)} (${mb(result.rssBefore)} -> ${mb(result.rssPeak)})`,
  );
  if (result.broker === 'ours') {
    const held = result.heldAfter - result.heldBefore;
    check(
      `memory given back: JS heap + external after - before < ${mb(bounds.heldReturned)}`,
      held < bounds.heldReturned,
      mb(held),
    );
  }
  const pings = result.pings;
  check(
    `bystander PINGREQ p99 < ${bounds.pingP99Ms} ms`,
    pings !== undefined && !pings.disconnected && pings.count > 0 && pings.p99 < bounds.pingP99Ms,
    pings === undefined
      ? 'not measured'
      : `p99 ${pings.p99.toFixed(1)} ms over ${pings.count} pings` +
          (pings.disconnected ? ', disconnected' : ''),
  );
  const canary = result.canary;
  check(
    'canary loses nothing',
    canary !== undefined && !canary.disconnected && canary.sent > 0 && canary.lost === 0,
    canary === undefined
      ? 'not measured'
      : `sent ${canary.sent}, lost ${canary.lost}, refused ${canary.refused}` +
          (canary.disconnected ? ', disconnected' : ''),
  );
  check('alive and healthy afterwards', result.healthy, result.healthy ? 'yes' : 'no');
  const term = result.sigterm;
  check(
    `SIGTERM: clean exit < ${bounds.sigtermMs / 1000} s`,
    term?.exitMs !== undefined && term.exitMs < bounds.sigtermMs && term.code === 0,
    term === undefined
      ? 'not sent'
      : `${msText(term.exitMs)}, exit ${term.code === null ? `by ${term.signal}` : `code ${term.code}`}`,
  );
  if (result.caseId.startsWith('burst-')) {
    const count = f.count as number;
    check('every SUBACK arrives', f.subacks === count, `${f.subacks}/${count}`);
    if (count === 32_000) {
      check(
        `32,000 SUBSCRIBE answered in < ${bounds.burst32kMs / 1000} s`,
        f.subacks === count && (f.ms as number) < bounds.burst32kMs,
        msText(f.ms),
      );
    }
    const base = all.find(
      (other) => other.broker === result.broker && other.caseId === 'burst-4000',
    );
    if (count > 4000 && base?.figures.usPerSubscribe !== undefined) {
      const ratio = (f.usPerSubscribe as number) / base.figures.usPerSubscribe;
      check(
        `cost per SUBSCRIBE within ${bounds.burstCostRatio}x of the 4,000 burst's`,
        ratio <= bounds.burstCostRatio,
        `${ratio.toFixed(2)}x (${(f.usPerSubscribe as number).toFixed(1)} vs ` +
          `${base.figures.usPerSubscribe.toFixed(1)} µs)`,
      );
    }
  }
  if (result.caseId === 'slowloris') {
    check('every slowloris socket is cut off', f.cutOff === f.sockets, `${f.cutOff}/${f.sockets}`);
  }
  if (result.caseId === 'idle') {
    check('every idle socket is accepted', f.opened === f.sockets, `${f.opened}/${f.sockets}`);
  }
  if (result.caseId === 'bad-login') {
    check(
      `good login during the flood < ${bounds.goodLoginMs} ms`,
      f.failedLogins === 0 &&
        (f.goodLogins as number) > 0 &&
        (f.goodLoginMax as number) < bounds.goodLoginMs,
      `slowest ${msText(f.goodLoginMax)} of ${f.goodLogins}, median ${msText(f.goodLoginP50)}, ` +
        `${msText(f.goodLoginAlone)} without the flood` +
        (f.failedLogins === 0 ? '' : `, ${f.failedLogins} failed`),
    );
  }
  return checks;
}
