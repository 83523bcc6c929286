import type { Timers } from '@mqtt-sessions/protocol';
import { describe, expect, it } from 'vitest';
import { LoginGuard } from '../src/auth/login-guard.js';

/** Timers moved by hand. */
class HandTimers implements Timers {
  time = 0;
  private readonly due: { at: number; fn: () => void }[] = [];
  now(): number {
    return this.time;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const timer = { at: this.time + ms, fn };
    this.due.push(timer);
    return timer;
  }
  clearTimeout(handle: unknown): void {
    const at = this.due.indexOf(handle as { at: number; fn: () => void });
    if (at !== -1) this.due.splice(at, 1);
  }
  async advance(ms: number): Promise<void> {
    this.time += ms;
    for (const timer of this.due.filter((t) => t.at <= this.time)) {
      this.due.splice(this.due.indexOf(timer), 1);
      timer.fn();
    }
    await flush();
  }
}

async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

/** A password check that finishes when told to. */
function pending(log: string[], name: string, answer: boolean) {
  let finish: () => void = () => {};
  const verify = () => {
    log.push(`start ${name}`);
    return new Promise<boolean>((resolve) => {
      finish = () => resolve(answer);
    });
  };
  return { verify, finish: () => finish() };
}

describe('LoginGuard', () => {
  it('runs at most maxConcurrent checks at once, and serves addresses round robin', async () => {
    const log: string[] = [];
    const guard = new LoginGuard({ maxConcurrent: 2, timers: new HandTimers() });
    const attacks = Array.from({ length: 6 }, (_, i) => pending(log, `bad${i}`, false));
    for (const attack of attacks) void guard.check('10.0.0.66', attack.verify);
    const good = pending(log, 'good', true);
    const answer = guard.check('10.0.0.1', good.verify);
    await flush();
    expect(log).toEqual(['start bad0', 'start bad1']);
    expect(guard.stats().waiting).toBe(5);
    attacks[0]?.finish();
    await flush();
    attacks[1]?.finish();
    await flush();
    // Turns go round the addresses: the good login runs after one more attacker check, ahead of
    // the three others still waiting.
    expect(log).toEqual(['start bad0', 'start bad1', 'start bad2', 'start good']);
    good.finish();
    expect(await answer).toBe(true);
  });

  it('delays an address after failures, doubling up to the maximum, and forgets after a success', async () => {
    const timers = new HandTimers();
    const log: string[] = [];
    const guard = new LoginGuard({ baseDelayMs: 100, maxDelayMs: 300, timers });
    const attempt = (answer: boolean) => {
      const check = pending(log, `try${log.length}`, answer);
      const done = guard.check('10.0.0.9', check.verify);
      return { check, done };
    };
    const first = attempt(false);
    await flush();
    first.check.finish();
    expect(await first.done).toBe(false);
    const delays: number[] = [];
    for (const expected of [100, 200, 300, 300]) {
      const next = attempt(false);
      await timers.advance(expected - 1);
      const before = log.length;
      await timers.advance(1);
      expect(log.length).toBe(before + 1); // started exactly after the delay
      delays.push(expected);
      next.check.finish();
      await next.done;
    }
    expect(guard.stats().delayed).toBe(4);
    const success = attempt(true);
    await timers.advance(300);
    success.check.finish();
    expect(await success.done).toBe(true);
    // After a success the address starts clean: no delay.
    const clean = attempt(false);
    await flush();
    expect(log.at(-1)).toMatch(/^start/);
    clean.check.finish();
    await clean.done;
    expect(guard.stats().failures).toBe(6);
  });

  it('forgets the failures of an address after forgetAfterMs', async () => {
    const timers = new HandTimers();
    const log: string[] = [];
    const guard = new LoginGuard({ baseDelayMs: 1000, forgetAfterMs: 60_000, timers });
    const bad = pending(log, 'bad', false);
    const first = guard.check('10.0.0.7', bad.verify);
    await flush();
    bad.finish();
    await first;
    await timers.advance(60_000);
    const later = pending(log, 'later', false);
    void guard.check('10.0.0.7', later.verify);
    await flush();
    expect(log).toEqual(['start bad', 'start later']);
    expect(guard.stats().delayed).toBe(0);
  });
});
