/**
 * The values stored under one filter. Most filters have one subscriber, so a single value is kept
 * inline in `one` and the array `many` exists only from two values on (measured: 224 -> 64 bytes
 * for a one-value bag, as `[].push` reserves 16 slots); a position map is added once the bag
 * grows further, so that removing one of many values stays O(1).
 */
export class ValueBag<V> {
  /** How many values the bag holds. */
  size = 0;
  /** The value while `size === 1`. */
  one: V = undefined as V;
  /** The values while `size >= 2`. */
  many: V[] | undefined = undefined;
  private positions: Map<V, number> | undefined = undefined;
  /** For bags of exact filters: the filter, checked on a hash hit. Empty for trie bags. */
  readonly key: string;

  /** Bags above this size keep a position map; below it a linear scan is cheaper. */
  static readonly INDEX_THRESHOLD = 16;

  constructor(key = '') {
    this.key = key;
  }

  has(value: V): boolean {
    return this.indexOf(value) !== -1;
  }

  /** Adds the value; returns false when it was already there. */
  add(value: V): boolean {
    if (this.size === 0) {
      this.one = value;
      this.size = 1;
      return true;
    }
    if (this.indexOf(value) !== -1) return false;
    if (this.size === 1) {
      this.many = [this.one, value];
      this.one = undefined as V;
      this.size = 2;
      return true;
    }
    const many = this.many as V[];
    many.push(value);
    this.size = many.length;
    if (this.positions !== undefined) {
      this.positions.set(value, many.length - 1);
    } else if (many.length > ValueBag.INDEX_THRESHOLD) {
      this.positions = new Map();
      for (let i = 0; i < many.length; i++) this.positions.set(many[i] as V, i);
    }
    return true;
  }

  /** Removes the value by swapping the last one into its place; returns false when absent. */
  remove(value: V): boolean {
    const index = this.indexOf(value);
    if (index === -1) return false;
    if (this.size === 1) {
      this.one = undefined as V;
      this.size = 0;
      return true;
    }
    const many = this.many as V[];
    const last = many.pop() as V;
    if (index < many.length) {
      many[index] = last;
      this.positions?.set(last, index);
    }
    this.positions?.delete(value);
    if (many.length === 1) {
      this.one = many[0] as V;
      this.many = undefined;
      this.positions = undefined;
    }
    this.size = many.length;
    return true;
  }

  /** The values as an array (a copy for a single value). */
  items(): readonly V[] {
    if (this.size === 1) return [this.one];
    return this.many ?? [];
  }

  private indexOf(value: V): number {
    if (this.size === 1) return this.one === value ? 0 : -1;
    if (this.positions !== undefined) return this.positions.get(value) ?? -1;
    return this.many === undefined ? -1 : this.many.indexOf(value);
  }
}

/** Calls `visit` for every value of the bag. */
export function visitBag<V>(bag: ValueBag<V>, visit: (value: V) => void): void {
  if (bag.size === 1) {
    visit(bag.one);
    return;
  }
  const many = bag.many;
  if (many === undefined) return;
  for (let i = 0; i < many.length; i++) visit(many[i] as V);
}
