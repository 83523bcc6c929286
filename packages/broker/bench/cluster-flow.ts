/**
 * The cross-node scenario of `pnpm bench:cluster`: publishers connected to node A, each on a topic
 * of its own, and as many subscribers connected to node B, one per topic, so that every message
 * crosses from one broker process to the other through Redis. It runs on bench/client.ts, the
 * load generator of `pnpm bench:broker`, and measures in one go:
 *
 * - Redis commands per second with both nodes idle, per connect and per subscription;
 * - throughput, in a closed loop like bench/scenarios.ts: each publisher keeps at most `window`
 *   messages in flight (sent, not yet both delivered and acknowledged with PUBACK); then one
 *   publisher alone, with `singleWindow` in flight;
 * - latency at a fixed rate (an open loop: messages are sent on a clock, whatever arrives);
 * - Redis commands per delivered message and CPU time per message in both loops.
 *
 * Every payload carries (publisher, sequence, send time), so a gap in a subscriber's sequence is a
 * lost message, a repeat a duplicate, and the send time gives the latency.
 */
import { performance } from 'node:perf_hooks';
import {
  type BenchClient,
  connectMany,
  destroyAll,
  type PublishSink,
  PublishTemplate,
  readPublisher,
  readSequence,
  readTime,
} from './client.ts';
import {
  type ClusterCpu,
  ClusterCpuMeter,
  commandCounts,
  commandsBetween,
  type NodeGroup,
  type RedisServer,
  sleep,
  total,
} from './cluster-nodes.ts';

export interface CrossNodeOptions {
  /** Node A, where the publishers connect, and node B, where the subscribers connect. */
  readonly nodes: readonly [NodeGroup, NodeGroup];
  readonly ports: readonly [number, number];
  readonly redis: RedisServer;
  /** Publisher-subscriber pairs, each on a topic of its own. */
  readonly pairs: number;
  /** Messages in flight per publisher in the closed loop. */
  readonly window: number;
  /** Messages in flight in the closed loop of one publisher alone. */
  readonly singleWindow: number;
  readonly warmupMs: number;
  readonly measureMs: number;
  /** Messages per second of the open loop, over all publishers. */
  readonly latencyRate: number;
  readonly latencyWarmupMs: number;
  readonly latencyMs: number;
}

/** One loop's figures. */
export interface LoopResult {
  /** Deliveries per second over the measured interval. */
  readonly rate: number;
  readonly p50: number;
  readonly p99: number;
  readonly cpu: ClusterCpu;
  /** Redis commands over the measured interval, per delivered message, by command. */
  readonly commands: Map<string, number>;
  readonly commandsPerMessage: number;
  readonly delivered: number;
}

export interface CrossNodeResult {
  readonly throughput: LoopResult;
  /** The closed loop of one pair alone. */
  readonly single: LoopResult;
  readonly fixedRate: LoopResult;
  /** Redis commands per second with both nodes up and no client. */
  readonly idleCommandsPerSecond: number;
  /** Redis commands per connect and per subscription (less the idle rate). */
  readonly commandsPerConnect: number;
  readonly commandsPerSubscription: number;
  readonly connectCommands: Map<string, number>;
  readonly subscribeCommands: Map<string, number>;
  /** Every message delivered once, in order, and acknowledged. */
  readonly complete: boolean;
  readonly note: string;
}

interface Pair {
  readonly index: number;
  readonly publisher: BenchClient;
  readonly template: PublishTemplate;
  /** Messages sent; also the sequence number of the next one. */
  sent: number;
  /** Delivered in order, and written off (stalled) or skipped (a gap in the sequence). */
  received: number;
  lost: number;
  /** The next sequence number the subscriber expects. */
  expected: number;
  duplicates: number;
  lastProgress: number;
  blocked: boolean;
  dirty: boolean;
}

const LATENCY_CAPACITY = 2_000_000;

/** p50 and p99 of the first `count` samples (sorted in place). */
function percentiles(samples: Float64Array, count: number): { p50: number; p99: number } {
  if (count === 0) return { p50: Number.NaN, p99: Number.NaN };
  const sorted = samples.subarray(0, count).sort();
  const at = (q: number) => sorted[Math.min(count - 1, Math.floor(q * (count - 1)))] as number;
  return { p50: at(0.5), p99: at(0.99) };
}

