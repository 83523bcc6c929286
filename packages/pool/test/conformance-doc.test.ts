/**
 * docs/conformance.md maps every MQTT 5 normative statement to the tests that prove it. This test
 * keeps the map honest: no statement marked tested without a running test that names it and that
 * its row cites, and no test that names a statement the map does not list (see
 * tooling/conformance/check.ts).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  checkConformance,
  describeProblems,
  parseRows,
  tagsOf,
  testNamesIn,
} from '../../../tooling/conformance/check.ts';

describe('docs/conformance.md', () => {
  const report = checkConformance();

  it('lists every MQTT 5 statement once, each with a known status', () => {
    expect(report.malformedRows).toEqual([]);
    expect(report.rows.length).toBeGreaterThanOrEqual(250);
    expect(report.rows.some((row) => row.id === 'MQTT-3.1.0-1')).toBe(true);
    expect(report.rows.some((row) => row.id === 'MQTT-6.0.0-4')).toBe(true);
  });

  it('agrees with the tests: every tested statement is named by a test, every tag is listed, every cited test exists', () => {
    expect(describeProblems(report)).toEqual([]);
    expect(report.rows.find((row) => row.id === 'MQTT-3.1.2-4')?.cites.length).toBeGreaterThan(0);
  });

  it('cites, in every tested row, a test that names the statement; cases of the malformed-packet table count', () => {
    expect(report.uncited).toEqual([]);
    const malformed = report.rows.find((row) => row.id === 'MQTT-3.1.4-1')?.cites ?? [];
    expect(malformed.some((test) => test.file.endsWith('/malformed/malformed.test.ts'))).toBe(true);
  });
});

describe('the conformance checker', () => {
  it('reads statement rows and their status from the tables', () => {
    const { rows, malformed } = parseRows(
      [
        '| Statement | Requires | Status | Binds | Tests |',
        '| --- | --- | --- | --- | --- |',
        '| `MQTT-1.5.4-1` | well-formed \\| UTF-8 | tested | both | x |',
        '| `MQTT-3.1.0-1` | CONNECT first | not applicable | client | why<br>`pool/test/a.test.ts` › one \\| two |',
        '| `MQTT-3.1.0-1` | again | not met | client | x |',
        '| `MQTT-9.9.9-9` | nonsense | maybe | server | x |',
        '| `MQTT-3.1.2-1` | codec | tested by codec | server | x |',
        '| not a row | | tested | | |',
      ].join('\n'),
    );
    expect(rows.map((row) => [row.id, row.status, row.line])).toEqual([
      ['MQTT-1.5.4-1', 'tested', 3],
      ['MQTT-3.1.0-1', 'not applicable', 4],
      ['MQTT-3.1.0-1', 'not met', 5],
    ]);
    expect(rows[1]?.cites).toEqual([{ file: 'packages/pool/test/a.test.ts', name: 'one | two' }]);
    expect(malformed).toEqual([
      'line 5: MQTT-3.1.0-1 is listed twice',
      'line 6: MQTT-9.9.9-9 has status "maybe"',
      'line 7: MQTT-3.1.2-1 has status "tested by codec"',
    ]);
  });

  it('reports a tested row that no running test names, or that cites none that does', () => {
    const root = mkdtempSync(join(tmpdir(), 'conformance-'));
    try {
      mkdirSync(join(root, 'docs'));
      mkdirSync(join(root, 'packages', 'x', 'test'), { recursive: true });
      // Built from pieces so that the checker does not read these lines as tests of this file.
      const [it_, skip] = ['it', 'it.skip'];
      writeFileSync(
        join(root, 'packages', 'x', 'test', 'a.test.ts'),
        [
          "import { it } from 'vitest';",
          `${it_}('proves [MQTT-9.9.9-1]', () => {});`,
          `${it_}('proves [MQTT-9.9.9-2]', () => {});`,
          `${skip}('skipped [MQTT-9.9.9-3]', () => {});`,
        ].join('\n'),
      );
      writeFileSync(
        join(root, 'docs', 'conformance.md'),
        [
          '| `MQTT-9.9.9-1` | cites its test | tested | both | `x/test/a.test.ts` › proves [MQTT-9.9.9-1] |',
          '| `MQTT-9.9.9-2` | cites another | tested | both | `x/test/a.test.ts` › proves [MQTT-9.9.9-1] |',
          '| `MQTT-9.9.9-3` | only skipped | tested | both | `x/test/a.test.ts` › skipped [MQTT-9.9.9-3] |',
        ].join('\n'),
      );
      const fixture = checkConformance(root);
      expect(fixture.untested.map((row) => row.id)).toEqual(['MQTT-9.9.9-3']);
      expect(fixture.uncited.map((row) => row.id)).toEqual(['MQTT-9.9.9-2']);
      expect(fixture.staleCitations.map(({ row }) => row.id)).toEqual(['MQTT-9.9.9-3']);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('reads test names and their tags, leaving out MQTT 3.1.1 tests and tests that do not run', () => {
    // Built from pieces so that the checker does not read these lines as tests of this file.
    const [it_, only, skip, todo, fails, test] = [
      'it',
      'it.only',
      'it.skip',
      'it.todo',
      'it.fails',
      'test',
    ];
    const source = [
      `${it_}('closes [MQTT-3.1.0-1] [MQTT-4.13.1-1]', () => {});`,
      `${it_}("a \\"quoted\\" name [MQTT-3.1.2-4]", () => {});`,
      `${only}(\`template [MQTT-2.2.1-4]\`, () => {});`,
      `${skip}('skipped [MQTT-2.2.1-5]', () => {});`,
      `${todo}('to do [MQTT-2.2.1-6]');`,
      `${fails}('expected to fail [MQTT-2.2.1-7]', () => {});`,
      `${test}('3.1.1 numbers [MQTT-3.1.2-24] (3.1.1)', () => {});`,
    ].join('\n');
    const names = testNamesIn(source);
    expect(names).toEqual([
      'closes [MQTT-3.1.0-1] [MQTT-4.13.1-1]',
      'a "quoted" name [MQTT-3.1.2-4]',
      'template [MQTT-2.2.1-4]',
      '3.1.1 numbers [MQTT-3.1.2-24] (3.1.1)',
    ]);
    expect(names.map(tagsOf)).toEqual([
      ['MQTT-3.1.0-1', 'MQTT-4.13.1-1'],
      ['MQTT-3.1.2-4'],
      ['MQTT-2.2.1-4'],
      [],
    ]);
  });
});
