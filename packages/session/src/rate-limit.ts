/**
 * A token bucket for incoming PUBLISH packets: `rate` tokens per second, `rate + burst` at most,
 * starting full. Each PUBLISH takes one token; without one it is refused.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;
  private readonly capacity: number;
  private readonly perMs: number;

  constructor(rate: number, burst: number, now: number) {
    this.capacity = rate + burst;
    this.perMs = rate / 1000;
    this.tokens = this.capacity;
    this.updatedAt = now;
  }

  /** Takes one token if there is one. */
  take(now: number): boolean {
    if (now > this.updatedAt) {
      this.tokens = Math.min(this.capacity, this.tokens + (now - this.updatedAt) * this.perMs);
      this.updatedAt = now;
    }
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
