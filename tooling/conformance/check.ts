/**
 * Keeps docs/conformance.md and the tests in step. It reads the statement tables of the document
 * and the names of every test in packages/, and reports:
 *
 * - statements the document marks `tested` whose id is in no test name, or that cite no test
 *   carrying their id (a tested row names the test that proves it);
 * - statement tags in test names (`[MQTT-x.x.x-y]`) that no row of the document lists;
 * - tests the document cites (`` `package/test/file.ts` › name ``) that do not exist.
 *
 * Only tests that run count: `it.skip`, `it.todo` and `it.fails` (a test that expects to fail)
 * prove nothing and are left out. Test names that end in `(3.1.1)` cite the MQTT 3.1.1
 * specification and are left out too. The malformed-packet table of the pool names its tests at
 * run time; its names are read from the table itself.
 *
 * Run it with `node --import tsx tooling/conformance/check.ts` (exit code 1 when something is
 * off), or call {@link checkConformance} from a test.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  KNOWN_FAILING,
  CASES as MALFORMED_CASES,
  testName as malformedTestName,
} from '../../packages/pool/test/malformed/cases.ts';

/** The statuses a row of docs/conformance.md may have. */
export const STATUSES = ['tested', 'not applicable', 'not met'] as const;
export type Status = (typeof STATUSES)[number];

/** One statement row of the document. */
export interface StatementRow {
  readonly id: string;
  readonly status: Status;
  /** 1-based line number in the document. */
  readonly line: number;
  /** The tests the row cites, as `packages/...` file and name. */
  readonly cites: readonly TestName[];
}

/** One test: its file (relative to the repository) and its name. */
export interface TestName {
  readonly file: string;
  readonly name: string;
}

/** What {@link checkConformance} found. */
export interface ConformanceReport {
  readonly rows: readonly StatementRow[];
  readonly tests: readonly TestName[];
  /** Statements marked tested that no test name carries. */
  readonly untested: readonly StatementRow[];
  /** Statements marked tested whose row cites no test that carries their id. */
  readonly uncited: readonly StatementRow[];
  /** Tags in test names that no row lists. */
  readonly unknownTags: readonly { readonly id: string; readonly test: TestName }[];
  /** Rows whose status is not one of {@link STATUSES}, or whose id appears twice. */
  readonly malformedRows: readonly string[];
  /** Tests the document cites that no test file has. */
  readonly staleCitations: readonly { readonly row: StatementRow; readonly test: TestName }[];
}

const TAG = /\[MQTT-(\d+(?:\.\d+)*-\d+)\]/g;
const ROW_ID = /^MQTT-\d+(?:\.\d+)*-\d+$/;
const CITATION = /^`([^`]+)` › (.+)$/;
const TEST_CALL =
  /\b(?:it|test)(?:\.(only|skip|todo|concurrent|fails))?\(\s*(['"`])((?:\\.|(?!\2)[^\\])*)\2/g;

/** Modifiers of a test that does not run, or runs expecting to fail. */
const NOT_RUN = new Set(['skip', 'todo', 'fails']);

/** The statement ids (`MQTT-3.1.2-1`) tagged in a test name; none for an MQTT 3.1.1 test. */
export function tagsOf(name: string): string[] {
  if (/\(3\.1\.1\)\s*$/.test(name)) return [];
  return [...name.matchAll(TAG)].map((match) => `MQTT-${match[1]}`);
}

/**
 * The statement rows of docs/conformance.md: table rows whose first cell is a statement id, and
 * whose third cell is the status.
 */
