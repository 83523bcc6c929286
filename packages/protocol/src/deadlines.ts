import type { Timers } from './timers.js';

/** Something with a deadline in a {@link DeadlineQueue}: a connection's keep-alive, say. */
export interface Scheduled {
  /**
   * The queue's bookkeeping: where the item sits in it, or -1 while it is not scheduled. Start
   * it at -1 and leave it to the queue.
   */
  deadlineSlot: number;
  /** The deadline has come; the item is no longer scheduled and may schedule itself again. */
  onDue(now: number): void;
}

/**
 * Many deadlines on one timer. A Node `Timeout` per connection, with its closure, costs about
 * 250 bytes of heap and an allocation per connect; here a deadline is one slot in each of two
 * arrays of a binary heap ordered by time, and one timer is armed for the earliest. Each item
 * knows its slot, so cancelling removes it at once: a closed connection is not kept alive until
 * its old deadline.
 */
export class DeadlineQueue {
  private readonly timers: Timers;
  private readonly times: number[] = [];
  private readonly items: Scheduled[] = [];
  private timer: unknown = undefined;
  private timerAt = Number.POSITIVE_INFINITY;

  constructor(timers: Timers) {
    this.timers = timers;
  }

  /** Items scheduled. */
  get size(): number {
    return this.times.length;
  }

  /** Calls `item.onDue` at `at` (the clock's milliseconds), replacing its earlier deadline. */
  schedule(item: Scheduled, at: number): void {
    const slot = item.deadlineSlot;
    if (slot >= 0 && this.items[slot] === item) {
      const before = this.times[slot] as number;
      if (at < before) this.siftUp(slot, at, item);
      else this.siftDown(slot, at, item);
    } else {
      this.times.push(at);
      this.items.push(item);
      this.siftUp(this.times.length - 1, at, item);
    }
    if (item.deadlineSlot === 0) this.arm();
  }

  /** Forgets the item's deadline, if it has one. */
  cancel(item: Scheduled): void {
    const slot = item.deadlineSlot;
    if (slot < 0 || this.items[slot] !== item) return;
    item.deadlineSlot = -1;
    const lastAt = this.times.pop() as number;
    const last = this.items.pop() as Scheduled;
    if (slot === this.times.length) return; // it was the last one
    // Put the last entry where the item was, then move it up or down to its place.
    if (lastAt < (this.times[slot] as number)) this.siftUp(slot, lastAt, last);
    else this.siftDown(slot, lastAt, last);
  }

  private arm(): void {
    const earliest = this.times[0];
    if (earliest === undefined || earliest >= this.timerAt) return;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timerAt = earliest;
    this.timer = this.timers.setTimeout(
      () => this.fire(),
      Math.max(0, earliest - this.timers.now()),
    );
  }

  private fire(): void {
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    const now = this.timers.now();
    try {
      while (this.times.length > 0 && (this.times[0] as number) <= now) {
        const item = this.items[0] as Scheduled;
        this.cancel(item);
        item.onDue(now);
      }
    } finally {
      this.arm();
    }
  }

  /** Places an entry at `slot` or above it, where its parent is no later than it. */
  private siftUp(slot: number, at: number, item: Scheduled): void {
    let i = slot;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const parentAt = this.times[parent] as number;
      if (parentAt <= at) break;
      this.put(i, parentAt, this.items[parent] as Scheduled);
      i = parent;
    }
    this.put(i, at, item);
  }

  /** Places an entry at `slot` or below it, where its children are no earlier than it. */
  private siftDown(slot: number, at: number, item: Scheduled): void {
    const times = this.times;
    const n = times.length;
    let i = slot;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && (times[child + 1] as number) < (times[child] as number)) child++;
      const childAt = times[child] as number;
      if (childAt >= at) break;
      this.put(i, childAt, this.items[child] as Scheduled);
      i = child;
    }
    this.put(i, at, item);
  }

  /** Puts an entry in a slot, and tells the item where it is. */
  private put(slot: number, at: number, item: Scheduled): void {
    this.times[slot] = at;
    this.items[slot] = item;
    item.deadlineSlot = slot;
  }
}

const queues = new WeakMap<Timers, DeadlineQueue>();
// Nearly every caller uses the same clock: remember the last answer (a WeakMap lookup per
// connect showed in the connection storm's profile).
let lastTimers: Timers | undefined;
let lastQueue: DeadlineQueue | undefined;

/**
 * The deadline queue of a clock: one per `Timers` object, so that every connection on the same
 * timers shares one (and fake timers in a test get their own).
 */
export function deadlinesOf(timers: Timers): DeadlineQueue {
  if (timers === lastTimers) return lastQueue as DeadlineQueue;
  let queue = queues.get(timers);
  if (queue === undefined) {
    queue = new DeadlineQueue(timers);
    queues.set(timers, queue);
  }
  lastTimers = timers;
  lastQueue = queue;
  return queue;
}
