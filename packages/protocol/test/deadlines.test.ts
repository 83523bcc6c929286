import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DeadlineQueue, deadlinesOf, type Scheduled, systemTimers } from '../src/index.js';

/** An item that notes when it came due; `dueAt` is set by `at` as a connection would. */
class Item implements Scheduled {
  dueAt: number | undefined = undefined;
  readonly seen: number[] = [];
  readonly name: string;
  readonly log: string[];

  constructor(name: string, log: string[]) {
    this.name = name;
    this.log = log;
  }

  at(queue: DeadlineQueue, time: number): void {
    this.dueAt = time;
    queue.schedule(this, time);
  }

  onDue(now: number): void {
    this.dueAt = undefined;
    this.seen.push(now);
    this.log.push(this.name);
  }
}

describe('DeadlineQueue', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('calls each item at its time, earliest first, from one timer', () => {
    const queue = new DeadlineQueue(systemTimers);
    const log: string[] = [];
    const items = [300, 100, 200, 100].map((time, i) => {
      const item = new Item(`${time}#${i}`, log);
      item.at(queue, time);
      return item;
    });
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(99);
    expect(log).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(log.sort()).toEqual(['100#1', '100#3']);
    vi.advanceTimersByTime(200);
    expect(log).toEqual(['100#1', '100#3', '200#2', '300#0']);
    expect(items.map((item) => item.seen[0])).toEqual([300, 100, 200, 100]);
    expect(queue.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('re-arms its timer for an item earlier than every other', () => {
    const queue = new DeadlineQueue(systemTimers);
    const log: string[] = [];
    new Item('late', log).at(queue, 1000);
    new Item('early', log).at(queue, 10);
    vi.advanceTimersByTime(10);
    expect(log).toEqual(['early']);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(990);
    expect(log).toEqual(['early', 'late']);
  });

  it('skips an item whose dueAt changed: cancelled, or moved to a later time', () => {
    const queue = new DeadlineQueue(systemTimers);
    const log: string[] = [];
    const cancelled = new Item('cancelled', log);
    cancelled.at(queue, 50);
    cancelled.dueAt = undefined;
    queue.cancelled();
    const moved = new Item('moved', log);
    moved.at(queue, 50);
    moved.at(queue, 80); // the entry at 50 is stale now
    vi.advanceTimersByTime(50);
    expect(log).toEqual([]);
    vi.advanceTimersByTime(30);
    expect(log).toEqual(['moved']);
    expect(moved.seen).toEqual([80]);
  });

  it('lets an item schedule itself again from onDue', () => {
    const queue = new DeadlineQueue(systemTimers);
    let calls = 0;
    const item: Scheduled & { dueAt: number | undefined } = {
      dueAt: 100,
      onDue(now) {
        calls++;
        this.dueAt = calls < 3 ? now + 100 : undefined;
        if (this.dueAt !== undefined) queue.schedule(this, this.dueAt);
      },
    };
    queue.schedule(item, 100);
    vi.advanceTimersByTime(1000);
    expect(calls).toBe(3);
    expect(queue.size).toBe(0);
  });

  it('sweeps cancelled entries out once they are half the queue, and keeps the rest in order', () => {
    const queue = new DeadlineQueue(systemTimers);
    const log: string[] = [];
    const items = Array.from({ length: 3000 }, (_, i) => {
      const item = new Item(String(i), log);
      item.at(queue, 10_000 + i);
      return item;
    });
    // Cancel the even ones: the 1,500th cancellation reaches half the queue.
    for (let i = 0; i < 3000; i += 2) {
      (items[i] as Item).dueAt = undefined;
      queue.cancelled();
    }
    expect(queue.size).toBe(1500);
    vi.advanceTimersByTime(20_000);
    expect(log).toEqual(Array.from({ length: 1500 }, (_, i) => String(2 * i + 1)));
    expect(queue.size).toBe(0);
  });

  it('keeps time order through a sweep of entries scheduled in random order', () => {
    const queue = new DeadlineQueue(systemTimers);
    const log: string[] = [];
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const scheduled = new Map<Item, number>();
    const items = Array.from({ length: 4000 }, (_, i) => {
      const item = new Item(String(i), log);
      const time = 1 + Math.floor(random() * 50_000);
      scheduled.set(item, time);
      item.at(queue, time);
      return item;
    });
    const kept: Item[] = [];
    for (const item of items) {
      if (random() < 0.6) {
        item.dueAt = undefined;
        queue.cancelled();
      } else kept.push(item);
    }
    expect(queue.size).toBeLessThan(items.length); // swept at least once
    vi.advanceTimersByTime(60_000);
    // Each kept item fired once, at its own time; no cancelled one fired.
    expect(
      kept.every((item) => item.seen.length === 1 && item.seen[0] === scheduled.get(item)),
    ).toBe(true);
    expect(
      items.filter((item) => !kept.includes(item)).every((item) => item.seen.length === 0),
    ).toBe(true);
    const order = log.map((name) => (items[Number(name)] as Item).seen[0] as number);
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(log).toHaveLength(kept.length);
  });

  it('still serves later items when one onDue throws', () => {
    const queue = new DeadlineQueue(systemTimers);
    const log: string[] = [];
    const bad: Scheduled = {
      dueAt: 10,
      onDue() {
        throw new Error('broken item');
      },
    };
    queue.schedule(bad, 10);
    new Item('good', log).at(queue, 20);
    expect(() => vi.advanceTimersByTime(10)).toThrow('broken item');
    vi.advanceTimersByTime(10);
    expect(log).toEqual(['good']);
  });

  it('deadlinesOf gives one queue per clock', () => {
    const other = { ...systemTimers };
    expect(deadlinesOf(systemTimers)).toBe(deadlinesOf(systemTimers));
    expect(deadlinesOf(other)).not.toBe(deadlinesOf(systemTimers));
  });
});
