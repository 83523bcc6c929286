/**
 * The malformed-packet table of issue 11 (`cases.ts`) through a real pool. For each case: a
 * bystander subscribes to `bystander/#`; a raw client sends the case's `before` packets, then its
 * bytes; the test compares the exact bytes the pool sent after the `before` answers, whether the
 * connection is closed, what the bystander got (nothing, unless the case says), that the bystander
 * is still served, and that the pool reported no internal error.
 *
 * Cases listed in `KNOWN_FAILING` run as `it.fails`: they document what today's code gets wrong,
 * and a fix that makes one pass fails its test until the entry is removed.
 */
import { describe, expect, it } from 'vitest';
import { parseRows } from '../../../../tooling/conformance/check.ts';
import { bystander, setup, unaffected, wire } from '../conformance-helpers.js';
import { TestClient } from '../helpers.js';
import {
  hex,
  lenPrefixed,
  packet,
  props,
  remainingLengthMatches,
  str,
  toBuffer,
  toHex,
  utf8,
} from './bytes.js';
import {
  CASES,
  CONNECT4,
  CONNECT5,
  type Group,
  KNOWN_FAILING,
  type MalformedCase,
  PLACES,
  PROPERTIES,
  testName,
} from './cases.js';

/** The reason code (MQTT 5) or return code (3.1.1) of the CONNACK at the start of `bytes`. */
function connackCode(bytes: readonly number[]): number | undefined {
  if (bytes[0] !== 0x20) return undefined;
  let i = 1;
  while (((bytes[i] ?? 0) & 0x80) !== 0) i++;
  return bytes[i + 2]; // after the Remaining Length: the acknowledge flags, then the code
}

function run(c: MalformedCase): void {
  const { pool, errors, timers } = setup();
  const watcher = bystander(pool);
  const client = new TestClient(pool, c.protocol);
  for (const bytes of c.before) client.sendBytes(toBuffer(bytes));
  if (c.before.length > 0) {
    // The `before` packets are valid: the CONNECT was accepted and the connection is open.
    expect(connackCode(wire(client)), 'the CONNACK of the `before` CONNECT').toBe(0);
    expect(client.closed, 'closed by the `before` packets').toBe(false);
  }
  client.drain();
  const from = client.bytes.length;
  const watcherFrom = watcher.bytes.length;

  client.sendBytes(toBuffer(c.send));
  timers.advance(0);

  const out = wire(client, from);
  if ('connackAccepted' in c.expect) {
    expect(connackCode(out), `CONNACK 0x00, got ${toHex(out)}`).toBe(0);
    expect(client.closed).toBe(false);
  } else {
    expect({ out: toHex(out), closed: client.closed }).toEqual(c.expect);
  }
  expect(errors).toEqual([]);
  expect(toHex(wire(watcher, watcherFrom)), 'what the bystander received').toBe(c.forwarded ?? '');
  watcher.drain();
  unaffected(pool, watcher);
}

// MALFORMED_ALL=1 runs every case as a plain test, to list what fails now.
const failing = new Set(process.env.MALFORMED_ALL === '1' ? [] : KNOWN_FAILING);
const groups = [...new Set(CASES.map((c) => c.group))];

for (const group of groups) {
  describe(`malformed packets: ${group}`, () => {
    for (const c of CASES.filter((each) => each.group === group)) {
      const test = failing.has(c.id) ? it.fails : it;
      test(testName(c), () => run(c));
    }
  });
}

