/**
 * The abuse suite at CI size, against our broker only: a real broker process per case, driven
 * over real sockets by an attacker (a fuzz of mutated packets, floods from a client that never
 * reads, SUBSCRIBE bursts in one write, a slowloris CONNECT, idle sockets without CONNECT, a flood
 * of bad logins), while a bystander times its PINGREQs and a QoS 1 canary counts what it loses.
 * Each case then checks, as a user would: RSS growth bounded and memory given back, the bystander
 * answered promptly, the canary complete, the broker alive and healthy afterwards, and SIGTERM in
 * the middle of the load again ending it in time. `pnpm bench:abuse` runs the same cases at full
 * size, beside Mosquitto; abuse/README.md has the method.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuthFiles, makeAuthFiles } from '../abuse/broker-process.ts';
import { abuseCases, CI } from '../abuse/cases.ts';
import { Observer } from '../abuse/observer.ts';
import { resultsTable } from '../abuse/report.ts';
import { type CaseResult, Launcher, runCase } from '../abuse/runner.ts';
import { type Bounds, checkTargets, MB, TARGETS } from '../abuse/targets.ts';

/**
 * The targets of `pnpm bench:abuse`, with three bounds loosened for CI, where the targets made the
 * test flaky. The figures were measured on the 2-core development machine while another benchmark
 * ran on it; `pnpm bench:abuse` holds the targets themselves and shows FAIL when one is missed.
 *
 * RSS growth < 96 MB instead of 64 MB. A flood from a client that never reads grew our broker's
 * RSS by 34-57 MB in CI-size runs, 63 MB at full size (and once 69 MB outside the suite): the
 * broker cuts the flooder off (0x97) about 0.2 s in, once 21 MB wait unread, but then keeps the
 * socket for a second (CLOSE_GRACE_MS in the pool's TCP transport) and reads and discards what
 * keeps coming, at over a GB/s; how much of that garbage is alive at the peak depends on when V8
 * collects. 96 MB still fails a broker that buffers a flood: 1.5 s of one is gigabytes.
 *
 * Bystander PINGREQ p99 < 200 ms instead of 100 ms. Measured: 5-45 ms in most cases and runs,
 * 69 ms once (bad-login flood, two threads hashing on two cores), and 115 ms once, in a PUBREL
 * flood when the machine's load average jumped to 4 (42 pings in 1.5 s: the p99 is the slowest).
 * A broker that handled a burst in one turn of its event loop would hold the bystander for the
 * whole burst: 0.3 s for 16,000 SUBSCRIBE, over 0.4 s for 32,000, so 200 ms still catches that.
 *
 * A good login during the bad-login flood < 1 s instead of 200 ms. A good login costs one scrypt
 * hash (N=16384, r=8): 35-180 ms here depending on the load, and during the flood it took 34-310
 * ms (the 310 ms with the load average at 4, when a login alone had taken 64 ms). The guard takes
 * addresses in turn, so the good login waits for at most the hash in progress; one that made it
 * wait behind the 200 bad logins would take about 100 hashes (3.5 s or more), which 1 s catches.
 */
const CI_BOUNDS: Bounds = { ...TARGETS, rssGrowth: 96 * MB, pingP99Ms: 200, goodLoginMs: 1000 };

/**
 * Targets our broker is known to miss at CI size, by case id and target name, with the figure
 * measured; each still runs and is reported, and the test fails if one starts to pass (so that
 * the list is kept honest).
 */
const KNOWN_FAILING: Record<string, readonly string[]> = {};

describe('abuse suite, CI size, our broker', () => {
  let dir: string;
  let auth: AuthFiles;
  let observer: Observer;
  const launcher = new Launcher();
  const results: CaseResult[] = [];
  const cases = abuseCases(CI);

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'mqtt-sessions-abuse-'));
    auth = makeAuthFiles(dir, { username: 'good', password: 'the-right-password' });
    observer = Observer.spawn();
  }, 30_000);

  afterAll(async () => {
    // The figures behind the verdicts, for a look at how close to a bound CI runs.
    if (results.length > 0)
      console.log(`abuse suite, CI size:\n${resultsTable(results, CI_BOUNDS)}`);
    await launcher.close();
    await observer?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  for (const [index, abuseCase] of cases.entries()) {
    it(`${abuseCase.title}: memory bounded and given back, bystander answered, canary complete, healthy, SIGTERM in time`, async () => {
      const settings = { size: CI, dir, auth, observer, launcher };
      const result = await runCase('ours', abuseCase, settings, cases[index + 1]);
      results.push(result);
      const checks = checkTargets(result, results, CI_BOUNDS);
      const known = KNOWN_FAILING[abuseCase.id] ?? [];
      const missed = checks
        .filter((check) => !check.pass && !known.includes(check.name))
        .map((check) => `${check.name}: ${check.measured}`);
      const nowPassing = checks
        .filter((check) => check.pass && known.includes(check.name))
        .map((check) => `${check.name} (known failing) passes: ${check.measured}`);
      expect([...missed, ...nowPassing], result.figure).toEqual([]);
    }, 60_000);
  }
});
