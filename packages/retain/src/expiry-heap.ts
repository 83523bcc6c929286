/** An item of an {@link ExpiryHeap}: it records its own position so removal needs no search. */
export interface ExpiryHeapItem {
  /** The deadline the heap orders by, in ms since the epoch. */
  readonly expiresAt: number;
  /** The item's index in the heap, or -1 when it is not in one. Owned by the heap. */
  heapIndex: number;
}

/**
 * A binary min-heap on `expiresAt` whose items know their index, so that push, pop and removing
 * any item (a replaced or evicted message) are all O(log n) and no stale entries pile up.
 */
export class ExpiryHeap<T extends ExpiryHeapItem> {
  private readonly items: T[] = [];

  /** The number of items. */
  get size(): number {
    return this.items.length;
  }

  /** The item with the earliest deadline, or `undefined` when empty. */
  peek(): T | undefined {
    return this.items[0];
  }

  /** Adds an item that is not in the heap. */
  push(item: T): void {
    item.heapIndex = this.items.length;
    this.items.push(item);
    this.up(item.heapIndex);
  }

  /** Removes an item if it is in this heap. */
  remove(item: T): void {
    const index = item.heapIndex;
    if (index < 0 || this.items[index] !== item) return;
    item.heapIndex = -1;
    const last = this.items.pop() as T;
    if (index === this.items.length) return;
    this.items[index] = last;
    last.heapIndex = index;
    this.down(index);
    this.up(last.heapIndex);
  }

  /** Empties the heap. */
  clear(): void {
    for (let i = 0; i < this.items.length; i++) (this.items[i] as T).heapIndex = -1;
    this.items.length = 0;
  }

  private up(start: number): void {
    const items = this.items;
    const item = items[start] as T;
    let index = start;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = items[parentIndex] as T;
      if (parent.expiresAt <= item.expiresAt) break;
      items[index] = parent;
      parent.heapIndex = index;
      index = parentIndex;
    }
    items[index] = item;
    item.heapIndex = index;
  }

  private down(start: number): void {
    const items = this.items;
    const length = items.length;
    const item = items[start] as T;
    let index = start;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= length) break;
      const right = left + 1;
      let child = left;
      if (right < length && (items[right] as T).expiresAt < (items[left] as T).expiresAt) {
        child = right;
      }
      const smallest = items[child] as T;
      if (smallest.expiresAt >= item.expiresAt) break;
      items[index] = smallest;
      smallest.heapIndex = index;
      index = child;
    }
    items[index] = item;
    item.heapIndex = index;
  }
}
