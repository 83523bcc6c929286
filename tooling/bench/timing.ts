/**
 * Timing and memory helpers for benchmarks. Memory figures need `node --expose-gc`.
 */
import { performance } from 'node:perf_hooks';

/** Runs the garbage collector until the heap stops shrinking and returns `heapUsed` in bytes. */
export function heapUsedAfterGc(): number {
  const gc = globalThis.gc;
  if (gc === undefined) throw new Error('run node with --expose-gc to measure memory');
  let used = Number.POSITIVE_INFINITY;
  // A few passes: finalisers and weak references can free more on a later pass.
  for (let pass = 0; pass < 6; pass++) {
    gc();
    const now = process.memoryUsage().heapUsed;
    if (now >= used) break;
    used = now;
  }
  return used;
}

/**
 * The heap growth, in bytes, that `build` leaves behind: whatever it returns stays reachable
 * until the second measurement. Build each structure alone to measure it in isolation.
 */
export function retainedBytes<T>(build: () => T): { bytes: number; value: T } {
  const before = heapUsedAfterGc();
  const value = build();
  const bytes = heapUsedAfterGc() - before;
  return { bytes, value };
}

/** One contender of a timed comparison. `run` does one round of work and returns its op count. */
export interface Candidate {
  readonly name: string;
  run(): number;
}

/** Options of {@link timeRounds}. */
export interface RoundOptions {
  /** Untimed rounds per candidate first, so that the JIT settles. Default 1. */
  readonly warmup?: number;
  /** Timed rounds per candidate. Default 5. */
  readonly rounds?: number;
}

/**
 * Times the candidates round-robin (A B C, A B C, ...), so that a burst of noise from another
 * process hits every candidate rather than one, and returns each one's ops/s per round.
 */
export function timeRounds(
  candidates: readonly Candidate[],
  options: RoundOptions = {},
): Map<string, number[]> {
  const warmup = options.warmup ?? 1;
  const rounds = options.rounds ?? 5;
  const results = new Map<string, number[]>(candidates.map((c) => [c.name, []]));
  for (let round = 0; round < warmup + rounds; round++) {
    for (const candidate of candidates) {
      const start = performance.now();
      const ops = candidate.run();
      const ms = performance.now() - start;
      if (round >= warmup) results.get(candidate.name)?.push((ops * 1000) / ms);
    }
  }
  return results;
}
