import type { Clock } from '@mqtt-sessions/protocol';

/** Where a {@link FakeClock} starts: 2023-11-14T22:13:20Z, a realistic epoch time in ms. */
export const FAKE_CLOCK_START = 1_700_000_000_000;

/** A {@link Clock} that moves only when told to, for expiry tests that never sleep. */
export class FakeClock implements Clock {
  private current: number;

  /** @param start The initial time in ms since the epoch; default {@link FAKE_CLOCK_START}. */
  constructor(start: number = FAKE_CLOCK_START) {
    this.current = start;
  }

  /** The current fake time in ms since the epoch. */
  now(): number {
    return this.current;
  }

  /** Moves the clock forward by `ms` milliseconds. */
  advance(ms: number): void {
    this.current += ms;
  }

  /** Sets the clock to `ms` since the epoch. */
  set(ms: number): void {
    this.current = ms;
  }
}
