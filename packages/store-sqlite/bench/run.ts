/**
 * `pnpm bench`: what the SQLite store costs. Prints Markdown for the package README.
 *
 * - apply: `message` changes per second by batch size, in both durability modes;
 * - retained match: the store's way (a topic-trie walk in memory, then one primary-key read per
 *   match) against a SQL prefix plan (a range scan of the topic index over the filter's literal
 *   prefix, each topic tested in JS, then the same read per match), and what the index costs in
 *   memory and at open;
 * - restart: opening a file of stored sessions and listing their outlines (no messages), as a
 *   broker does at start; then loading one session's messages, as when its client comes back,
 *   and, for comparison, loading every session in full.
 *
 *   node --expose-gc --conditions=@mqtt-sessions/source --import tsx bench/run.ts [--quick] [--sessions 100000] [--messages 10]
 *     [--only apply|match|restart]
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { SessionChange, SessionOutline, StoredMessage } from '@mqtt-sessions/session-store';
import Database from 'better-sqlite3';
import { describeMachine } from '../../../tooling/bench/machine.ts';
import {
  formatBytes,
  formatDuration,
  formatRate,
  formatRatio,
  formatTable,
  median,
  percentile,
} from '../../../tooling/bench/stats.ts';
import { memoryInUseAfterGc } from '../../../tooling/bench/timing.ts';
import { openSqliteStore, type SqliteDurability } from '../src/index.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    sessions: { type: 'string' },
    messages: { type: 'string' },
    only: { type: 'string' },
  },
});
const quick = values.quick === true;
const log = (line: string): void => console.log(line);
const dir = mkdtempSync(join(tmpdir(), 'store-sqlite-bench-'));
let files = 0;
const newFile = (): string => join(dir, `bench-${files++}.sqlite`);

if (globalThis.gc === undefined) {
  console.error('run with node --expose-gc (pnpm bench does)');
  process.exit(1);
}

function message(seq: number): StoredMessage {
  return {
    seq,
    topic: `devices/${seq % 1000}/telemetry`,
    payload: Buffer.alloc(100, seq & 0xff),
    qos: 1,
    retain: false,
    properties: {},
    expiresAt: undefined,
    subscriptionIds: undefined,
    shared: undefined,
    stage: 'queued',
    packetId: 0,
    sent: false,
  };
}

function session(pool: string, clientId: string): SessionChange {
  return {
    type: 'session',
    session: {
      pool,
      clientId,
      protocolVersion: 5,
      expiryInterval: 3600,
      expiresAt: undefined,
      userData: null,
      lastPacketId: 0,
      will: undefined,
    },
  };
}

/** Changes per second of `apply`, `total` message changes in batches of `batch`. */
function applyRate(durability: SqliteDurability, batch: number, total: number): number {
  const store = openSqliteStore({ file: newFile(), durability });
  const key = { pool: 'bench', clientId: 'c' };
  store.sessions.apply([session(key.pool, key.clientId)]);
  const batches: SessionChange[][] = [];
  for (let start = 0; start < total; start += batch) {
    const changes: SessionChange[] = [];
    for (let seq = start; seq < Math.min(total, start + batch); seq++) {
      changes.push({ type: 'message', key, message: message(seq) });
    }
    batches.push(changes);
  }
  const started = performance.now();
  for (const changes of batches) store.sessions.apply(changes);
  const ms = performance.now() - started;
  store.close();
  return (total * 1000) / ms;
}

function benchApply(): void {
  log('\n### apply\n');
  log('`message` changes (100-byte payloads) applied per second, one transaction per `apply`:\n');
  const rows: string[][] = [];
  for (const durability of ['normal', 'full'] as const) {
    for (const batch of [1, 10, 100, 1000]) {
      // One commit per batch: with 'full' each is a disk flush, so the small batches do fewer.
      const total = durability === 'full' && batch < 100 ? 1_000 * batch : quick ? 2_000 : 10_000;
      const rounds = quick ? 1 : 3;
      const rates: number[] = [];
      for (let round = 0; round < rounds; round++) rates.push(applyRate(durability, batch, total));
      const rate = median(rates);
      rows.push([
        durability,
        String(batch),
        String(total),
        formatRate(rate),
        formatRate(rate / batch),
      ]);
    }
  }
  log(formatTable(['durability', 'batch', 'changes', 'changes/s', 'commits/s'], rows));
}

// --- retained match --------------------------------------------------------------------------