/** Runs the cross-node scenario once, against two nodes already up. */
export async function runCrossNode(options: CrossNodeOptions): Promise<CrossNodeResult> {
  const { pairs: count, window, redis } = options;
  const [portA, portB] = options.ports;
  const pairs: Pair[] = [];
  const latencies = new Float64Array(LATENCY_CAPACITY);
  let latencyCount = 0;
  /** Deliveries recorded from now on: in the closed loop, by arrival; open loop, by send time. */
  let recordFrom = Number.POSITIVE_INFINITY;
  let recordUntil = Number.POSITIVE_INFINITY;
  let recordBySendTime = false;
  let totalReceived = 0;
  let closedLoop = false;
  /** Messages in flight per publisher in the closed loop now. */
  let activeWindow = window;
  const notes: string[] = [];
  /** Pairs to top up at the end of this turn (see `markDirty`). */
  const dirty: Pair[] = [];
  let pumpScheduled = false;
  const pumpDirty = (): void => {
    pumpScheduled = false;
    for (const pair of dirty) {
      pair.dirty = false;
      pump(pair);
    }
    dirty.length = 0;
  };

  // 1. Idle: what the two nodes cost Redis with no client (leases, blocking reads).
  const idle0 = commandCounts(redis.url);
  const idleT0 = performance.now();
  await sleep(1000);
  const idle = commandsBetween(idle0, commandCounts(redis.url));
  const idlePerMs = total(idle) / (performance.now() - idleT0);
  /** Commands between two readings, less what the idle nodes would have sent meanwhile. */
  const busyCommands = (counts: Map<string, number>, ms: number) =>
    Math.max(0, total(counts) - idlePerMs * ms);

  const sink: PublishSink = {
    onPublish(_client, payload, offset, _end, _retain, now) {
      const pair = pairs[readPublisher(payload, offset)] as Pair;
      const sequence = readSequence(payload, offset);
      if (sequence === pair.expected) {
        pair.expected++;
        pair.received++;
      } else if (sequence > pair.expected) {
        // A gap: the messages in between were lost.
        pair.lost += sequence - pair.expected;
        pair.received++;
        pair.expected = sequence + 1;
      } else {
        // Delivered before, or written off after a stall and late: not counted again.
        pair.duplicates++;
        return;
      }
      totalReceived++;
      pair.lastProgress = now;
      const sentAt = readTime(payload, offset);
      const t = recordBySendTime ? sentAt : now;
      if (t >= recordFrom && t < recordUntil && latencyCount < LATENCY_CAPACITY) {
        latencies[latencyCount++] = now - sentAt;
      }
      if (closedLoop) markDirty(pair);
    },
  };

  // 2. Connect: subscribers to B, publishers to A.
  const connect0 = commandCounts(redis.url);
  const connectT0 = performance.now();
  const subscribers = await connectMany({ port: portB, count, prefix: 's', sink });
  const publishers = await connectMany({ port: portA, count, prefix: 'p' });
  await sleep(200);
  const connectCommands = commandsBetween(connect0, commandCounts(redis.url));
  const commandsPerConnect =
    busyCommands(connectCommands, performance.now() - connectT0) / (2 * count);
  publishers.forEach((client, index) => {
    const pair: Pair = {
      index,
      publisher: client,
      template: new PublishTemplate(`x/${index}`, 1),
      sent: 0,
      received: 0,
      lost: 0,
      expected: 0,
      duplicates: 0,
      lastProgress: 0,
      blocked: false,
      dirty: false,
    };
    client.onDrain = () => {
      pair.blocked = false;
      if (closedLoop) pump(pair);
    };
    client.onPuback = () => {
      if (closedLoop) markDirty(pair);
    };
    pairs.push(pair);
  });

  try {
    // 3. Subscribe, then give the route changes a moment to reach node A.
    const subscribe0 = commandCounts(redis.url);
    const subscribeT0 = performance.now();
    const granted = await Promise.all(
      subscribers.map((client, i) => client.subscribe(`x/${i}`, 1)),
    );
    if (granted.some((codes) => codes[0] !== 1)) throw new Error('subscription refused');
    await sleep(300);
    const subscribeCommands = commandsBetween(subscribe0, commandCounts(redis.url));
    const commandsPerSubscription =
      busyCommands(subscribeCommands, performance.now() - subscribeT0) / count;

    // 4. One message per pair, to see that every route is in place before anything is timed.
    const probeT0 = performance.now();
    for (const pair of pairs) send(pair, 1, probeT0);
    const probed = await waitFor(() => pairs.every((p) => p.received + p.lost >= 1), 5000);
    notes.push(
      probed
        ? `probe: all ${count} arrived in ${(performance.now() - probeT0).toFixed(0)} ms`
        : `probe: ${pairs.filter((p) => p.received === 0).length} of ${count} not delivered in 5 s`,
    );

    // 5. The closed loop, every pair; then one pair alone, with a larger window.
    const throughput = await closedLoopOf(pairs, window, options.warmupMs);
    const drained1 = await drain();
    notes.push(
      `closed loop: ${describeCounts()}${drained1 ? '' : ' (not drained in 5 s)'}, ` +
        `${throughput.delivered} delivered while measured`,
    );
    const single = await closedLoopOf(
      pairs.slice(0, 1),
      options.singleWindow,
      Math.min(500, options.warmupMs),
    );
    const drained2 = await drain();
    notes.push(
      `one publisher: ${describeCounts()}${drained2 ? '' : ' (not drained in 5 s)'}, ` +
        `${single.delivered} delivered while measured`,
    );

    // 6. The open loop at a fixed rate.
    const fixedRate = await loop(async () => {
      const start = performance.now();
      let sentInLoop = 0;
      let next = 0;
      const tick = setInterval(() => {
        const now = performance.now();
        const due = Math.floor(((now - start) * options.latencyRate) / 1000);
        for (; sentInLoop < due; sentInLoop++) {
          send(pairs[next] as Pair, 1, now);
          next = (next + 1) % count;
        }
      }, 5);
      await sleep(options.latencyWarmupMs);
      return async () => {
        await sleep(options.latencyMs);
        return () => clearInterval(tick);
      };
    }, true);
    const drained3 = await drain();
    notes.push(
      `all: ${describeCounts()}${drained3 ? '' : ' (not drained in 5 s)'}, ` +
        `fixed rate ${fixedRate.rate.toFixed(0)}/s delivered`,
    );

    const sent = pairs.reduce((sum, p) => sum + p.sent, 0);
    const lost = pairs.reduce((sum, p) => sum + p.lost, 0);
    const duplicates = pairs.reduce((sum, p) => sum + p.duplicates, 0);
    const pubacks = publishers.reduce((sum, c) => sum + c.pubacksIn, 0);
    return {
      throughput,
      single,
      fixedRate,
      idleCommandsPerSecond: idlePerMs * 1000,
      commandsPerConnect,
      commandsPerSubscription,
      connectCommands,
      subscribeCommands,
      complete:
        probed && totalReceived === sent && lost === 0 && duplicates === 0 && pubacks === sent,
      note: notes.join('; '),
    };
  } finally {
    closedLoop = false;
    destroyAll(publishers);
    destroyAll(subscribers);
  }

  /** A closed loop of `active` pairs, each with `size` messages in flight. */
  function closedLoopOf(
    active: readonly Pair[],
    size: number,
    warmup: number,
  ): Promise<LoopResult> {
    return loop(async () => {
      closedLoop = true;
      activeWindow = size;
      const now = performance.now();
      for (const pair of active) {
        pair.lastProgress = now;
        pump(pair);
      }
      const watchdog = setInterval(writeOffStalled, 200);
      await sleep(warmup);
      return async () => {
        await sleep(options.measureMs);
        return () => {
          closedLoop = false;
          clearInterval(watchdog);
        };
      };
    }, false);
  }

  /**
   * Runs a loop: `start` starts it and resolves after the warm-up with `measure`, which resolves
   * after the measured interval with `stop`. Counts Redis commands, CPU and deliveries over the
   * measured interval.
   */
  async function loop(
    start: () => Promise<() => Promise<() => void>>,
    bySendTime: boolean,
  ): Promise<LoopResult> {
    const measure = await start();
    latencyCount = 0;
    recordBySendTime = bySendTime;
    const commands0 = commandCounts(redis.url);
    const meter = new ClusterCpuMeter(options.nodes, redis);
    const received0 = totalReceived;
    const t0 = performance.now();
    recordFrom = t0;
    const stop = await measure();
    const t1 = performance.now();
    const received1 = totalReceived;
    const cpu = meter.stop();
    const commands = commandsBetween(commands0, commandCounts(redis.url));
    stop();
    if (bySendTime) {
      // Messages sent in the interval that are still on their way count when they arrive.
      recordUntil = t1;
      await drain();
    }
    recordFrom = Number.POSITIVE_INFINITY;
    recordUntil = Number.POSITIVE_INFINITY;
    const delivered = received1 - received0;
    const { p50, p99 } = percentiles(latencies, latencyCount);
    const perMessage = new Map<string, number>();
    for (const [name, n] of commands) perMessage.set(name, n / Math.max(1, delivered));
    return {
      rate: (delivered * 1000) / (t1 - t0),
      p50,
      p99,
      cpu,
      commands: perMessage,
      commandsPerMessage: total(commands) / Math.max(1, delivered),
      delivered,
    };
  }

  /** Sends `n` messages of a pair in one write, stamped with `now`. */
  function send(pair: Pair, n: number, now: number): void {
    const template = pair.template;
    const out = Buffer.allocUnsafe(n * template.length);
    let at = 0;
    for (let k = 0; k < n; k++) {
      const sequence = pair.sent++;
      at = template.fill(out, at, (sequence % 65535) + 1, pair.index, sequence, now);
    }
    if (!pair.publisher.write(out)) pair.blocked = true;
  }

  /** Tops a pair up to its window: messages not yet delivered, or not yet acknowledged. */
  function pump(pair: Pair): void {
    if (!closedLoop || pair.blocked || pair.publisher.closed) return;
    const undelivered = pair.sent - pair.received - pair.lost;
    const unacked = pair.sent - pair.publisher.pubacksIn;
    const allowed = activeWindow - Math.max(undelivered, unacked);
    if (allowed < Math.max(1, Math.floor(activeWindow / 4))) return;
    const now = performance.now();
    if (undelivered <= 0) pair.lastProgress = now;
    send(pair, allowed, now);
  }

  /** Pairs to top up after this turn's deliveries and PUBACKs, one write each. */
  function markDirty(pair: Pair): void {
    if (pair.dirty) return;
    pair.dirty = true;
    dirty.push(pair);
    if (!pumpScheduled) {
      pumpScheduled = true;
      setImmediate(pumpDirty);
    }
  }

  /** A pair whose messages stopped arriving for 2 s: what is in flight is written off as lost. */
  function writeOffStalled(): void {
    const now = performance.now();
    for (const pair of pairs) {
      const undelivered = pair.sent - pair.received - pair.lost;
      if (undelivered <= 0 || now - pair.lastProgress < 2000) continue;
      pair.lost += undelivered;
      pair.expected = pair.sent;
      pair.lastProgress = now;
      pump(pair);
    }
  }

  /** Waits (up to 5 s) until every message sent has arrived and been acknowledged. */
  function drain(): Promise<boolean> {
    return waitFor(
      () => pairs.every((p) => p.received + p.lost >= p.sent && p.publisher.pubacksIn >= p.sent),
      5000,
    );
  }

  function describeCounts(): string {
    const sent = pairs.reduce((sum, p) => sum + p.sent, 0);
    const lost = pairs.reduce((sum, p) => sum + p.lost, 0);
    const duplicates = pairs.reduce((sum, p) => sum + p.duplicates, 0);
    const pubacks = publishers.reduce((sum, c) => sum + c.pubacksIn, 0);
    return (
      `sent ${sent}, received ${totalReceived}, PUBACKs ${pubacks}` +
      (lost > 0 ? `, ${lost} LOST` : '') +
      (duplicates > 0 ? `, ${duplicates} DUPLICATES` : '')
    );
  }
}

/** Polls `done` every 20 ms; resolves true once it holds, false after `ms`. */
async function waitFor(done: () => boolean, ms: number): Promise<boolean> {
  const until = performance.now() + ms;
  while (!done()) {
    if (performance.now() > until) return false;
    await sleep(20);
  }
  return true;
}
