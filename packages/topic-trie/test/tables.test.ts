import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EdgeTable } from '../src/edge-table.js';
import { isLevel, LevelScan, scanLevels } from '../src/levels.js';
import { SlotTable } from '../src/slot-table.js';

/** Every id stored under `key`, by probing as the indexes do. */
function idsUnder(table: SlotTable, key: number): number[] {
  const found: number[] = [];
  const { slots, mask } = table;
  for (let i = key & mask; slots[(i << 1) + 1] !== 0; i = (i + 1) & mask) {
    if (slots[i << 1] === key) found.push(slots[(i << 1) + 1] as number);
  }
  return found.sort((a, b) => a - b);
}

describe('SlotTable', () => {
  it('keeps every entry findable under insert/delete churn with colliding keys', () => {
    // Keys from a tiny range (and negative ones) force long probe runs, wrap-around and shifts.
    const op = fc.tuple(
      fc.boolean(),
      fc.integer({ min: -3, max: 40 }),
      fc.integer({ min: 1, max: 5 }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const table = new SlotTable(4);
        const model = new Set<string>();
        for (const [insert, key, id] of ops) {
          const entry = `${key}:${id}`;
          if (insert && !model.has(entry)) {
            table.insert(key, id);
            model.add(entry);
          } else if (!insert) {
            expect(table.delete(key, id)).toBe(model.delete(entry));
          }
          expect(table.size).toBe(model.size);
        }
        for (let key = -3; key <= 40; key++) {
          const expected = [...model]
            .map((e) => e.split(':').map(Number) as [number, number])
            .filter(([k]) => k === key)
            .map(([, id]) => id)
            .sort((a, b) => a - b);
          expect(idsUnder(table, key)).toEqual(expected);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('EdgeTable', () => {
  it('finds exactly the edges present under insert/delete churn', () => {
    const op = fc.tuple(
      fc.boolean(),
      fc.integer({ min: 0, max: 6 }),
      fc.integer({ min: 1, max: 6 }),
      fc.integer({ min: 1, max: 1000 }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const table = new EdgeTable(4);
        const model = new Map<string, number>();
        for (const [insert, parent, level, child] of ops) {
          const edge = `${parent}:${level}`;
          if (insert && !model.has(edge)) {
            table.insert(parent, level, child);
            model.set(edge, child);
          } else if (!insert) {
            expect(table.delete(parent, level)).toBe(model.delete(edge));
          }
        }
        expect(table.size).toBe(model.size);
        for (let parent = 0; parent <= 6; parent++) {
          for (let level = 1; level <= 6; level++) {
            expect(table.get(parent, level)).toBe(model.get(`${parent}:${level}`) ?? 0);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('scanLevels', () => {
  it('finds the levels, empty ones included, and hashes equal levels alike', () => {
    const scan = new LevelScan();
    scanLevels('/a//bc/', scan);
    expect(scan.count).toBe(5);
    const levels = Array.from({ length: scan.count }, (_, i) =>
      '/a//bc/'.slice(scan.starts[i], scan.ends[i]),
    );
    expect(levels).toEqual(['', 'a', '', 'bc', '']);
    expect(scan.hashes[0]).toBe(scan.hashes[2]);
    expect(scan.hashes[1]).not.toBe(scan.hashes[3]);
    expect(isLevel('bc', '/a//bc/', scan.starts[3] as number, scan.ends[3] as number)).toBe(true);
    expect(isLevel('b', '/a//bc/', scan.starts[3] as number, scan.ends[3] as number)).toBe(false);
  });

  it('gives a topic one full hash however it was built, and grows past 16 levels', () => {
    const a = new LevelScan();
    const b = new LevelScan();
    const deep = Array.from({ length: 40 }, (_, i) => `l${i}`).join('/');
    scanLevels(deep, a);
    scanLevels(deep.split('/').join('/'), b);
    expect(a.count).toBe(40);
    expect(a.full).toBe(b.full);
    scanLevels('a/b', a);
    scanLevels('a/c', b);
    expect(a.full).not.toBe(b.full);
  });
});
