/** An item of an {@link AgeList}: the links live in the item, so the list allocates nothing. */
export interface AgeListItem<T> {
  /** The next older item, or `undefined` for the oldest. Owned by the list. */
  older: T | undefined;
  /** The next newer item, or `undefined` for the newest. Owned by the list. */
  newer: T | undefined;
}

/**
 * A doubly linked list from the oldest to the newest stored or updated item. Appending, removing
 * and finding the oldest are O(1), which eviction needs on every set. (A `Map` used as a queue
 * would have to skip the holes its deletions leave at the front.)
 */
export class AgeList<T extends AgeListItem<T>> {
  /** The least recently stored or updated item. */
  oldest: T | undefined = undefined;
  /** The most recently stored or updated item. */
  newest: T | undefined = undefined;

  /** Adds an item that is not in the list as the newest. */
  append(item: T): void {
    item.older = this.newest;
    item.newer = undefined;
    if (this.newest === undefined) this.oldest = item;
    else this.newest.newer = item;
    this.newest = item;
  }

  /** Unlinks an item that is in the list. */
  remove(item: T): void {
    if (item.older === undefined) this.oldest = item.newer;
    else item.older.newer = item.newer;
    if (item.newer === undefined) this.newest = item.older;
    else item.newer.older = item.older;
    item.older = undefined;
    item.newer = undefined;
  }

  /** Forgets every item (their links are left for the garbage collector). */
  clear(): void {
    this.oldest = undefined;
    this.newest = undefined;
  }
}
