import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DeadlineQueue, deadlinesOf, type Scheduled, systemTimers } from '../src/index.js';

/** An item that notes when it came due. */
class Item implements Scheduled {
  deadlineSlot = -1;
  readonly seen: number[] = [];
  readonly name: string;
  readonly log: string[];

  constructor(name: string, log: string[]) {
    this.name = name;
    this.log = log;
  }

  onDue(now: number): void {
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
      queue.schedule(item, time);
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
    expect(items.every((item) => item.deadlineSlot === -1)).toBe(true);
    expect(queue.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('re-arms its timer for an item earlier than every other', () => {
    const queue = new DeadlineQueue(systemTimers);
    const log: string[] = [];
    queue.schedule(new Item('late', log), 1000);
    queue.schedule(new Item('early', log), 10);
    vi.advanceTimersByTime(10);
    expect(log).toEqual(['early']);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(990);
    expect(log).toEqual(['early', 'late']);
  });

  it('forgets a cancelled item at once, and moves a rescheduled one', () => {
    const queue = new DeadlineQueue(systemTimers);
    const log: string[] = [];
    const cancelled = new Item('cancelled', log);
    queue.schedule(cancelled, 50);
    const moved = new Item('moved', log);
    queue.schedule(moved, 50);
    queue.schedule(moved, 80);
    expect(queue.size).toBe(2);
    queue.cancel(cancelled);
    queue.cancel(cancelled); // twice is harmless
    expect(queue.size).toBe(1);
    expect(cancelled.deadlineSlot).toBe(-1);
    vi.advanceTimersByTime(50);
    expect(log).toEqual([]);
    vi.advanceTimersByTime(30);
    expect(log).toEqual(['moved']);
    expect(moved.seen).toEqual([80]);
  });

  it('lets an item schedule itself again from onDue', () => {
    const queue = new DeadlineQueue(systemTimers);
    let calls = 0;
    const item: Scheduled = {
      deadlineSlot: -1,
      onDue(now) {
        calls++;
        if (calls < 3) queue.schedule(this, now + 100);
      },
    };
    queue.schedule(item, 100);
    vi.advanceTimersByTime(1000);
    expect(calls).toBe(3);
    expect(queue.size).toBe(0);
  });

  it('keeps time order through thousands of schedules, reschedules and cancels in random order', () => {
    const queue = new DeadlineQueue(systemTimers);
    // Seeded values from fast-check, the same on every run: times, then a roll per item.
    const times = fc.sample(fc.integer({ min: 1, max: 50_000 }), { seed: 7, numRuns: 8000 });
    const rolls = fc.sample(fc.double({ min: 0, max: 1, noNaN: true }), { seed: 8, numRuns: 4000 });
    let nextTime = 0;
    let nextRoll = 0;
    const random = {
      time: () => times[nextTime++] as number,
      roll: () => rolls[nextRoll++] as number,
    };
    const log: string[] = [];
    const due = new Map<Item, number>();
    const items = Array.from({ length: 4000 }, (_, i) => new Item(String(i), log));
    for (const item of items) {
      const time = random.time();
      due.set(item, time);
      queue.schedule(item, time);
    }
    for (const item of items) {
      const roll = random.roll();
      if (roll < 0.4) {
        queue.cancel(item);
        due.delete(item);
      } else if (roll < 0.7) {
        const time = random.time();
        due.set(item, time);
        queue.schedule(item, time);
      }
    }
    expect(queue.size).toBe(due.size);
    vi.advanceTimersByTime(60_000);
    // Every item still due fired once, at its last time, in time order; no cancelled one fired.
    for (const item of items) {
      expect(item.seen).toEqual(due.has(item) ? [due.get(item)] : []);
    }
    const order = log.map((name) => due.get(items[Number(name)] as Item) as number);
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(log).toHaveLength(due.size);
    expect(queue.size).toBe(0);
  });

  it('holds no reference to a cancelled item', () => {
    const queue = new DeadlineQueue(systemTimers);
    const items = Array.from({ length: 100 }, (_, i) => new Item(String(i), []));
    for (const [i, item] of items.entries()) queue.schedule(item, 1000 + i);
    for (const item of items) queue.cancel(item);
    expect(queue.size).toBe(0);
    expect((queue as unknown as { items: unknown[] }).items).toEqual([]);
  });

  it('still serves later items when one onDue throws', () => {
    const queue = new DeadlineQueue(systemTimers);
    const log: string[] = [];
    const bad: Scheduled = {
      deadlineSlot: -1,
      onDue() {
        throw new Error('broken item');
      },
    };
    queue.schedule(bad, 10);
    queue.schedule(new Item('good', log), 20);
    expect(() => vi.advanceTimersByTime(10)).toThrow('broken item');
    vi.advanceTimersByTime(10);
    expect(log).toEqual(['good']);
  });

  it('deadlinesOf gives one queue per clock', () => {
    const other = { ...systemTimers };
    expect(deadlinesOf(systemTimers)).toBe(deadlinesOf(systemTimers));
    expect(deadlinesOf(other)).not.toBe(deadlinesOf(systemTimers));
    expect(deadlinesOf(systemTimers)).toBe(deadlinesOf(systemTimers));
  });
});