const METRICS = [
  'temp',
  'humidity',
  'power',
  'status',
  'rssi',
  'uptime',
  'fw',
  'door',
  'co2',
  'lux',
];

function retainedTopics(sites: number, devices: number): string[] {
  const topics: string[] = [];
  for (let site = 0; site < sites; site++) {
    for (let device = 0; device < devices; device++) {
      for (const metric of METRICS) topics.push(`site/${site}/device/${device}/${metric}`);
    }
  }
  return topics;
}

/** The levels before the first wildcard, as a string every matching topic starts with. */
function literalPrefix(filter: string): string {
  const levels = filter.split('/');
  const wildcard = levels.findIndex((level) => level === '+' || level === '#');
  if (wildcard === -1) return filter;
  if (wildcard === 0) return '';
  const prefix = `${levels.slice(0, wildcard).join('/')}/`;
  return levels[wildcard] === '#' ? prefix.slice(0, -1) : prefix;
}

function matches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  if ((f[0] === '+' || f[0] === '#') && topic.startsWith('$')) return false;
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/** The SQL prefix plan: the matches a filter finds, with their rows read. */
function sqlPlanMatch(db: Database.Database, filter: string): number {
  const prefix = literalPrefix(filter);
  const range = db.prepare(
    'SELECT topic FROM retained WHERE topic >= ? AND topic < CAST(? AS TEXT) ORDER BY topic',
  );
  const read = db.prepare(
    'SELECT payload, qos, stored_at, expires_at, properties, property_bytes FROM retained WHERE topic = ?',
  );
  const upper = Buffer.concat([Buffer.from(prefix), Buffer.from([0xff])]);
  let found = 0;
  for (const topic of range.pluck().iterate(prefix, upper) as IterableIterator<string>) {
    if (!matches(filter, topic)) continue;
    if (read.get(topic) !== undefined) found++;
  }
  return found;
}

/** Runs `run` until `budgetMs` passed (at least 3 times) and returns ms per run. */
function timePerRun(run: () => number, budgetMs: number): { ms: number; result: number } {
  let result = run(); // warm-up
  let runs = 0;
  const started = performance.now();
  while (runs < 3 || performance.now() - started < budgetMs) {
    result = run();
    runs++;
  }
  return { ms: (performance.now() - started) / runs, result };
}

function benchMatch(): void {
  const devices = quick ? 100 : 1000;
  const topics = retainedTopics(10, devices);
  log(`\n### retained match\n`);
  const file = newFile();
  const seed = openSqliteStore({ file });
  const payload = Buffer.alloc(32, 7);
  for (const topic of topics) seed.retain.set({ topic, payload, qos: 1 });
  seed.close();

  const before = memoryInUseAfterGc();
  const started = performance.now();
  const store = openSqliteStore({ file });
  const openMs = performance.now() - started;
  const indexBytes = memoryInUseAfterGc() - before;
  log(
    `${topics.length.toLocaleString('en-US')} retained topics (\`site/S/device/D/METRIC\`, 32-byte payloads), file ${formatBytes(statSync(file).size)}. ` +
      `Opening the file loads the topic index in ${formatDuration(openMs)}; the index takes ${formatBytes(indexBytes)} of memory (${Math.round(indexBytes / topics.length)} bytes per topic).\n`,
  );
  const filters = [
    'site/3/device/42/temp',
    'site/3/device/42/+',
    'site/3/device/+/temp',
    'site/+/device/42/temp',
    '+/3/device/42/temp',
    'site/3/#',
    '#',
  ];
  const budget = quick ? 100 : 400;
  const trie = filters.map((filter) =>
    timePerRun(() => {
      let found = 0;
      let page = store.retain.match(filter, { limit: 100 });
      for (;;) {
        found += page.messages.length;
        if (page.cursor === null) return found;
        page = store.retain.match(filter, { cursor: page.cursor, limit: 100 });
      }
    }, budget),
  );
  // The store holds an exclusive lock: the SQL plan runs on a plain connection once it closed.
  store.close();
  const db = new Database(file, { readonly: true });
  const rows: string[][] = filters.map((filter, i) => {
    const walk = trie[i] as { ms: number; result: number };
    const sql = timePerRun(() => sqlPlanMatch(db, filter), budget);
    if (walk.result !== sql.result) {
      throw new Error(`${filter}: the trie found ${walk.result}, the SQL plan ${sql.result}`);
    }
    return [
      `\`${filter}\``,
      walk.result.toLocaleString('en-US'),
      formatDuration(walk.ms),
      formatDuration(sql.ms),
      formatRatio(sql.ms / walk.ms),
    ];
  });
  db.close();
  log(
    formatTable(
      ['filter', 'matches', 'trie walk (pages of 100)', 'SQL prefix plan (one scan)', 'SQL / trie'],
      rows,
    ),
  );
}

