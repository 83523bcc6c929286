/**
 * docs/conformance.md maps every MQTT 5 normative statement to the tests that prove it. This test
 * keeps the map honest: no statement marked tested without a test that names it, and no test that
 * names a statement the map does not list (see tooling/conformance/check.ts).
 */
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
    ]);
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
