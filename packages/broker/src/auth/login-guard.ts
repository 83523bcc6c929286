import { systemTimers, type Timers } from '@mqtt-sessions/protocol';

/** Options of a {@link LoginGuard}. */
export interface LoginGuardOptions {
  /** Password checks (scrypt hashes) computed at once. Default 2. */
  readonly maxConcurrent?: number;
  /** The delay before the next check of an address after its first failure, in ms. Default 200. */
  readonly baseDelayMs?: number;
  /** The longest delay, reached after a few failures in a row, in ms. Default 10,000. */
  readonly maxDelayMs?: number;
  /** An address's failures are forgotten after this long without one, in ms. Default 10 minutes. */
  readonly forgetAfterMs?: number;
  readonly timers?: Timers;
}

/** What a {@link LoginGuard} has seen, for metrics. */
export interface LoginGuardStats {
  /** Password checks that failed. */
  readonly failures: number;
  /** Checks that waited for the penalty of their address's failures. */
  readonly delayed: number;
  /** Checks waiting for their turn now. */
  readonly waiting: number;
}

/** Addresses whose failures are remembered at most; beyond, the oldest are forgotten. */
const MAX_ADDRESSES = 100_000;

interface AddressState {
  failures: number;
  lastFailure: number;
  /** Checks of this address waiting for a turn, in order. */
  readonly queue: (() => void)[];
}

/**
 * Keeps a flood of bad logins from slowing good ones. Password hashing is deliberately slow, so:
 *
 * - at most `maxConcurrent` checks run at once, and waiting checks take turns round robin by
 *   remote address, so a good login from one address is not queued behind a thousand bad ones
 *   from another;
 * - each failure of an address delays its next check, doubling from `baseDelayMs` up to
 *   `maxDelayMs`, until `forgetAfterMs` pass without a failure or a check succeeds.
 *
 * Every check takes the same path, so a known user with a wrong password and an unknown user
 * still take the same time.
 */
export class LoginGuard {
  private readonly maxConcurrent: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly forgetAfterMs: number;
  private readonly timers: Timers;
  private readonly addresses = new Map<string, AddressState>();
  /** Addresses with waiting checks, in turn order. */
  private readonly turns: string[] = [];
  private running = 0;
  private failures = 0;
  private delayed = 0;
  private waiting = 0;

  constructor(options: LoginGuardOptions = {}) {
    this.maxConcurrent = options.maxConcurrent ?? 2;
    this.baseDelayMs = options.baseDelayMs ?? 200;
    this.maxDelayMs = options.maxDelayMs ?? 10_000;
    this.forgetAfterMs = options.forgetAfterMs ?? 10 * 60_000;
    this.timers = options.timers ?? systemTimers;
  }

  /** Runs one password check for `address` when its turn comes; resolves with its answer. */
  async check(address: string | undefined, verify: () => Promise<boolean>): Promise<boolean> {
    const key = address ?? '';
    const state = this.stateOf(key);
    const penalty = this.penaltyOf(state);
    if (penalty > 0) {
      this.delayed++;
      await new Promise<void>((resolve) => this.timers.setTimeout(resolve, penalty));
    }
    await this.turn(key, state);
    let ok = false;
    try {
      ok = await verify();
    } finally {
      this.running--;
      this.next();
    }
    if (ok) {
      state.failures = 0;
    } else {
      this.failures++;
      state.failures++;
      state.lastFailure = this.timers.now();
      this.prune();
    }
    this.forget(key, state);
    return ok;
  }

  /** Keeps the memory of failures bounded: the oldest idle addresses go first. */
  private prune(): void {
    if (this.addresses.size <= MAX_ADDRESSES) return;
    for (const [key, state] of this.addresses) {
      if (this.addresses.size <= MAX_ADDRESSES * 0.9) return;
      if (state.queue.length === 0) this.addresses.delete(key);
    }
  }

  stats(): LoginGuardStats {
    return { failures: this.failures, delayed: this.delayed, waiting: this.waiting };
  }

  private stateOf(key: string): AddressState {
    let state = this.addresses.get(key);
    if (state === undefined) {
      state = { failures: 0, lastFailure: 0, queue: [] };
      this.addresses.set(key, state);
    }
    return state;
  }

  private penaltyOf(state: AddressState): number {
    if (state.failures === 0) return 0;
    if (this.timers.now() - state.lastFailure >= this.forgetAfterMs) {
      state.failures = 0;
      return 0;
    }
    return Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** Math.min(state.failures - 1, 30));
  }

  /** Resolves when a slot is free and it is this address's turn. */
  private turn(key: string, state: AddressState): Promise<void> {
    if (this.running < this.maxConcurrent && this.turns.length === 0) {
      this.running++;
      return Promise.resolve();
    }
    this.waiting++;
    return new Promise((resolve) => {
      if (state.queue.length === 0) this.turns.push(key);
      state.queue.push(resolve);
    });
  }

  /** A slot is free: the next address in turn runs its oldest waiting check. */
  private next(): void {
    while (this.running < this.maxConcurrent) {
      const key = this.turns.shift();
      if (key === undefined) return;
      const state = this.addresses.get(key) as AddressState;
      const start = state.queue.shift() as () => void;
      if (state.queue.length > 0) this.turns.push(key); // to the back: round robin
      this.waiting--;
      this.running++;
      start();
    }
  }

  /** Drops the state of an address with nothing to remember. */
  private forget(key: string, state: AddressState): void {
    if (state.failures === 0 && state.queue.length === 0) this.addresses.delete(key);
  }
}
