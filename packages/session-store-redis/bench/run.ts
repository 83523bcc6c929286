/**
 * `pnpm bench`: how fast `apply` stores batches of 100 `message` changes, and how many Redis
 * commands a batch costs; then a restart: how fast `list` reads the outlines of stored sessions
 * back (what a broker does before it accepts connections), how long `load` takes for one
 * session's messages (a client coming back), and, for comparison, loading every session.
 * Prints Markdown for the README.
 *
 *   node --import tsx bench/run.ts [--url redis://127.0.0.1:6379] [--cluster host:port,...]
 *     [--batches 300] [--rounds 5] [--payload 100] [--no-aof] [--quick]
 *     [--sessions 100000] [--messages 10] [--only apply|restart]
 *
 * `--url` (default `REDIS_URL`, else redis://127.0.0.1:6379) is the Redis measured.
 * `--cluster` (default `REDIS_CLUSTER_URLS`) adds rows for a Redis Cluster; its commands are
 * counted with `INFO commandstats` summed over its masters. When a `redis-server` binary is found,
 * the single Redis's commands per batch are counted on a private server (so that other clients of
 * the shared one do not blur `INFO commandstats`), and, unless `--no-aof`, the one-in-flight rows
 * run again on private servers with `appendfsync everysec` and `always`, to show what durability
 * costs on this disk.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type {
  SessionChange,
  SessionKey,
  SessionOutline,
  StoredMessage,
  StoredSubscription,
} from '@mqtt-sessions/session-store';
import { Cluster, type Command, Redis } from 'ioredis';
import { describeMachine } from '../../../tooling/bench/machine.ts';
import {
  formatDuration,
  formatRate,
  formatTable,
  median,
  percentile,
  summarize,
} from '../../../tooling/bench/stats.ts';
import { createRedisSessionStore, type RedisClient, type RedisSessionStore } from '../src/index.ts';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    cluster: { type: 'string' },
    batches: { type: 'string' },
    rounds: { type: 'string' },
    payload: { type: 'string' },
    'no-aof': { type: 'boolean', default: false },
    sessions: { type: 'string' },
    messages: { type: 'string' },
    only: { type: 'string' },
    quick: { type: 'boolean', default: false },
  },
});
const quick = values.quick === true;
const url = values.url ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const clusterSeeds = (values.cluster ?? process.env.REDIS_CLUSTER_URLS ?? '')
  .split(',')
  .map((seed) => seed.trim())
  .filter((seed) => seed !== '');
const batchesPerRound = Number(values.batches ?? (quick ? 50 : 300));
const rounds = Number(values.rounds ?? (quick ? 2 : 5));
const payloadBytes = Number(values.payload ?? 100);
const restartSessions = Number(values.sessions ?? (quick ? 2_000 : 100_000));
const restartMessages = Number(values.messages ?? 10);
const BATCH = 100;
const log = (line: string): void => console.log(line);
const runPrefix = `bench:session-store-redis:${process.pid}:${Date.now()}:`;
let prefixes = 0;

/** How a batch of 100 `message` changes is spread over sessions. */
interface Shape {
  readonly name: string;
  readonly sessions: number;
}
const SHAPES: readonly Shape[] = [
  { name: '1 session × 100 messages', sessions: 1 },
  { name: '100 sessions × 1 message', sessions: 100 },
];
const IN_FLIGHT = [1, 4];

