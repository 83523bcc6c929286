/**
 * The values stored under one filter. Values live in a plain array so that matching is an indexed
 * loop; a position map is added once the bag grows, so that removing one of many values stays O(1).
 */
export class ValueBag<V> {
  readonly items: V[] = [];
  private positions: Map<V, number> | undefined = undefined;

  /** Bags above this size keep a position map; below it a linear scan is cheaper. */
  static readonly INDEX_THRESHOLD = 16;

  has(value: V): boolean {
    return this.indexOf(value) !== -1;
  }

  /** Adds the value; returns false when it was already there. */
  add(value: V): boolean {
    if (this.indexOf(value) !== -1) return false;
    this.items.push(value);
    if (this.positions !== undefined) {
      this.positions.set(value, this.items.length - 1);
    } else if (this.items.length > ValueBag.INDEX_THRESHOLD) {
      this.positions = new Map();
      for (let i = 0; i < this.items.length; i++) this.positions.set(this.items[i] as V, i);
    }
    return true;
  }

  /** Removes the value by swapping the last one into its place; returns false when absent. */
  remove(value: V): boolean {
    const index = this.indexOf(value);
    if (index === -1) return false;
    const last = this.items.pop() as V;
    if (index < this.items.length) {
      this.items[index] = last;
      this.positions?.set(last, index);
    }
    this.positions?.delete(value);
    return true;
  }

  get size(): number {
    return this.items.length;
  }

  private indexOf(value: V): number {
    if (this.positions !== undefined) return this.positions.get(value) ?? -1;
    return this.items.indexOf(value);
  }
}
