/**
 * The scenarios of `pnpm bench:broker`, run by the load generator against one broker child.
 *
 * Throughput scenarios are closed loops: each publisher keeps at most `window` messages in flight
 * end to end (sent, not yet received by every subscriber that should get them), so a broker is
 * driven as fast as it delivers without its queues growing without bound. The rate counted is
 * deliveries (PUBLISH packets received by subscribers) per second. Every payload carries
 * (publisher, sequence, send time): a gap in a subscriber's sequence is a dropped message, and
 * the send time gives the latency.
 */
import { performance } from 'node:perf_hooks';
import {
  type BrokerProcess,
  CpuMeter,
  type CpuUse,
  listenOverflows,
  RssSampler,
} from './brokers.ts';
import {
  type BenchClient,
  connectMany,
  destroyAll,
  type PublishSink,
  PublishTemplate,
  readPublisher,
  readSequence,
  readTime,
  resetAll,
  sourceAddress,
} from './client.ts';

/** What one scenario run measured. */
export interface RunResult {
  /** The headline figure: deliveries/s, connects/s, bytes per connection or ms. */
  readonly value: number;
  /** Latency percentiles in ms (delivery or CONNECT-to-CONNACK), when they apply. */
  readonly p50: number | undefined;
  readonly p99: number | undefined;
  /** Peak VmRSS of the broker during the run. */
  readonly peakRss: number;
  /** CPU use (broker, load generator, rest of the machine) over the measured interval. */
  readonly cpu: CpuUse;
  /** Whether every message that had to arrive arrived (QoS 1: all; QoS 0: counted, may drop). */
  readonly complete: boolean;
  /** One line on counts: sent, delivered, lost. */
  readonly note: string;
  /** Extra figures for the details table (e.g. the storm's connects/s). */
  readonly extra?: Readonly<Record<string, number>>;
}

/** Durations and sizes shared by the scenarios. */
export interface ScenarioSettings {
  readonly warmupMs: number;
  readonly measureMs: number;
  /** Multiplies every scenario's window (messages in flight per publisher). */
  readonly windowScale: number;
  /** Connections of `storm` and `storm-tls-ws`. */
  readonly stormConnections: number;
  /** Connections of `storm-50k`. */
  readonly largeStormConnections: number;
  readonly stormInFlight: number;
  readonly retainedMessages: number;
  /** Write a heap snapshot of the broker after the storm into this directory. */
  readonly heapSnapshotDir?: string | undefined;
}

/** A throughput scenario: who publishes where and who subscribes to what. */
export interface FlowSpec {
  readonly qos: 0 | 1;
  readonly publishers: number;
  readonly subscribers: number;
  /** Messages in flight per publisher, end to end. */
  readonly window: number;
  /** Deliveries per published message. */
  readonly fanout: number;
  /**
   * Every client connects with Clean Session 0 (MQTT 3.1.1's persistent session: it outlives the
   * connection, so a durable store keeps its subscriptions and messages in flight).
   */
  readonly persistent?: boolean;
  topic(publisher: number): string;
  filter(subscriber: number): string;
  /** The publishers a subscriber hears: `count` of them from `first`. */
  heard(subscriber: number): { first: number; count: number };
  /** The subscribers of a publisher. */
  audience(publisher: number): readonly number[];
}

export const FAN_IN = (qos: 0 | 1): FlowSpec => ({
  qos,
  publishers: 100,
  subscribers: 1,
  window: 50,
  fanout: 1,
  topic: (p) => `in/${p}`,
  filter: () => 'in/+',
  heard: () => ({ first: 0, count: 100 }),
  audience: () => [0],
});

const ALL_1000 = Array.from({ length: 1000 }, (_, i) => i);

export const FAN_OUT: FlowSpec = {
  qos: 0,
  publishers: 1,
  subscribers: 1000,
  window: 20,
  fanout: 1000,
  topic: () => 'out/all',
  filter: () => 'out/all',
  heard: () => ({ first: 0, count: 1 }),
  audience: () => ALL_1000,
};

export const PAIRS: FlowSpec = {
  qos: 1,
  publishers: 1000,
  subscribers: 1000,
  window: 5,
  fanout: 1,
  topic: (p) => `pair/${p}`,
  filter: (s) => `pair/${s}`,
  heard: (s) => ({ first: s, count: 1 }),
  audience: (p) => [p],
};

/** `spec` with persistent sessions. */
export const persistent = (spec: FlowSpec): FlowSpec => ({ ...spec, persistent: true });

