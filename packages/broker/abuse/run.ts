/**
 * `pnpm bench:abuse`: every case of the abuse suite at full size against our broker and, where
 * it is installed, Mosquitto under the same cases, each in a fresh process; prints the table and
 * writes it to abuse/results.md with the commit, date and machine.
 *
 *   node --import tsx abuse/run.ts [--size full|ci] [--only fuzz,burst-32000,...]
 *                                  [--brokers ours,mosquitto] [--no-write] [--keep-logs]
 *
 * A run with --only or --size ci prints its table but leaves results.md alone.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type BrokerKind, makeAuthFiles, mosquittoInstalled } from './broker-process.ts';
import { abuseCases, CI, FULL, type SizeSpec } from './cases.ts';
import { Observer } from './observer.ts';
import { environment, resultsTable, targetSummary } from './report.ts';
import { type CaseResult, runCase, skippedResult } from './runner.ts';
import { checkTargets } from './targets.ts';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: 'full' },
    only: { type: 'string' },
    brokers: { type: 'string' },
    'no-write': { type: 'boolean', default: false },
    'keep-logs': { type: 'boolean', default: false },
  },
});

const size: SizeSpec = values.size === 'ci' ? CI : FULL;
const only = values.only?.split(',').filter((id) => id !== '');
const brokers = (values.brokers?.split(',') ??
  (mosquittoInstalled() ? ['ours', 'mosquitto'] : ['ours'])) as BrokerKind[];
for (const broker of brokers)
  if (broker !== 'ours' && broker !== 'mosquitto') throw new Error(`unknown broker ${broker}`);
if (brokers.includes('mosquitto') && !mosquittoInstalled())
  throw new Error('Mosquitto is not installed (apt-get install mosquitto)');
const cases = abuseCases(size).filter((c) => only === undefined || only.includes(c.id));
if (cases.length === 0) throw new Error(`no case matches --only ${values.only}`);

const header = environment();
const dir = mkdtempSync(join(tmpdir(), 'mqtt-sessions-abuse-'));
const auth = makeAuthFiles(dir, { username: 'good', password: 'the-right-password' });
const observer = Observer.spawn();
const results: CaseResult[] = [];
const started = Date.now();
console.log(header.join('\n'));
console.log(`Size ${size.name}: ${cases.length} cases x ${brokers.join(', ')}; logs in ${dir}\n`);
try {
  for (const abuseCase of cases) {
    for (const broker of brokers) {
      let result: CaseResult;
      if (broker === 'mosquitto' && abuseCase.auth && auth.mosquittoPasswordFile === undefined) {
        result = skippedResult(broker, abuseCase, 'mosquitto_passwd is not installed');
      } else {
        result = await runCase(broker, abuseCase, { size, dir, auth, observer });
      }
      results.push(result);
      const missed = checkTargets(result, results).filter((check) => !check.pass);
      console.log(
        `${abuseCase.title} / ${broker}: ${(result.durationMs / 1000).toFixed(1)} s, ` +
          (result.skipped ??
            (missed.length === 0
              ? 'every target met'
              : `missed: ${missed.map((check) => `${check.name} (${check.measured})`).join('; ')}`)),
      );
    }
  }
} finally {
  await observer.close();
}

const table = resultsTable(results);
const summary = targetSummary(results);
console.log(`\n${table}\n\nTargets (ours):\n${summary.join('\n')}`);
console.log(`\nDone in ${((Date.now() - started) / 1000).toFixed(0)} s.`);

const sizeLine =
  `Size ${size.name}: fuzz ${size.fuzz.packets.toLocaleString('en')} mutated packets over ` +
  `${size.fuzz.sockets} sockets (batches of ${size.fuzz.batch}, seed ${size.fuzz.seed}); floods ` +
  `${size.floodMs / 1000} s each; SUBSCRIBE bursts of ${size.bursts.map((n) => n.toLocaleString('en')).join(', ')}; ` +
  `slowloris ${size.slowloris.sockets} sockets at one byte per ${size.slowloris.trickleMs} ms; ` +
  `${size.idle.sockets.toLocaleString('en')} idle sockets held ${size.idle.holdMs / 1000} s; ` +
  `${size.badLogin.concurrency} bad logins at once for ${size.badLogin.durationMs / 1000} s; ` +
  `RSS after read ${size.settleMs / 1000} s after the attacker left; SIGTERM ` +
  `${size.sigtermAfterMs / 1000} s into the load run again (0.1 s into a burst).`;

if (!values['no-write'] && only === undefined && size.name === 'full') {
  const path = new URL('./results.md', import.meta.url);
  writeFileSync(
    path,
    [
      '# pnpm bench:abuse results',
      '',
      'Written by `pnpm bench:abuse` (packages/broker/abuse/run.ts); each run overwrites it. The',
      'method, the cases and what each asserts are in [README.md](README.md).',
      '',
      ...header.map((line) => `${line}  `),
      `${sizeLine}  `,
      `Duration: ${((Date.now() - started) / 60_000).toFixed(1)} min`,
      '',
      table,
      '',
      'Targets (ours):',
      '',
      ...summary,
      '',
    ].join('\n'),
  );
  console.log(`Wrote ${path.pathname}`);
}
if (!values['keep-logs']) rmSync(dir, { recursive: true, force: true });