export function parseRows(markdown: string): { rows: StatementRow[]; malformed: string[] } {
  const rows: StatementRow[] = [];
  const malformed: string[] = [];
  const seen = new Set<string>();
  markdown.split('\n').forEach((text, index) => {
    if (!text.startsWith('|')) return;
    const cells = text
      .split(/(?<!\\)\|/)
      .slice(1, -1)
      .map((cell) => cell.trim());
    const id = (cells[0] ?? '').replace(/`/g, '');
    if (!ROW_ID.test(id)) return;
    const status = (cells[2] ?? '').replace(/\*/g, '').trim();
    if (!(STATUSES as readonly string[]).includes(status)) {
      malformed.push(`line ${index + 1}: ${id} has status "${status}"`);
      return;
    }
    if (seen.has(id)) malformed.push(`line ${index + 1}: ${id} is listed twice`);
    seen.add(id);
    const cites: TestName[] = [];
    for (const part of (cells[4] ?? '').split('<br>')) {
      const cited = CITATION.exec(part.trim());
      if (cited !== null) {
        const name = (cited[2] as string).replaceAll('\\|', '|');
        cites.push({ file: `packages/${cited[1]}`, name });
      }
    }
    rows.push({ id, status: status as Status, line: index + 1, cites });
  });
  return { rows, malformed };
}

/** The names of the tests in one file's source. */
export function testNamesIn(source: string): string[] {
  return [...source.matchAll(TEST_CALL)]
    .filter((match) => !NOT_RUN.has(match[1] ?? ''))
    .map((match) => (match[3] as string).replace(/\\(.)/g, '$1'));
}

/** Every `.ts` file under `dir` that uses vitest (test files and test kits). */
function testSources(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'dist') continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...testSources(path));
    else if (entry.name.endsWith('.ts') && readFileSync(path, 'utf8').includes("from 'vitest'")) {
      found.push(path);
    }
  }
  return found;
}

/** The test names of every package of the repository at `root`. */
export function collectTests(root: string): TestName[] {
  const tests: TestName[] = [];
  const packages = join(root, 'packages');
  for (const pkg of readdirSync(packages, { withFileTypes: true })) {
    if (!pkg.isDirectory()) continue;
    for (const sub of ['src', 'test']) {
      let files: string[];
      try {
        files = testSources(join(packages, pkg.name, sub));
      } catch {
        continue; // no such directory
      }
      for (const file of files) {
        for (const name of testNamesIn(readFileSync(file, 'utf8'))) {
          tests.push({ file: relative(root, file), name });
        }
      }
    }
  }
  const failing = new Set(KNOWN_FAILING);
  for (const malformed of MALFORMED_CASES) {
    if (failing.has(malformed.id)) continue;
    tests.push({ file: MALFORMED_TEST_FILE, name: malformedTestName(malformed) });
  }
  return tests;
}

/** Where the malformed-packet table runs. */
const MALFORMED_TEST_FILE = 'packages/pool/test/malformed/malformed.test.ts';

/** Checks docs/conformance.md of the repository at `root` against its tests. */
export function checkConformance(root: string = repositoryRoot()): ConformanceReport {
  const markdown = readFileSync(join(root, 'docs', 'conformance.md'), 'utf8');
  const { rows, malformed } = parseRows(markdown);
  const tests = collectTests(root);
  const tagged = new Set(tests.flatMap((test) => tagsOf(test.name)));
  const listed = new Set(rows.map((row) => row.id));
  const untested = rows.filter((row) => row.status === 'tested' && !tagged.has(row.id));
  const uncited = rows.filter(
    (row) =>
      row.status === 'tested' &&
      tagged.has(row.id) &&
      !row.cites.some((test) => tagsOf(test.name).includes(row.id)),
  );
  const unknownTags = tests.flatMap((test) =>
    tagsOf(test.name)
      .filter((id) => !listed.has(id))
      .map((id) => ({ id, test })),
  );
  const known = new Set(tests.map((test) => `${test.file}\n${test.name}`));
  const staleCitations = rows.flatMap((row) =>
    row.cites
      .filter((test) => !known.has(`${test.file}\n${test.name}`))
      .map((test) => ({ row, test })),
  );
  return { rows, tests, untested, uncited, unknownTags, malformedRows: malformed, staleCitations };
}

/** The repository root: two levels above this file. */
export function repositoryRoot(): string {
  return resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
}

/** A readable account of a report; empty when everything is in step. */
export function describeProblems(report: ConformanceReport): string[] {
  return [
    ...report.malformedRows.map((text) => `docs/conformance.md ${text}`),
    ...report.untested.map(
      (row) =>
        `docs/conformance.md line ${row.line}: ${row.id} is marked "${row.status}" but no test name carries [${row.id}]`,
    ),
    ...report.uncited.map(
      (row) =>
        `docs/conformance.md line ${row.line}: ${row.id} is marked "tested" but cites no test that carries [${row.id}]`,
    ),
    ...report.unknownTags.map(
      ({ id, test }) =>
        `${test.file}: "${test.name}" tags [${id}], which docs/conformance.md does not list`,
    ),
    ...report.staleCitations.map(
      ({ row, test }) =>
        `docs/conformance.md line ${row.line}: ${row.id} cites a test that does not exist: ${test.file} › "${test.name}"`,
    ),
  ];
}

function main(): void {
  const report = checkConformance();
  const problems = describeProblems(report);
  const counts = new Map<string, number>();
  for (const row of report.rows) counts.set(row.status, (counts.get(row.status) ?? 0) + 1);
  const summary = STATUSES.map((status) => `${counts.get(status) ?? 0} ${status}`).join(', ');
  console.log(`${report.rows.length} statements (${summary}); ${report.tests.length} tests read.`);
  for (const problem of problems) console.log(problem);
  if (problems.length > 0) process.exitCode = 1;
  else console.log('docs/conformance.md and the test names agree.');
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main();
}
