import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteStore, type SqliteDurability } from '../src/index.js';
import { lineFrom, onLines, runFixture } from './child.js';
import { BATCH, KEEP, KEY, payloadOf, sessionRecord } from './fixtures/batches.js';
import { useTempFiles } from './temp-dir.js';

const newFile = useTempFiles('kill');
const children: ChildProcess[] = [];

afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

/** A small seeded generator (mulberry32), so that a failing round replays. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Resolves once `done()` holds, checking every few ms. */
async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((resolve) => setTimeout(resolve, 2));
}

/** The batches still stored after batch `last`: the KEEP last ones. */
function keptBatches(last: number): number[] {
  const kept: number[] = [];
  for (let batch = Math.max(0, last - KEEP + 1); batch <= last; batch++) kept.push(batch);
  return kept;
}

describe('kill -9 while applying batches', () => {
  for (const durability of ['normal', 'full'] as const satisfies SqliteDurability[]) {
    for (const seed of [1, 2, 3]) {
      it(`keeps every batch reported as applied, each one whole (durability ${durability}, seed ${seed})`, async () => {
        const random = seededRandom(seed);
        const file = newFile();
        const child = runFixture('apply-loop.ts', [file, durability]);
        children.push(child);
        let reported = -1;
        onLines(child, (line) => {
          if (line.startsWith('applied ')) reported = Number(line.slice('applied '.length));
        });
        const closed = new Promise<string | null>((resolve) => {
          child.once('close', (_code, signal) => resolve(signal));
        });
        await lineFrom(child, 'ready');
        // Somewhere past the first KEEP batches, so that removals are in the batches too.
        const killAfter = KEEP + 20 + Math.floor(random() * 300);
        await until(() => reported >= killAfter);
        await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 20)));
        child.kill('SIGKILL');
        // 'close' comes after stdout ended: every line the child wrote has been read.
        expect(await closed).toBe('SIGKILL');
        expect(reported).toBeGreaterThanOrEqual(killAfter);
        expect(existsSync(`${file}-wal`)).toBe(true); // the reopening recovers from the WAL

        const store = openSqliteStore({ file });
        const state = store.sessions.load(KEY);
        store.close();
        expect(state).toBeDefined();
        if (state === undefined) return;
        // The last batch stored is the last reported, or the one after it if the kill came
        // between its commit and its report.
        const last = state.session.lastPacketId;
        expect([reported, reported + 1]).toContain(last);
        expect(state.session).toEqual(sessionRecord(last));
        // All of each batch or none: the messages, subscriptions and QoS 2 ids of exactly the
        // KEEP last batches, nothing of the older ones (removed by later batches).
        const kept = keptBatches(last);
        const expected = kept.flatMap((batch) =>
          Array.from({ length: BATCH }, (_, item) => ({
            seq: batch * BATCH + item,
            topic: `t/${batch}`,
            payload: payloadOf(batch, item).toString(),
          })),
        );
        expect(
          state.messages.map((m) => ({
            seq: m.seq,
            topic: m.topic,
            payload: m.payload.toString(),
          })),
        ).toEqual(expected);
        expect(state.subscriptions.map((s) => s.filter).sort()).toEqual(
          kept.map((batch) => `batch/${batch}`).sort(),
        );
        expect(state.awaitingRelease).toEqual(kept.map((batch) => batch + 1));
      }, 60_000);
    }
  }
});