// --- restart ---------------------------------------------------------------------------------

function benchRestart(): void {
  const sessions = Number(values.sessions ?? (quick ? 2_000 : 20_000));
  const perSession = Number(values.messages ?? 10);
  log(`\n### restart\n`);
  const file = newFile();
  const seed = openSqliteStore({ file });
  let changes: SessionChange[] = [];
  for (let s = 0; s < sessions; s++) {
    const clientId = `client-${String(s).padStart(7, '0')}`;
    const key = { pool: 'default', clientId };
    changes.push(session('default', clientId));
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
    for (let m = 0; m < perSession; m++) {
      changes.push({ type: 'message', key, message: message(m + 1) });
    }
    if (changes.length >= 10_000) {
      seed.sessions.apply(changes);
      changes = [];
    }
  }
  seed.sessions.apply(changes);
  seed.close();

  // The restart: open the file and list every session's outline, keeping them, as a broker does
  // before it accepts connections.
  const memoryBefore = memoryInUseAfterGc();
  const started = performance.now();
  const store = openSqliteStore({ file });
  const opened = performance.now();
  let listed = 0;
  let lastSeqs = 0;
  let cursor: string | null = null;
  const kept: (readonly SessionOutline[])[] = [];
  do {
    const page = store.sessions.list('default', cursor, 1_000);
    for (const outline of page.sessions) lastSeqs += outline.lastSeq;
    listed += page.sessions.length;
    kept.push(page.sessions); // as a broker keeps the outlines
    cursor = page.cursor;
  } while (cursor !== null);
  const listedAt = performance.now();
  const memory = memoryInUseAfterGc() - memoryBefore;
  if (listed !== sessions || lastSeqs !== sessions * perSession) {
    throw new Error(`listed ${listed} sessions whose lastSeqs add up to ${lastSeqs}`);
  }

  // A client comes back: its session's messages load. Spread over the file, one at a time.
  const samples = Math.min(sessions, quick ? 200 : 1_000);
  const loadMs: number[] = [];
  let loadedMessages = 0;
  for (let i = 0; i < samples; i++) {
    const s = Math.floor((i * sessions) / samples);
    const clientId = `client-${String(s).padStart(7, '0')}`;
    const t = performance.now();
    const state = store.sessions.load({ pool: 'default', clientId });
    loadMs.push(performance.now() - t);
    loadedMessages += state?.messages.length ?? 0;
  }
  if (loadedMessages !== samples * perSession) {
    throw new Error(`loaded ${loadedMessages} messages of ${samples} sessions`);
  }

  // For comparison: every session loaded in full, one after the other (what a restart read
  // before list gave outlines, and what it costs if every client comes back).
  let loadedAll = 0;
  const allStarted = performance.now();
  for (const page of kept) {
    for (const outline of page) {
      loadedAll += store.sessions.load(outline.session)?.messages.length ?? 0;
    }
  }
  const allMs = performance.now() - allStarted;
  store.close();
  if (loadedAll !== sessions * perSession) throw new Error(`loaded ${loadedAll} messages`);

  log(
    formatTable(
      [
        'sessions',
        'messages',
        'file',
        'open',
        'restart: list outlines (pages of 1,000)',
        'outlines/s',
        'memory of the outlines',
        'load one session (median, p99)',
        'load every session',
      ],
      [
        [
          listed.toLocaleString('en-US'),
          (sessions * perSession).toLocaleString('en-US'),
          formatBytes(statSync(file).size),
          formatDuration(opened - started),
          formatDuration(listedAt - opened),
          formatRate((listed * 1000) / (listedAt - opened)),
          formatBytes(memory),
          `${formatDuration(median(loadMs))}, ${formatDuration(percentile(loadMs, 0.99))}`,
          formatDuration(allMs),
        ],
      ],
    ),
  );
  if (kept.length === 0) log(''); // keeps `kept` alive until the memory was measured
}

log(`Machine: ${describeMachine()}`);
try {
  if (values.only === undefined || values.only === 'apply') benchApply();
  if (values.only === undefined || values.only === 'match') benchMatch();
  if (values.only === undefined || values.only === 'restart') benchRestart();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
