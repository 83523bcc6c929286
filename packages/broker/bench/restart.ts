/**
 * How long a broker takes to come back with many stored sessions: seeds a store with `--sessions`
 * persistent sessions of `--messages` queued QoS 1 messages each (default 100,000 x 10), starts
 * the built broker on it, and reports the time from spawn to accepting connections, the restore
 * time the broker logs, and its RSS then.
 *
 *   pnpm build && node --import tsx bench/restart.ts [--store sqlite|redis] [--redis-url URL]
 *     [--sessions N] [--messages M]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { SessionChange, SessionStore } from '@mqtt-sessions/session-store';
import { storedMessage } from '@mqtt-sessions/session-store/testkit';
import { createRedisSessionStore } from '@mqtt-sessions/session-store-redis';
import { DEFAULT_SQLITE_FILE_NAME, openSqliteStore } from '@mqtt-sessions/store-sqlite';

const { values } = parseArgs({
  options: {
    store: { type: 'string', default: 'sqlite' },
    'redis-url': { type: 'string', default: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' },
    sessions: { type: 'string', default: '100000' },
    messages: { type: 'string', default: '10' },
  },
});
const sessions = Number(values.sessions);
const perSession = Number(values.messages);
const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

async function seed(store: SessionStore): Promise<void> {
  let changes: SessionChange[] = [];
  for (let s = 0; s < sessions; s++) {
    const clientId = `client-${String(s).padStart(7, '0')}`;
    const key = { pool: 'default', clientId };
    changes.push({
      type: 'session',
      session: {
        pool: 'default',
        clientId,
        protocolVersion: 5,
        expiryInterval: 86_400,
        expiresAt: Date.now() + 86_400_000,
        userData: null,
        lastPacketId: 0,
        will: undefined,
      },
    });
    changes.push({
      type: 'subscribe',
      key,
      subscription: {
        filter: `devices/${s}/#`,
        qos: 1,
        noLocal: false,
        retainAsPublished: false,
        retainHandling: 0,
        subscriptionIdentifier: undefined,
      },
    });
    for (let m = 1; m <= perSession; m++) {
      changes.push({
        type: 'message',
        key,
        message: storedMessage(m, { topic: `devices/${s}/m` }),
      });
    }
    if (changes.length >= 10_000) {
      await store.apply(changes);
      changes = [];
    }
  }
  await store.apply(changes);
}

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]) / 1024;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'mqtt-sessions-restart-'));
  const prefix = `bench-restart:${process.pid}:`;
  let storeArgs: string[];
  const seedStarted = performance.now();
  if (values.store === 'redis') {
    const store = createRedisSessionStore({
      url: values['redis-url'] as string,
      keyPrefix: `${prefix}sessions:`,
    });
    await seed(store);
    await store.close();
    storeArgs = ['--store', 'redis', '--redis-url', values['redis-url'] as string];
    storeArgs.push('--redis-prefix', prefix);
  } else {
    const store = openSqliteStore({ file: join(dir, DEFAULT_SQLITE_FILE_NAME) });
    await seed(store.sessions);
    store.close();
    storeArgs = ['--store', 'sqlite', '--data-dir', dir];
  }
  const seedMs = performance.now() - seedStarted;

  const started = performance.now();
  const child = spawn(
    process.execPath,
    [
      cli,
      ...['--host', '127.0.0.1', '--port', '0', '--ws-port', 'off', '--metrics-port', 'off'],
      ...['--sys-interval', '0', '--log-format', 'json', ...storeArgs],
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let restoredMs = Number.NaN;
  await new Promise<void>((resolve, reject) => {
    let buffer = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      for (const line of buffer.split('\n')) {
        if (line.includes('sessions restored')) restoredMs = JSON.parse(line).ms;
        if (line.includes('broker listening')) resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`the broker exited with ${code}`)));
  });
  const acceptingMs = performance.now() - started;
  const rss = rssMiB(child.pid as number);
  child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
  if (values.store === 'redis') {
    // The store's own ioredis client deletes what the run wrote.
    const cleaner = createRedisSessionStore({ url: values['redis-url'] as string });
    const redis = cleaner.client;
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 10_000);
      if (keys.length > 0) await redis.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
    await cleaner.close();
  }
  console.log(
    `${values.store}: ${sessions.toLocaleString('en-US')} sessions x ${perSession} messages ` +
      `(seeded in ${(seedMs / 1000).toFixed(1)} s): accepting connections ` +
      `${(acceptingMs / 1000).toFixed(2)} s after spawn (restore ${(restoredMs / 1000).toFixed(2)} s), ` +
      `RSS ${rss.toFixed(0)} MiB`,
  );
}

await main();
