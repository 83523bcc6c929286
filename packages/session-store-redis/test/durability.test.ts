import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { storedMessage } from '@mqtt-sessions/session-store/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedisSessionStore } from '../src/index.js';
import { BINARY, sessionWithMessages } from './fixtures.js';
import { hasRedisServer, startRedisServer } from './redis-for-tests.js';

// What the README promises about durability, on a redis-server of this test's own: with
// `appendfsync always`, a batch that apply() resolved survives a kill -9 of Redis, whole.

const inCi = process.env.CI !== undefined && process.env.CI !== '';

if (!hasRedisServer() && !inCi) {
  describe.skip('durability (skipped: no redis-server binary to start)', () => {
    it('needs redis-server', () => {
      expect.unreachable('a skipped suite never runs');
    });
  });
} else {
  describe('durability with the AOF', () => {
    const dirs: string[] = [];
    afterAll(() => {
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    });

    it('keeps every batch apply() resolved across a kill -9 of Redis (appendfsync always)', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'session-store-redis-aof-'));
      dirs.push(dir);
      const args = ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir];
      const first = await startRedisServer(args);
      const store = createRedisSessionStore({ url: first.url, keyPrefix: 'aof:' });
      const batches = 20;
      for (let i = 0; i < batches; i++) {
        await store.apply([
          ...sessionWithMessages('kit', `c${i}`, 100, BINARY),
          { type: 'message-done', key: { pool: 'kit', clientId: `c${i}` }, seq: 1 },
        ]);
      }
      const expected = await store.load({ pool: 'kit', clientId: `c${batches - 1}` });
      await first.kill();
      await store.close().catch(() => {});

      const second = await startRedisServer(args, first.port);
      const reopened = createRedisSessionStore({ url: second.url, keyPrefix: 'aof:' });
      try {
        expect(await reopened.count('kit')).toBe(batches);
        const state = await reopened.load({ pool: 'kit', clientId: `c${batches - 1}` });
        expect(state?.messages).toHaveLength(99);
        expect(state?.messages[0]?.payload.equals(BINARY)).toBe(true);
        expect(state).toEqual(expected);
        // The store keeps working on the restarted server (its scripts are gone from the cache).
        await reopened.apply([
          { type: 'message', key: { pool: 'kit', clientId: 'c0' }, message: storedMessage(500) },
        ]);
        expect((await reopened.load({ pool: 'kit', clientId: 'c0' }))?.messages.at(-1)?.seq).toBe(
          500,
        );
      } finally {
        await reopened.close();
        await second.stop();
      }
    }, 60_000);
  });
}
