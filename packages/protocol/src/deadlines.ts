import type { Timers } from './timers.js';

/** Something with a deadline in a {@link DeadlineQueue}: a connection's keep-alive, say. */
export interface Scheduled {
  /**
   * When the item is due, in the clock's milliseconds, or undefined once it waits for nothing.
   * The queue calls {@link Scheduled.onDue} only while this still equals the time it was
   * scheduled for: changing it cancels the entry.
   */
  readonly dueAt: number | undefined;
  /** The deadline has come. The item may schedule itself again; it must not throw. */
  onDue(now: number): void;
}

/** Cancelled entries are swept out once there are this many and they are half the queue. */
const SWEEP_MIN_STALE = 1024;

/**
 * Many deadlines on one timer. A Node `Timeout` per connection, with its closure, costs about
 * 250 bytes of heap and an allocation per connect; here a deadline is one slot in each of two
 * arrays of a binary heap ordered by time, and one timer is armed for the earliest.
 *
 * Cancelling is lazy: the item changes its `dueAt`, and the queue skips the entry when it comes
 * up. {@link DeadlineQueue.cancelled} counts such entries, and once they are half the queue they
 * are swept out, so that closed connections are not kept alive until their old deadlines.
 */
export class DeadlineQueue {
  private readonly timers: Timers;
  private times: number[] = [];
  private items: Scheduled[] = [];
  private timer: unknown = undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  private stale = 0;

  constructor(timers: Timers) {
    this.timers = timers;
  }

  /** Entries in the queue, cancelled ones included until they are swept out or come up. */
  get size(): number {
    return this.times.length;
  }

  /** Calls `item.onDue` at `at`, if `item.dueAt` is still `at` then. */
  schedule(item: Scheduled, at: number): void {
    const times = this.times;
    const items = this.items;
    let i = times.length;
    times.push(at);
    items.push(item);
    // Sift up.
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const parentAt = times[parent] as number;
      if (parentAt <= at) break;
      times[i] = parentAt;
      items[i] = items[parent] as Scheduled;
      i = parent;
    }
    times[i] = at;
    items[i] = item;
    if (i === 0) this.arm();
  }

  /** One scheduled entry no longer counts (its item changed `dueAt`). */
  cancelled(): void {
    this.stale++;
    if (this.stale >= SWEEP_MIN_STALE && this.stale * 2 >= this.times.length) this.sweep();
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
        const at = this.times[0] as number;
        const item = this.items[0] as Scheduled;
        this.removeFirst();
        if (item.dueAt === at) item.onDue(now);
        else if (this.stale > 0) this.stale--;
      }
    } finally {
      this.arm();
    }
  }

  private removeFirst(): void {
    const times = this.times;
    const items = this.items;
    const lastAt = times.pop() as number;
    const lastItem = items.pop() as Scheduled;
    if (times.length > 0) this.siftDown(0, lastAt, lastItem);
  }

  /** Puts an entry at `start` and moves it down to where its children are no earlier than it. */
  private siftDown(start: number, at: number, item: Scheduled): void {
    const times = this.times;
    const items = this.items;
    const n = times.length;
    let i = start;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && (times[child + 1] as number) < (times[child] as number)) child++;
      const childAt = times[child] as number;
      if (childAt >= at) break;
      times[i] = childAt;
      items[i] = items[child] as Scheduled;
      i = child;
    }
    times[i] = at;
    items[i] = item;
  }

  /** Drops cancelled entries and rebuilds the heap in place (bottom-up, linear time). */
  private sweep(): void {
    const times = this.times;
    const items = this.items;
    let kept = 0;
    for (let i = 0; i < times.length; i++) {
      const item = items[i] as Scheduled;
      const at = times[i] as number;
      if (item.dueAt === at) {
        times[kept] = at;
        items[kept] = item;
        kept++;
      }
    }
    times.length = kept;
    items.length = kept;
    this.stale = 0;
    for (let i = (kept >> 1) - 1; i >= 0; i--)
      this.siftDown(i, times[i] as number, items[i] as Scheduled);
    // The earliest entry can only be later than before: the armed timer stays, and fires early
    // at worst (it then re-arms).
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