describe('the malformed-packet table itself', () => {
  it('has well over a hundred cases, in every class, for both protocols', () => {
    expect(CASES.length).toBeGreaterThan(300);
    const expected: Group[] = [
      'utf8',
      'property-bounds',
      'property-placement',
      'property-twice',
      'property-value',
      'variable-byte-integer',
      'packet-id-zero',
      'ack-malformed',
      'ack-flow',
      'connect-flags',
      'connect',
      'fixed-header',
      'packet-type',
      'subscribe',
      'will-on-error',
      'valid',
    ];
    expect(new Set(groups)).toEqual(new Set(expected));
    expect(CASES.some((c) => c.protocol === 4 && c.valid)).toBe(true);
    expect(CASES.filter((c) => c.valid).length).toBeGreaterThanOrEqual(20);
  });

  it('names every case <group>.<what>.<v5|v311>', () => {
    const wrong = CASES.filter(
      (c) => !c.id.startsWith(`${c.group}.`) || !c.id.endsWith(c.protocol === 5 ? '.v5' : '.v311'),
    );
    expect(wrong.map((c) => c.id)).toEqual([]);
  });

  it('lists in KNOWN_FAILING only ids of cases, each once', () => {
    const ids = new Set(CASES.map((c) => c.id));
    expect(KNOWN_FAILING.filter((id) => !ids.has(id))).toEqual([]);
    expect(new Set(KNOWN_FAILING).size).toBe(KNOWN_FAILING.length);
    // A valid packet that today's code refuses is a regression to fix, not a table entry.
    expect(CASES.filter((c) => c.valid && failing.has(c.id)).map((c) => c.id)).toEqual([]);
  });

  it('writes every packet with a Remaining Length that matches its bytes', () => {
    const wrong: string[] = [];
    for (const c of CASES) {
      for (const bytes of [
        ...c.before,
        c.send,
        ...(c.forwarded === undefined ? [] : [c.forwarded]),
      ]) {
        if (c.id.startsWith('variable-byte-integer.remaining-length')) continue;
        if (!remainingLengthMatches(bytes)) wrong.push(`${c.id}: ${bytes}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('names only statements that docs/conformance.md lists, in the MQTT 5 cases', async () => {
    const { readFileSync } = await import('node:fs');
    const markdown = readFileSync(
      new URL('../../../../docs/conformance.md', import.meta.url),
      'utf8',
    );
    const listed = new Set(parseRows(markdown).rows.map((row) => row.id));
    const unknown = CASES.filter((c) => c.protocol === 5).flatMap((c) =>
      [...c.rule.matchAll(/\[(MQTT-[\d.]+-\d+)\]/g)]
        .map((m) => m[1] as string)
        .filter((id) => !listed.has(id))
        .map((id) => `${c.id}: ${id}`),
    );
    expect(unknown).toEqual([]);
  });

  it('builds the byte examples of issue 11 exactly as the issue writes them', () => {
    // The byte writer only counts lengths; these packets built with it equal the literals.
    expect(packet(0x30, str('to\u0000'), utf8('x'))).toBe('30 06 00 03 74 6f 00 78');
    expect(packet(0x30, lenPrefixed(utf8('to'), 'ed a0 80'), utf8('payload'))).toBe(
      hex('30 0e 00 05 74 6f ed a0 80 70 61 79 6c 6f 61 64'),
    );
    expect(packet(0x32, str('topic'), '12 34', '01 01', utf8('payload'))).toBe(
      hex('32 12 00 05 74 6f 70 69 63 12 34 01 01 70 61 79 6c 6f 61 64'),
    );
    expect(packet(0x82, '00 01', props('0b 01', '0b 01'), str('p'), '00')).toBe(
      hex('82 0b 00 01 04 0b 01 0b 01 00 01 70 00'),
    );
    expect(packet(0x32, str('topic'), '00 00', props(), utf8('payload'))).toBe(
      hex('32 11 00 05 74 6f 70 69 63 00 00 00 70 61 79 6c 6f 61 64'),
    );
    expect(packet(0x10, str('MQTT'), '05 02 00 0a', props(), str('p'), str('p'))).toBe(
      hex('10 11 00 04 4d 51 54 54 05 02 00 0a 00 00 01 70 00 01 70'),
    );
    expect(CONNECT5).toBe(hex('10 10 00 04 4d 51 54 54 05 02 00 00 02 17 00 00 01 6d'));
    expect(CONNECT4).toBe(hex('10 0d 00 04 4d 51 54 54 04 02 00 00 00 01 6d'));
    expect(packet(0x30, hex('00 01 61'), 'ff'.repeat(200))).toMatch(/^30 cb 01 /);
  });

  it('covers the property table of section 2.2.2.2: every property, and every client packet', () => {
    expect(PROPERTIES.map((p) => p.id)).toEqual([
      0x01, 0x02, 0x03, 0x08, 0x09, 0x0b, 0x11, 0x12, 0x13, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a,
      0x1c, 0x1f, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a,
    ]);
    for (const [place, spec] of Object.entries(PLACES)) {
      const misplaced = PROPERTIES.filter((p) => !spec.allowed.includes(p.id));
      const cases = CASES.filter((c) => c.id.startsWith(`property-placement.${place}.`));
      expect(cases.length, place).toBe(misplaced.length);
    }
  });
});