function message(seq: number, payload: Buffer): StoredMessage {
  return {
    seq,
    topic: `bench/topic/${seq % 100}`,
    payload,
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

function sessionChange(key: SessionKey): SessionChange {
  return {
    type: 'session',
    session: {
      ...key,
      protocolVersion: 5,
      expiryInterval: 3600,
      expiresAt: undefined,
      userData: null,
      lastPacketId: 0,
      will: undefined,
    },
  };
}

function subscription(clientId: string): StoredSubscription {
  return {
    filter: `devices/${clientId}/#`,
    qos: 1,
    noLocal: false,
    retainAsPublished: false,
    retainHandling: 0,
    subscriptionIdentifier: undefined,
  };
}

/** Makes the batches of one round: each adds 100 messages with fresh seqs. */
function makeBatches(keys: readonly SessionKey[], count: number, payload: Buffer) {
  const batches: SessionChange[][] = [];
  let seq = 0;
  for (let b = 0; b < count; b++) {
    const batch: SessionChange[] = [];
    for (let i = 0; i < BATCH; i++) {
      const key = keys[i % keys.length] as SessionKey;
      batch.push({ type: 'message', key, message: message(++seq, payload) });
    }
    batches.push(batch);
  }
  return batches;
}

/** Applies the batches with `inFlight` of them outstanding at a time; returns changes/s. */
async function drive(
  store: RedisSessionStore,
  batches: readonly SessionChange[][],
  inFlight: number,
): Promise<number> {
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < batches.length) {
        const batch = batches[next++] as SessionChange[];
        await store.apply(batch);
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  return (batches.length * BATCH) / seconds;
}

/** One row per shape and concurrency: changes/s over `rounds` rounds, fresh sessions each. */
async function measureApply(
  label: string,
  open: (prefix: string) => RedisSessionStore,
  shapes: readonly Shape[] = SHAPES,
  inFlights: readonly number[] = IN_FLIGHT,
): Promise<string[][]> {
  const payload = Buffer.alloc(payloadBytes, 0x61);
  const rows: string[][] = [];
  for (const shape of shapes) {
    for (const inFlight of inFlights) {
      const rates: number[] = [];
      for (let round = 0; round < rounds + 1; round++) {
        const store = open(`${runPrefix}${prefixes++}:`);
        const keys = Array.from({ length: shape.sessions }, (_, i) => ({
          pool: 'bench',
          clientId: `client-${i}`,
        }));
        await store.apply(keys.map(sessionChange));
        const rate = await drive(store, makeBatches(keys, batchesPerRound, payload), inFlight);
        if (round > 0) rates.push(rate); // round 0 warms up
        await store.apply(keys.map((key) => ({ type: 'delete' as const, key })));
        await store.close();
      }
      const summary = summarize(rates);
      rows.push([
        label,
        shape.name,
        String(inFlight),
        formatRate(summary.median),
        `${Math.round(summary.spread * 100)} %`,
      ]);
    }
  }
  return rows;
}

/** Counts the commands a client sends and, with `server`, what Redis runs, per batch. */
async function countCommands(
  client: RedisClient,
  servers: readonly Redis[] | undefined,
  open: (client: RedisClient, prefix: string) => RedisSessionStore,
): Promise<string[][]> {
  const rows: string[][] = [];
  const payload = Buffer.alloc(payloadBytes, 0x61);
  for (const shape of SHAPES) {
    const store = open(client, `${runPrefix}${prefixes++}:`);
    const keys = Array.from({ length: shape.sessions }, (_, i) => ({
      pool: 'bench',
      clientId: `client-${i}`,
    }));
    await store.apply(keys.map(sessionChange));
    const batches = makeBatches(keys, 20, payload);
    await store.apply(batches[0] as SessionChange[]); // loads the script
    const before = servers === undefined ? undefined : await commandStats(servers);
    const sent: string[] = [];
    const original = client.sendCommand.bind(client);
    client.sendCommand = ((command: Command) => {
      sent.push(command.name.toLowerCase());
      return original(command);
    }) as typeof client.sendCommand;
    for (const batch of batches.slice(1)) await store.apply(batch);
    client.sendCommand = original;
    const counted = batches.length - 1;
    let inside = 'n/a';
    let scriptTime = 'n/a';
    if (servers !== undefined && before !== undefined) {
      const after = await commandStats(servers);
      const delta = new Map<string, number>();
      for (const [name, calls] of after) {
        const d = calls - (before.get(name) ?? 0);
        if (d > 0 && name !== 'info') delta.set(name, d / counted);
      }
      const scripts = (delta.get('evalsha') ?? 0) + (delta.get('eval') ?? 0);
      scriptTime = `${Math.round(delta.get('script-usec') ?? 0)} µs`;
      let total = 0;
      const parts: string[] = [];
      for (const [name, perBatch] of [...delta].sort((a, b) => b[1] - a[1])) {
        if (name === 'evalsha' || name === 'eval' || name === 'script-usec') continue;
        total += perBatch;
        parts.push(`${perBatch} ${name.toUpperCase()}`);
      }
      inside = `${total} (${parts.join(', ')}) in ${scripts} script${scripts === 1 ? '' : 's'}`;
    }
    const bySent = new Map<string, number>();
    for (const name of sent) bySent.set(name, (bySent.get(name) ?? 0) + 1);
    rows.push([
      client.isCluster ? 'Redis Cluster, 3 masters' : 'single Redis',
      shape.name,
      [...bySent].map(([name, n]) => `${n / counted} ${name.toUpperCase()}`).join(', '),
      inside,
      scriptTime,
    ]);
    await store.apply(keys.map((key) => ({ type: 'delete' as const, key })));
    await store.close();
  }
  return rows;
}

/** Calls per command, summed over servers, and the µs spent in scripts under `script-usec`. */
async function commandStats(servers: readonly Redis[]): Promise<Map<string, number>> {
  const stats = new Map<string, number>();
  let scriptUsec = 0;
  for (const server of servers) {
    const info = await server.info('commandstats');
    for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
      const name = match[1] as string;
      stats.set(name, (stats.get(name) ?? 0) + Number(match[2]));
      if (name === 'evalsha' || name === 'eval') scriptUsec += Number(match[3]);
    }
  }
  stats.set('script-usec', scriptUsec);
  return stats;
}

/**
 * A restart: stores `sessions` sessions of one subscription and `messages` messages each, then
 * lists their outlines back (what a broker does before it accepts connections), loads single
 * sessions with their messages one at a time (a client coming back), and, for comparison, loads
 * every session in full, a page of 500 at a time (what `list` read before it gave outlines).
 */
async function measureRestart(
  label: string,
  open: (prefix: string) => RedisSessionStore,
  sessions: number,
  messages: number,
): Promise<string[]> {
  const store = open(`${runPrefix}${prefixes++}:`);
  const payload = Buffer.alloc(payloadBytes, 0x61);
  const keys = Array.from({ length: sessions }, (_, i) => ({
    pool: 'bench',
    clientId: `client-${String(i).padStart(6, '0')}`,
  }));
  for (let i = 0; i < keys.length; i += 100) {
    const batch: SessionChange[] = [];
    for (const key of keys.slice(i, i + 100)) {
      batch.push(sessionChange(key));
      batch.push({ type: 'subscribe', key, subscription: subscription(key.clientId) });
      for (let m = 1; m <= messages; m++)
        batch.push({ type: 'message', key, message: message(m, payload) });
    }
    await store.apply(batch);
  }

  const listStart = performance.now();
  let cursor: string | null = null;
  let seen = 0;
  let lastSeqs = 0;
  const outlines: SessionOutline[] = [];
  do {
    const page = await store.list('bench', cursor, 500);
    seen += page.sessions.length;
    for (const outline of page.sessions) {
      lastSeqs += outline.lastSeq;
      outlines.push(outline); // as a broker keeps them
    }
    cursor = page.cursor;
  } while (cursor !== null);
  const listMs = performance.now() - listStart;
  if (seen !== sessions || lastSeqs !== sessions * messages) {
    throw new Error(`listed ${seen} sessions whose lastSeqs add up to ${lastSeqs}`);
  }

  const samples = Math.min(sessions, quick ? 200 : 1000);
  const loadMs: number[] = [];
  for (let i = 0; i < samples; i++) {
    const key = keys[Math.floor((i * sessions) / samples)] as SessionKey;
    const start = performance.now();
    const state = await store.load(key);
    loadMs.push(performance.now() - start);
    if (state?.messages.length !== messages) throw new Error(`loaded ${key.clientId} short`);
  }

  const allStart = performance.now();
  let loaded = 0;
  for (let i = 0; i < outlines.length; i += 500) {
    const states = await Promise.all(
      outlines.slice(i, i + 500).map((outline) => store.load(outline.session)),
    );
    for (const state of states) loaded += state?.messages.length ?? 0;
  }
  const allMs = performance.now() - allStart;
  if (loaded !== sessions * messages) throw new Error(`loaded ${loaded} messages`);

  for (let i = 0; i < keys.length; i += 500) {
    await store.apply(keys.slice(i, i + 500).map((key) => ({ type: 'delete' as const, key })));
  }
  await store.close();
  return [
    label,
    `${sessions.toLocaleString('en')} × ${messages}`,
    formatDuration(listMs),
    formatRate((sessions * 1000) / listMs),
    `${formatDuration(median(loadMs))}, ${formatDuration(percentile(loadMs, 0.99))}`,
    formatDuration(allMs),
  ];
}

/** A private redis-server on a free port, or undefined when there is no binary. */
async function privateRedis(
  args: readonly string[],
): Promise<{ url: string; stop(): Promise<void> } | undefined> {
  if (spawnSync('redis-server', ['--version']).error !== undefined) return undefined;
  const port = await new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const chosen = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(chosen));
    });
  });
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...args],
    { stdio: 'ignore' },
  );
  const serverUrl = `redis://127.0.0.1:${port}`;
  for (let attempt = 0; ; attempt++) {
    const probe = new Redis(serverUrl, { lazyConnect: true, retryStrategy: () => null });
    probe.on('error', () => {});
    try {
      await probe.connect();
      await probe.ping();
      probe.disconnect();
      break;
    } catch {
      probe.disconnect();
      if (attempt > 100) throw new Error('redis-server did not start');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return {
    url: serverUrl,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

async function serverVersion(client: RedisClient): Promise<string> {
  const node = client instanceof Cluster ? (client.nodes('master')[0] as Redis) : client;
  const info = await node.info('server');
  return /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
}

const single = new Redis(url);
log(`Machine: ${describeMachine()}`);
log(
  `Redis ${await serverVersion(single)} at ${url}; payload ${payloadBytes} B; ${batchesPerRound} batches of ${BATCH} per round, median of ${rounds} rounds`,
);
log('');
let cluster: Cluster | undefined;
if (clusterSeeds.length > 0) {
  cluster = new Cluster(clusterSeeds);
  await cluster.ping();
}

async function benchApply(): Promise<void> {
  const applyRows: string[][] = [];
  applyRows.push(
    ...(await measureApply('single Redis', (keyPrefix) =>
      createRedisSessionStore({ url, keyPrefix }),
    )),
  );
  if (cluster !== undefined) {
    applyRows.push(
      ...(await measureApply('Redis Cluster, 3 masters', (keyPrefix) =>
        createRedisSessionStore({ cluster: clusterSeeds, keyPrefix }),
      )),
    );
  }
  const aofDirs: string[] = [];
  if (values['no-aof'] !== true) {
    for (const fsync of ['everysec', 'always']) {
      const dir = mkdtempSync(join(tmpdir(), 'session-store-redis-bench-'));
      aofDirs.push(dir);
      const server = await privateRedis([
        '--appendonly',
        'yes',
        '--appendfsync',
        fsync,
        '--dir',
        dir,
      ]);
      if (server === undefined) break;
      applyRows.push(
        ...(await measureApply(
          `private Redis, AOF ${fsync}`,
          (keyPrefix) => createRedisSessionStore({ url: server.url, keyPrefix }),
          SHAPES,
          [1],
        )),
      );
      await server.stop();
    }
  }
  for (const dir of aofDirs) rmSync(dir, { recursive: true, force: true });
  log('### apply: changes per second');
  log('');
  log(
    formatTable(
      ['Redis', 'Batch of 100 `message` changes', 'Batches in flight', 'Changes/s', 'Spread'],
      applyRows,
    ),
  );
  log('');

  const counting = await privateRedis([]);
  const countClient = counting === undefined ? single : new Redis(counting.url);
  const commandRows = await countCommands(
    countClient,
    counting === undefined ? undefined : [countClient as Redis],
    (client, keyPrefix) => createRedisSessionStore({ client, keyPrefix }),
  );
  if (cluster !== undefined) {
    commandRows.push(
      ...(await countCommands(cluster, cluster.nodes('master'), (client, keyPrefix) =>
        createRedisSessionStore({ client, keyPrefix }),
      )),
    );
  }
  if (counting !== undefined) {
    await countClient.quit();
    await counting.stop();
  }
  log('### Redis commands per batch of 100 `message` changes');
  log('');
  log(
    formatTable(
      [
        'Redis',
        'Batch',
        'Sent by the client',
        'Run by Redis (inside the scripts)',
        'Redis time in scripts',
      ],
      commandRows,
    ),
  );
  log('');
}

async function benchRestart(): Promise<void> {
  const restartRows: string[][] = [];
  restartRows.push(
    await measureRestart(
      'single Redis',
      (keyPrefix) => createRedisSessionStore({ url, keyPrefix }),
      restartSessions,
      restartMessages,
    ),
  );
  if (cluster !== undefined) {
    restartRows.push(
      await measureRestart(
        'Redis Cluster, 3 masters',
        (keyPrefix) => createRedisSessionStore({ cluster: clusterSeeds, keyPrefix }),
        restartSessions,
        restartMessages,
      ),
    );
  }
  log(
    `### restart: list outlines (sessions with 1 subscription and ${restartMessages} messages each, 500 per page), then load sessions`,
  );
  log('');
  log(
    formatTable(
      [
        'Redis',
        'Sessions × messages',
        'restart: list outlines',
        'Outlines/s',
        'load one session (median, p99)',
        'load every session (500 at a time)',
      ],
      restartRows,
    ),
  );
  log('');
}

if (values.only === undefined || values.only === 'apply') await benchApply();
if (values.only === undefined || values.only === 'restart') await benchRestart();
await cluster?.quit();
await single.quit();
