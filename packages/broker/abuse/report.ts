/** The table of a run of the abuse suite, and results.md. */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';
import type { CaseResult } from './runner.ts';
import { type Bounds, checkTargets, MB, TARGETS } from './targets.ts';

const mb = (bytes: number) => (Number.isNaN(bytes) ? '-' : `${(bytes / MB).toFixed(1)} MB`);
const signedMb = (bytes: number) =>
  Number.isNaN(bytes) ? '-' : `${bytes >= 0 ? '+' : ''}${(bytes / MB).toFixed(1)}`;
const ms = (value: number | undefined) =>
  value === undefined || Number.isNaN(value)
    ? '-'
    : value >= 1000
      ? `${(value / 1000).toFixed(2)} s`
      : value >= 10
        ? `${value.toFixed(0)} ms`
        : `${value.toFixed(1)} ms`;

const HEADER = [
  'case',
  'broker',
  'RSS growth',
  'RSS after (vs before)',
  'JS held after',
  'bystander p50 / p99',
  'canary sent / lost',
  'SIGTERM exit',
  'case figure',
  'good login',
  'targets',
];

function row(result: CaseResult, all: readonly CaseResult[], bounds: Bounds): string[] {
  const checks = checkTargets(result, all, bounds);
  const missed = checks.filter((check) => !check.pass).map((check) => check.name);
  const verdict = missed.length === 0 ? 'PASS' : `FAIL: ${missed.join('; ')}`;
  if (result.skipped !== undefined) {
    const name = result.broker === 'ours' ? 'ours' : 'Mosquitto';
    return [result.title, name, ...HEADER.slice(2, -3).map(() => 'n/a'), result.figure, 'n/a', '-'];
  }
  const f = result.figures;
  const pings = result.pings;
  const canary = result.canary;
  return [
    result.title,
    result.broker === 'ours' ? 'ours' : 'Mosquitto',
    mb(result.rssPeak - result.rssBefore),
    `${mb(result.rssAfter)} (${signedMb(result.rssAfter - result.rssBefore)})`,
    result.broker === 'ours' ? signedMb(result.heldAfter - result.heldBefore) : '-',
    pings === undefined
      ? '-'
      : `${ms(pings.p50)} / ${ms(pings.p99)}${pings.disconnected ? ' (disconnected)' : ''}`,
    canary === undefined
      ? '-'
      : `${canary.sent} / ${canary.lost}${canary.disconnected ? ' (disconnected)' : ''}`,
    result.sigterm === undefined
      ? '-'
      : result.sigterm.exitMs === undefined
        ? 'no exit (killed)'
        : `${ms(result.sigterm.exitMs)}${result.sigterm.code === 0 ? '' : ` (${result.sigterm.code ?? result.sigterm.signal})`}`,
    result.figure || '-',
    f.goodLoginMax === undefined
      ? '-'
      : `${ms(f.goodLoginP50)} / ${ms(f.goodLoginMax)} max (alone ${ms(f.goodLoginAlone)})`,
    result.broker === 'ours' ? verdict : `(${missed.length === 0 ? 'all met' : verdict})`,
  ];
}

/** A Markdown table with aligned columns. */
export function markdownTable(header: readonly string[], rows: readonly string[][]): string {
  const widths = header.map((title, i) =>
    Math.max(title.length, ...rows.map((cells) => (cells[i] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    `| ${cells.map((cell, i) => cell.padEnd(widths[i] as number)).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function resultsTable(results: readonly CaseResult[], bounds: Bounds = TARGETS): string {
  return markdownTable(
    HEADER,
    results.map((result) => row(result, results, bounds)),
  );
}

/** The done-when targets of issue 12 item 7, over every case of our broker: met or MISSED. */
export function targetSummary(results: readonly CaseResult[], bounds: Bounds = TARGETS): string[] {
  const ours = results.filter((result) => result.broker === 'ours');
  const lines: string[] = [];
  const summary = (name: string, prefixes: readonly string[], extra = '') => {
    const found: string[] = [];
    let pass = true;
    let seen = false;
    for (const result of ours) {
      for (const check of checkTargets(result, results, bounds)) {
        if (!prefixes.some((prefix) => check.name.startsWith(prefix))) continue;
        seen = true;
        if (!check.pass) {
          pass = false;
          found.push(`${result.title}: ${check.measured}`);
        }
      }
    }
    if (!seen) lines.push(`- not measured: ${name}`);
    else
      lines.push(
        `- ${pass ? 'met' : 'MISSED'}: ${name}${extra}${found.length > 0 ? ` (${found.join('; ')})` : ''}`,
      );
  };
  const floods = ours.filter((result) => result.nonReading);
  const worstFlood = Math.max(...floods.map((result) => result.rssPeak - result.rssBefore));
  lines.push(
    floods.length === 0
      ? '- not measured: floods from a non-reading client'
      : `- ${worstFlood < bounds.rssGrowth ? 'met' : 'MISSED'}: any flood from a non-reading ` +
          `client grows RSS < ${bounds.rssGrowth / MB} MB (largest ${mb(worstFlood)})`,
  );
  summary('32,000 SUBSCRIBE in one write answered in < 2 s', ['32,000 SUBSCRIBE']);
  summary('cost per SUBSCRIBE from 4k to 64k within 2x of the 4k cost', ['cost per SUBSCRIBE']);
  const worstP99 = Math.max(...ours.map((result) => result.pings?.p99 ?? Number.NaN));
  summary(
    `bystander PINGREQ p99 < ${bounds.pingP99Ms} ms in every case`,
    ['bystander'],
    ` (worst ${ms(worstP99)})`,
  );
  summary('good login during the bad-login flood < 200 ms', ['good login']);
  const worstTerm = Math.max(
    ...ours.map((result) => result.sigterm?.exitMs ?? Number.POSITIVE_INFINITY),
  );
  summary('SIGTERM exits within 10 s in every case', ['SIGTERM'], ` (slowest ${ms(worstTerm)})`);
  summary('the canary loses nothing in any case', ['canary']);
  summary('alive and healthy after every case', ['alive']);
  summary('memory given back after the attacker leaves (JS heap + external)', [
    'memory given back',
  ]);
  summary('every RSS growth < 64 MB (all cases)', ['RSS growth']);
  return lines;
}

/** Commit, date and machine, for the header of results.md. */
export function environment(): string[] {
  const git = (...args: string[]) => {
    try {
      return execFileSync('git', args, {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim();
    } catch {
      return '';
    }
  };
  const commit = git('rev-parse', '--short', 'HEAD') || 'unknown';
  const dirty = git('status', '--porcelain', '--', '.') === '' ? '' : ' (with uncommitted changes)';
  const cpu = cpus();
  const mosquitto = spawnSync('/usr/sbin/mosquitto', ['-h'], { encoding: 'utf8' });
  const mosquittoVersion = /mosquitto version (\S+)/.exec(
    `${mosquitto.stdout}${mosquitto.stderr}`,
  )?.[1];
  return [
    `Commit: ${commit}${dirty}; date ${new Date().toISOString()}`,
    `Machine: ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${cpu.length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ` +
      `${process.platform} ${process.arch}, Node ${process.version}` +
      (mosquittoVersion === undefined ? '' : `, Mosquitto ${mosquittoVersion}`),
    `Load average at start (1/5/15 min): ${loadavg()
      .map((n) => n.toFixed(2))
      .join(' ')}`,
  ];
}
