import type { TopicEntry } from '@mqtt-sessions/topic-trie';
import type { MemoryEntry } from './memory-entry.js';

/**
 * The memory store's cursor: the paused trie walk of one `match`, plus the next live match it
 * found while checking whether another page exists. The walk sees the trie as it changes, and
 * every candidate is rechecked against the store before it is returned, so a cursor survives
 * concurrent sets and deletes. A cursor is single-use: each page hands out a new one.
 */
export class MemoryCursor {
  /** The store that made the cursor. */
  readonly owner: object;
  /** The filter of the walk. */
  readonly filter: string;
  /** The paused walk. */
  readonly walk: Iterator<TopicEntry<MemoryEntry>>;
  /** The match found after the last page; rechecked before it is returned. */
  readonly pending: TopicEntry<MemoryEntry>;
  /** Set once the cursor was used for a page. */
  spent = false;

  constructor(
    owner: object,
    filter: string,
    walk: Iterator<TopicEntry<MemoryEntry>>,
    pending: TopicEntry<MemoryEntry>,
  ) {
    this.owner = owner;
    this.filter = filter;
    this.walk = walk;
    this.pending = pending;
  }
}

/**
 * Checks that a cursor passed to `match` is an unused one this store made for the same filter, and
 * marks it used.
 *
 * @throws TypeError on a foreign, reused or mismatched cursor (a programmer error).
 */
export function claimMemoryCursor(cursor: unknown, owner: object, filter: string): MemoryCursor {
  if (!(cursor instanceof MemoryCursor) || cursor.owner !== owner) {
    throw new TypeError('retain cursor was not made by this store');
  }
  if (cursor.filter !== filter) {
    throw new TypeError('retain cursor belongs to a match with another filter');
  }
  if (cursor.spent) throw new TypeError('retain cursor was already used for a page');
  cursor.spent = true;
  return cursor;
}
