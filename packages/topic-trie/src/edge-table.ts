import { mix32 } from './slot-table.js';

/**
 * The literal edges of a level trie, (parent id, level id) -> child id, in one Int32Array of
 * 4-int slots: [parent, level, child, unused]. A probe compares two integers in the slot it lands
 * on, so finding a child touches one cache line and no string; linear probing, at most half full,
 * deletion by backward shift.
 */
export class EdgeTable {
  slots: Int32Array;
  /** Slot count minus one (a power of two minus one). */
  mask: number;
  size = 0;

  constructor(capacity = 16) {
    this.slots = new Int32Array(capacity * 4);
    this.mask = capacity - 1;
  }

  /** The child id for this edge, or 0. */
  get(parent: number, level: number): number {
    const { slots, mask } = this;
    for (let i = edgeHome(parent, level, mask); ; i = (i + 1) & mask) {
      const at = i << 2;
      const child = slots[at + 2] as number;
      if (child === 0) return 0;
      if (slots[at] === parent && slots[at + 1] === level) return child;
    }
  }

  /** Adds an edge that is not yet present; `child` must be positive. */
  insert(parent: number, level: number, child: number): void {
    if ((this.size + 1) * 2 > this.mask + 1) this.resize((this.mask + 1) * 2);
    place(this.slots, this.mask, parent, level, child);
    this.size++;
  }

  /** Removes an edge; returns false when it was not there. */
  delete(parent: number, level: number): boolean {
    const { slots, mask } = this;
    let hole = edgeHome(parent, level, mask);
    for (; ; hole = (hole + 1) & mask) {
      const at = hole << 2;
      if (slots[at + 2] === 0) return false;
      if (slots[at] === parent && slots[at + 1] === level) break;
    }
    // Backward shift: pull later entries of the probe run into the hole when their home slot
    // allows it, so that probing never needs tombstones.
    for (let j = (hole + 1) & mask; slots[(j << 2) + 2] !== 0; j = (j + 1) & mask) {
      const at = j << 2;
      const home = edgeHome(slots[at] as number, slots[at + 1] as number, mask);
      if (((j - home) & mask) >= ((j - hole) & mask)) {
        slots.copyWithin(hole << 2, at, at + 4);
        hole = j;
      }
    }
    slots.fill(0, hole << 2, (hole << 2) + 4);
    this.size--;
    return true;
  }

  clear(): void {
    this.slots = new Int32Array(16 * 4);
    this.mask = 15;
    this.size = 0;
  }

  private resize(capacity: number): void {
    const old = this.slots;
    this.slots = new Int32Array(capacity * 4);
    this.mask = capacity - 1;
    for (let at = 0; at < old.length; at += 4) {
      const child = old[at + 2] as number;
      if (child !== 0)
        place(this.slots, this.mask, old[at] as number, old[at + 1] as number, child);
    }
  }
}

function edgeHome(parent: number, level: number, mask: number): number {
  return mix32(Math.imul(parent, 0x9e3779b1) ^ level) & mask;
}

function place(
  slots: Int32Array,
  mask: number,
  parent: number,
  level: number,
  child: number,
): void {
  let i = edgeHome(parent, level, mask);
  while (slots[(i << 2) + 2] !== 0) i = (i + 1) & mask;
  const at = i << 2;
  slots[at] = parent;
  slots[at + 1] = level;
  slots[at + 2] = child;
}