class Publisher {
  readonly index: number;
  readonly client: BenchClient;
  readonly template: PublishTemplate;
  /** Messages sent; also the sequence number of the next one. */
  sent = 0;
  /** Deliveries of this publisher's messages received, and written off as lost. */
  received = 0;
  lost = 0;
  lastProgress = 0;
  blocked = false;
  dirty = false;

  constructor(index: number, client: BenchClient, template: PublishTemplate) {
    this.index = index;
    this.client = client;
    this.template = template;
  }
}

interface SubscriberState {
  readonly first: number;
  /** Next expected sequence number per publisher heard. */
  readonly expected: Float64Array;
}

const LATENCY_CAPACITY = 4_000_000;
const latencies = new Float64Array(LATENCY_CAPACITY);

/** p50 and p99 of the first `count` samples of `samples` (sorted in place). */
function percentiles(samples: Float64Array, count: number): { p50: number; p99: number } {
  if (count === 0) return { p50: Number.NaN, p99: Number.NaN };
  const sorted = samples.subarray(0, count).sort();
  const at = (q: number) => sorted[Math.min(count - 1, Math.floor(q * (count - 1)))] as number;
  return { p50: at(0.5), p99: at(0.99) };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs one throughput scenario against `broker`. */
export async function runFlow(
  broker: BrokerProcess,
  spec: FlowSpec,
  settings: ScenarioSettings,
): Promise<RunResult> {
  const window = Math.max(1, Math.round(spec.window * settings.windowScale));
  const refill = Math.max(1, Math.floor(window / 4));
  const fanout = spec.fanout;
  const publishers: Publisher[] = [];
  const subscriberStates: SubscriberState[] = [];
  let totalReceived = 0;
  let totalLost = 0;
  let measuring = false;
  let latencyCount = 0;
  let stopped = false;
  const dirty: Publisher[] = [];
  let pumpScheduled = false;

  const pump = (publisher: Publisher): void => {
    if (stopped || publisher.blocked || publisher.client.closed) return;
    const outstanding = publisher.sent * fanout - publisher.received - publisher.lost;
    // At QoS 1 a message is also in flight until its PUBACK: a broker that acknowledges only once
    // a durable store has the message must not be fed faster than it stores.
    const unacked = spec.qos === 1 ? publisher.sent - publisher.client.pubacksIn : 0;
    const allowed = window - Math.max(Math.ceil(outstanding / fanout), unacked);
    if (allowed < refill) return;
    const template = publisher.template;
    const out = Buffer.allocUnsafe(allowed * template.length);
    const now = performance.now();
    let at = 0;
    for (let k = 0; k < allowed; k++) {
      const sequence = publisher.sent++;
      at = template.fill(out, at, (sequence % 65535) + 1, publisher.index, sequence, now);
    }
    if (outstanding <= 0) publisher.lastProgress = now;
    if (!publisher.client.write(out)) publisher.blocked = true;
  };
  const pumpDirty = (): void => {
    pumpScheduled = false;
    for (const publisher of dirty) {
      publisher.dirty = false;
      pump(publisher);
    }
    dirty.length = 0;
  };
  /** Tops the publisher up after this turn's deliveries and PUBACKs, with one write. */
  const markDirty = (publisher: Publisher): void => {
    if (publisher.dirty) return;
    publisher.dirty = true;
    dirty.push(publisher);
    if (!pumpScheduled) {
      pumpScheduled = true;
      setImmediate(pumpDirty);
    }
  };

  const sink: PublishSink = {
    onPublish(client, payload, offset, _end, _retain, now) {
      const p = readPublisher(payload, offset);
      const sequence = readSequence(payload, offset);
      const state = subscriberStates[client.tag] as SubscriberState;
      const slot = p - state.first;
      const expected = state.expected[slot] as number;
      const publisher = publishers[p] as Publisher;
      if (sequence > expected) {
        // A gap: the messages in between were dropped by the broker.
        publisher.lost += sequence - expected;
        totalLost += sequence - expected;
      } else if (sequence < expected) {
        // Late: it had been written off as lost after a stall.
        publisher.lost--;
        totalLost--;
      }
      if (sequence >= expected) state.expected[slot] = sequence + 1;
      publisher.received++;
      totalReceived++;
      publisher.lastProgress = now;
      if (measuring && latencyCount < LATENCY_CAPACITY) {
        latencies[latencyCount++] = now - readTime(payload, offset);
      }
      markDirty(publisher);
    },
  };

  const subscribers = await connectMany({
    port: broker.port,
    count: spec.subscribers,
    prefix: 's',
    clean: spec.persistent !== true,
    sink,
  });
  subscribers.forEach((client, s) => {
    client.tag = s;
    const heard = spec.heard(s);
    subscriberStates.push({ first: heard.first, expected: new Float64Array(heard.count) });
  });
  const granted = await Promise.all(
    subscribers.map((client, s) => client.subscribe(spec.filter(s), spec.qos)),
  );
  if (granted.some((codes) => codes[0] !== spec.qos)) throw new Error('subscription refused');
  const publisherClients = await connectMany({
    port: broker.port,
    count: spec.publishers,
    prefix: 'p',
    clean: spec.persistent !== true,
  });
  publisherClients.forEach((client, p) => {
    const publisher = new Publisher(p, client, new PublishTemplate(spec.topic(p), spec.qos));
    client.onDrain = () => {
      publisher.blocked = false;
      pump(publisher);
    };
    if (spec.qos === 1) client.onPuback = () => markDirty(publisher);
    publishers.push(publisher);
  });

  // Write off a publisher's window when nothing of it arrives for a while (all of it dropped).
  const stallMs = 1000;
  const watchdog = setInterval(() => {
    const now = performance.now();
    for (const publisher of publishers) {
      const outstanding = publisher.sent * fanout - publisher.received - publisher.lost;
      if (outstanding <= 0 || now - publisher.lastProgress < stallMs) continue;
      publisher.lost += outstanding;
      totalLost += outstanding;
      publisher.lastProgress = now;
      for (const s of spec.audience(publisher.index)) {
        const state = subscriberStates[s] as SubscriberState;
        state.expected[publisher.index - state.first] = publisher.sent;
      }
      pump(publisher);
    }
  }, 100);

  const rss = new RssSampler(broker);
  const started = performance.now();
  for (const publisher of publishers) {
    publisher.lastProgress = started;
    pump(publisher);
  }
  await sleep(settings.warmupMs);
  latencyCount = 0;
  measuring = true;
  const received0 = totalReceived;
  const lost0 = totalLost;
  const t0 = performance.now();
  const meter = new CpuMeter(broker);
  await sleep(settings.measureMs);
  const received1 = totalReceived;
  const lost1 = totalLost;
  const t1 = performance.now();
  const cpu = meter.stop();
  measuring = false;
  stopped = true;

  // Let what is in flight arrive, PUBACKs included, so the counts can be checked.
  const drainUntil = performance.now() + 5000;
  const sentTotal = () => publishers.reduce((sum, p) => sum + p.sent, 0);
  const pubacksTotal = () => publisherClients.reduce((sum, c) => sum + c.pubacksIn, 0);
  const inFlight = () =>
    totalReceived + totalLost < sentTotal() * fanout ||
    (spec.qos === 1 && pubacksTotal() < sentTotal());
  while (
    inFlight() &&
    performance.now() < drainUntil &&
    (spec.qos === 1 || performance.now() - t1 < 1500)
  ) {
    await sleep(20);
  }
  clearInterval(watchdog);
  const peakRss = rss.stop();
  const sent = sentTotal();
  const expected = sent * fanout;
  const missing = expected - totalReceived;
  const pubacks = pubacksTotal();
  const complete = spec.qos === 0 ? true : missing === 0 && pubacks === sent;
  const ms = t1 - t0;
  const { p50, p99 } = percentiles(latencies, latencyCount);
  destroyAll(publisherClients);
  destroyAll(subscribers);
  const lostInWindow = lost1 - lost0;
  return {
    value: ((received1 - received0) * 1000) / ms,
    p50,
    p99,
    peakRss,
    cpu,
    complete,
    note:
      `sent ${sent} msgs, ${expected} deliveries due, ${totalReceived} received` +
      (spec.qos === 1 ? `, ${pubacks} PUBACKs` : '') +
      (missing > 0 ? `, ${missing} missing` : '') +
      (lostInWindow > 0 ? `, ${lostInWindow} dropped while measured` : ''),
  };
}

/** The longest a storm waits for a Node broker's young generation to shrink back. */
const SETTLE_MAX_MS = 45_000;

/**
 * Waits until V8 has given back the young generation that a storm's allocations grew (its memory
 * reducer does so once the process idles, some 10 to 20 s later), or `SETTLE_MAX_MS` passed.
 * Returns how long it waited, or undefined when the young generation did not shrink back.
 */
async function settleYoungGeneration(
  broker: BrokerProcess,
  sizeBefore: number,
): Promise<number | undefined> {
  const start = performance.now();
  while (performance.now() - start < SETTLE_MAX_MS) {
    if ((await broker.youngGeneration()) <= sizeBefore) return performance.now() - start;
    await sleep(1000);
  }
  return undefined;
}

/**
 * The connection storm: opens `count` connections as fast as the broker accepts them (at most
 * `stormInFlight` waiting for their CONNACK at a time) and leaves them idle and open. Measures
 * connects/s, CONNECT-to-CONNACK latency, the broker's CPU time per connect (over the storm) and
 * its VmRSS per idle connection, idle before and idle after: a Node broker is read before once V8
 * trimmed what its start-up grew, and after once the young generation the storm's garbage grew
 * is back to its size before (memory no connection holds), each time after a full collection;
 * Mosquitto, with no collector, 1 s after the storm.
 */
export async function runStorm(
  broker: BrokerProcess,
  settings: ScenarioSettings,
  count: number,
): Promise<RunResult> {
  // A few connections first, so that what a broker builds once, on its first clients (mqtt-packet
  // fills a 65,536-entry number cache on first use, code gets compiled), is not counted per
  // connection.
  resetAll(await connectMany({ port: broker.port, count: 100, prefix: 'w' }));
  await sleep(500);
  if (broker.gcHook) {
    // V8's memory reducer trims the heap that start-up grew some 8 to 10 s in (see `runIdle`).
    await sleep(Math.max(0, broker.listeningSince + IDLE_SETTLE_MS - performance.now()));
  }
  const before = await broker.memoryAfterGc();
  // Heap snapshots are for diagnosis: taking one inflates the RSS figures that follow.
  const snapshot = async (tag: string) => {
    if (settings.heapSnapshotDir === undefined) return;
    if (!broker.gcHook) console.log(`  no heap snapshot of ${broker.name}: not a Node broker`);
    else
      console.log(`  heap snapshot: ${await broker.heapSnapshot(settings.heapSnapshotDir, tag)}`);
  };
  await snapshot('before');
  const rss = new RssSampler(broker, 50);
  const times = new Float64Array(count);
  let n = 0;
  const overflows0 = listenOverflows();
  const meter = new CpuMeter(broker);
  const t0 = performance.now();
  const clients = await connectMany({
    port: broker.port,
    count,
    prefix: 'c',
    inFlight: settings.stormInFlight,
    onConnectTime: (ms) => {
      times[n++] = ms;
    },
  });
  const t1 = performance.now();
  const cpu = meter.stop();
  const overflows = listenOverflows() - overflows0;
  await sleep(1000);
  const rawAfter = broker.rss();
  const alive = clients.filter((c) => !c.closed).length;
  const youngBefore = before.v8?.youngGeneration;
  const settledMs =
    youngBefore === undefined ? undefined : await settleYoungGeneration(broker, youngBefore);
  const after = await broker.memoryAfterGc();
  await snapshot('after');
  const peakRss = rss.stop();
  const aliveAtEnd = clients.filter((c) => !c.closed).length;
  resetAll(clients);
  const ms = t1 - t0;
  const { p50, p99 } = percentiles(times, n);
  const kib = (bytes: number) => `${(bytes / 1024).toFixed(2)} KiB`;
  const sources = sourceAddress(0, count) === undefined ? '' : ' (from several 127.0.0.x)';
  const cpuMsPerConnection = cpu.brokerMs / count;
  const bytesPerConnection = (after.vmRss - before.vmRss) / count;
  const rawBytesPerConnection = (rawAfter - before.vmRss) / count;
  const settled =
    youngBefore === undefined
      ? ''
      : settledMs === undefined
        ? `, young generation not back to its size after ${SETTLE_MAX_MS / 1000} s more`
        : `, settled ${(settledMs / 1000).toFixed(0)} s later`;
  // Mosquitto has no V8 heap, and no collector: its RSS is read as it is.
  const v8 =
    before.v8 === undefined || after.v8 === undefined
      ? undefined
      : {
          heapPerConnection: (after.v8.heapUsed - before.v8.heapUsed) / count,
          externalPerConnection: (after.v8.external - before.v8.external) / count,
        };
  return {
    value: (count * 1000) / ms,
    p50,
    p99,
    peakRss,
    cpu,
    complete: alive === count && aliveAtEnd === count,
    note:
      `${count} connected${sources} in ${ms.toFixed(0)} ms, ${alive} still open after 1 s` +
      `${settled}, ${aliveAtEnd} at the end; ${overflows} listen-queue overflows; ` +
      `broker CPU ${cpuMsPerConnection.toFixed(3)} ms per connect; per connection: ` +
      (v8 === undefined
        ? `${kib(bytesPerConnection)} RSS 1 s after the storm (no collector to run)`
        : `${kib(bytesPerConnection)} RSS settled, after GC (${kib(rawBytesPerConnection)} ` +
          `1 s after the storm, before GC), ${kib(v8.heapPerConnection)} V8 heap, ` +
          `${kib(v8.externalPerConnection)} external`),
    extra: {
      bytesPerConnection,
      rawBytesPerConnection,
      cpuMsPerConnection,
      listenOverflows: overflows,
      ...v8,
      rssBefore: before.vmRss,
      rssAfter: after.vmRss,
    },
  };
}

/**
 * How long after its listeners are up a broker's idle memory is read: V8's memory reducer trims
 * the heap that start-up grew about 8 to 10 s in (ours: 72 MiB at 2 s, 63 MiB at 10 s).
 */
export const IDLE_SETTLE_MS = 12_000;

/**
 * A broker's VmRSS `IDLE_SETTLE_MS` after all its listeners were up, with no client and without
 * running its collector: what it costs to have it running.
 */
export async function runIdle(broker: BrokerProcess): Promise<RunResult> {
  const meter = new CpuMeter(broker);
  await sleep(Math.max(0, broker.listeningSince + IDLE_SETTLE_MS - performance.now()));
  const rss = broker.rss();
  const cpu = meter.stop();
  return {
    value: rss,
    p50: undefined,
    p99: undefined,
    peakRss: rss,
    cpu,
    complete: true,
    note: `VmRSS ${IDLE_SETTLE_MS / 1000} s after it listened; broker CPU ${cpu.brokerMs.toFixed(0)} ms meanwhile`,
  };
}

/**
 * Stores `retainedMessages` retained messages (QoS 1, so each is acknowledged once stored), then
 * times a fresh client from SUBSCRIBE `#` (QoS 0) to the last retained PUBLISH.
 */
export async function runRetained(
  broker: BrokerProcess,
  settings: ScenarioSettings,
): Promise<RunResult> {
  const total = settings.retainedMessages;
  const rss = new RssSampler(broker, 50);
  // Encode every message before any timing: each has its own topic.
  const packets: Buffer[] = new Array(total);
  for (let i = 0; i < total; i++) {
    const template = new PublishTemplate(`r/${i % 100}/${i}`, 1, true, 8);
    const packet = template.bytes;
    packet.writeUInt16BE((i % 65535) + 1, template.messageIdOffset);
    packet.writeUInt32LE(i, template.payloadOffset);
    packets[i] = packet;
  }
  const [publisher] = await connectMany({ port: broker.port, count: 1, prefix: 'rp' });
  const pub = publisher as BenchClient;
  const storeWindow = 2000;
  let sent = 0;
  let acked = 0;
  const storeStart = performance.now();
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('retained store timed out')), 120_000);
    const fill = () => {
      const upTo = Math.min(total, acked + storeWindow);
      if (upTo - sent < storeWindow / 4 && upTo < total) return;
      if (upTo > sent) {
        pub.write(Buffer.concat(packets.slice(sent, upTo)));
        sent = upTo;
      }
    };
    pub.onPuback = () => {
      acked++;
      if (acked === total) {
        clearTimeout(timer);
        resolve();
      } else fill();
    };
    fill();
  });
  const storeMs = performance.now() - storeStart;

  let received = 0;
  let retainedFlags = 0;
  let t1 = 0;
  let finish: () => void = () => {};
  const allIn = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const sink: PublishSink = {
    onPublish(_client, _payload, _offset, _end, retain, now) {
      received++;
      if (retain) retainedFlags++;
      if (received === total) {
        t1 = now;
        finish();
      }
    },
  };
  const [subscriber] = await connectMany({ port: broker.port, count: 1, prefix: 'rs', sink });
  const sub = subscriber as BenchClient;
  const meter = new CpuMeter(broker);
  const t0 = performance.now();
  const granted = sub.subscribe('#', 0);
  const timeout = sleep(60_000);
  await Promise.race([allIn, timeout]);
  const ms = (t1 === 0 ? performance.now() : t1) - t0;
  const cpu = meter.stop();
  await granted;
  await sleep(200); // anything beyond `total` would be a duplicate
  const peakRss = rss.stop();
  destroyAll([pub, sub]);
  return {
    value: ms,
    p50: undefined,
    p99: undefined,
    peakRss,
    cpu,
    complete: received === total && retainedFlags === total,
    note: `stored ${total} in ${storeMs.toFixed(0)} ms; ${received} delivered (${retainedFlags} with RETAIN)`,
    extra: { storeMs },
  };
}
