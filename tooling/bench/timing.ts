/**
 * Timing and memory helpers for benchmarks. Memory figures need `node --expose-gc`.
 */
import { performance } from 'node:perf_hooks';
import { median } from './stats.ts';

/** Runs the garbage collector until memory stops shrinking and returns `heapUsed` in bytes. */
export function heapUsedAfterGc(): number {
  return afterGc().heapUsed;
}

/**
 * Runs the garbage collector until memory stops shrinking and returns the bytes in use: the V8
 * heap plus the backing stores of ArrayBuffers and typed arrays, which live outside the heap and
 * which `heapUsed` alone misses.
 */
export function memoryInUseAfterGc(): number {
  const { heapUsed, arrayBuffers } = afterGc();
  return heapUsed + arrayBuffers;
}

function afterGc(): NodeJS.MemoryUsage {
  const gc = globalThis.gc;
  if (gc === undefined) throw new Error('run node with --expose-gc to measure memory');
  let usage = process.memoryUsage();
  // A few passes: finalisers and weak references can free more on a later pass.
  for (let pass = 0; pass < 6; pass++) {
    gc();
    const now = process.memoryUsage();
    const shrank = now.heapUsed + now.arrayBuffers < usage.heapUsed + usage.arrayBuffers;
    usage = now;
    if (pass > 0 && !shrank) break;
  }
  return usage;
}

/**
 * The memory growth in bytes (heap and ArrayBuffers, see {@link memoryInUseAfterGc}) that `build`
 * leaves behind: whatever it returns stays reachable until the second measurement. Build each
 * structure alone to measure it in isolation.
 */
export function retainedBytes<T>(build: () => T): { bytes: number; value: T } {
  const before = memoryInUseAfterGc();
  const value = build();
  const bytes = memoryInUseAfterGc() - before;
  return { bytes, value };
}

/**
 * One contender of a timed comparison. `run(slice, slices)` does slice `slice` of `slices` equal
 * parts of one round of work and returns its op count.
 */
export interface Candidate {
  readonly name: string;
  run(slice: number, slices: number): number;
}

/** Options of {@link timeRounds}. */
export interface RoundOptions {
  /** Untimed rounds first, so that the JIT settles. Default 1. */
  readonly warmup?: number;
  /** Timed rounds. Default 5. */
  readonly rounds?: number;
  /** Parts each round is cut into; the candidates take turns part by part. Default 10. */
  readonly slices?: number;
}

/** Each candidate's ops/s per round. */
export type RoundResults = Map<string, number[]>;

/**
 * Times the candidates in turns of one slice each (A B C A B C ... within every round), so that
 * every candidate's round spans the same stretch of wall time and a burst of load from another
 * process slows them all alike. Returns each candidate's ops/s per round.
 */
export function timeRounds(
  candidates: readonly Candidate[],
  options: RoundOptions = {},
): RoundResults {
  const warmup = options.warmup ?? 1;
  const rounds = options.rounds ?? 5;
  const slices = options.slices ?? 10;
  const results: RoundResults = new Map(candidates.map((c) => [c.name, []]));
  for (let round = 0; round < warmup + rounds; round++) {
    const ms = candidates.map(() => 0);
    const ops = candidates.map(() => 0);
    for (let slice = 0; slice < slices; slice++) {
      for (let c = 0; c < candidates.length; c++) {
        const start = performance.now();
        ops[c] = (ops[c] as number) + (candidates[c] as Candidate).run(slice, slices);
        ms[c] = (ms[c] as number) + performance.now() - start;
      }
    }
    if (round < warmup) continue;
    for (let c = 0; c < candidates.length; c++) {
      results
        .get((candidates[c] as Candidate).name)
        ?.push(((ops[c] as number) * 1000) / (ms[c] as number));
    }
  }
  return results;
}

/**
 * The median over rounds of `a`'s rate divided by `b`'s in the same round: steadier than a ratio
 * of medians when the machine's load changes between rounds.
 */
export function pairedRatio(results: RoundResults, a: string, b: string): number {
  const ra = results.get(a) ?? [];
  const rb = results.get(b) ?? [];
  return median(ra.map((x, i) => x / (rb[i] ?? Number.NaN)));
}
