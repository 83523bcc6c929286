/**
 * `pnpm bench`: messages per second through a pool, in process. Clients are pool connections on
 * transports that count bytes (no sockets); publishers send real MQTT 5 PUBLISH bytes, and QoS 1
 * subscribers answer every PUBLISH with real PUBACK bytes, fed back in one chunk per subscriber
 * after each batch, as a TCP read would bring them.
 *
 *   node --conditions=@mqtt-sessions/source --import tsx bench/fan-out.ts [--quick] [--rounds 5] [--fan 1000] [--only 1-n|n-1]
 *
 * Scenarios: 1 -> N (one publisher, N subscribers of one topic) and N -> 1 (N publishers, one
 * subscriber of `#`), at QoS 0 and QoS 1. The rate counts deliveries: PUBLISH packets the pool
 * wrote to subscribers. The `@mqtt-sessions/source` condition makes the sibling packages load
 * from their `src/`, so the bench measures the working tree, not a stale `dist/`.
 */
import { parseArgs } from 'node:util';
import { generate } from 'mqtt-packet';
import { describeMachine } from '../../../tooling/bench/machine.ts';
import { formatRate, formatTable, summarize } from '../../../tooling/bench/stats.ts';
import { type Candidate, timeRounds } from '../../../tooling/bench/timing.ts';
import { type Connection, createPool, type Pool } from '../src/index.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    fan: { type: 'string' },
    only: { type: 'string' },
  },
});
const quick = values.quick === true;
const rounds = Number(values.rounds ?? (quick ? 2 : 5));
const fan = Number(values.fan ?? 1000);
/** Deliveries per call of a candidate's `run` (timeRounds calls it once per slice of a round). */
const deliveriesPerRun = quick ? 5_000 : 10_000;
const PAYLOAD = Buffer.alloc(64, 0x61);

/** A client of the pool: a connection on a transport that counts what it is sent. */
class BenchClient {
  readonly connection: Connection;
  bytesIn = 0;
  publishes = 0;
  /** PUBACKs this client owes the pool, as wire bytes. */
  private acks: number[] = [];
  private readonly ackQoS1: boolean;

  constructor(pool: Pool, clientId: string, ackQoS1: boolean) {
    this.ackQoS1 = ackQoS1;
    this.connection = pool.connect({
      send: (bytes) => {
        this.bytesIn += bytes.length;
        this.read(bytes);
        return true;
      },
      close: () => {},
    });
    this.connection.receive(
      generate(
        {
          cmd: 'connect',
          protocolId: 'MQTT',
          protocolVersion: 5,
          clientId,
          clean: true,
          keepalive: 0,
        },
        { protocolVersion: 5 },
      ),
    );
  }

  subscribe(filter: string, qos: 0 | 1): void {
    this.connection.receive(
      generate(
        { cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: filter, qos }] },
        { protocolVersion: 5 },
      ),
    );
  }

  /** Sends the PUBACKs owed so far, in one chunk. */
  flushAcks(): void {
    if (this.acks.length === 0) return;
    const chunk = Buffer.from(this.acks);
    this.acks = [];
    this.connection.receive(chunk);
  }

  /** Each write of the pool is one packet: count PUBLISHes and note the PUBACKs to send. */
  private read(bytes: Buffer): void {
    const first = bytes[0] as number;
    if (first >> 4 !== 3) return;
    this.publishes++;
    if (!this.ackQoS1 || ((first >> 1) & 3) === 0) return;
    let offset = 1;
    while (((bytes[offset++] as number) & 0x80) !== 0);
    const topicLength = ((bytes[offset] as number) << 8) | (bytes[offset + 1] as number);
    offset += 2 + topicLength;
    this.acks.push(0x40, 0x02, bytes[offset] as number, bytes[offset + 1] as number);
  }
}

function publishBytes(topic: string, qos: 0 | 1): Buffer {
  return generate(
    {
      cmd: 'publish',
      topic,
      payload: PAYLOAD,
      qos,
      retain: false,
      dup: false,
      ...(qos === 1 ? { messageId: 1 } : {}),
    },
    { protocolVersion: 5 },
  );
}

function newPool(): Pool {
  // No rate limit: the bench measures the message path, not the limiter.
  return createPool({ session: { incomingRate: 1e12, incomingBurst: 0 } });
}

interface Scenario extends Candidate {
  readonly subscribers: BenchClient[];
  readonly publishers: BenchClient[];
}

/** One publisher, `fan` subscribers of the same topic. */
function oneToMany(qos: 0 | 1): Scenario {
  const pool = newPool();
  const subscribers = Array.from({ length: fan }, (_, i) => {
    const client = new BenchClient(pool, `sub-${i}`, true);
    client.subscribe('bench/fan', qos);
    return client;
  });
  const publisher = new BenchClient(pool, 'pub', false);
  const bytes = publishBytes('bench/fan', qos);
  const publishesPerRun = Math.max(1, Math.round(deliveriesPerRun / fan));
  return {
    name: `1 -> ${fan}, QoS ${qos}`,
    subscribers,
    publishers: [publisher],
    run() {
      const before = count(subscribers);
      for (let i = 0; i < publishesPerRun; i++) {
        publisher.connection.receive(bytes);
        if (qos === 1) for (const subscriber of subscribers) subscriber.flushAcks();
      }
      return count(subscribers) - before;
    },
  };
}

/** `fan` publishers, one subscriber of `#`. */
function manyToOne(qos: 0 | 1): Scenario {
  const pool = newPool();
  const subscriber = new BenchClient(pool, 'sub', true);
  subscriber.subscribe('bench/#', qos);
  const publishers = Array.from(
    { length: fan },
    (_, i) => new BenchClient(pool, `pub-${i}`, false),
  );
  const packets = publishers.map((_, i) => publishBytes(`bench/${i}`, qos));
  const roundsPerRun = Math.max(1, Math.round(deliveriesPerRun / fan));
  return {
    name: `${fan} -> 1, QoS ${qos}`,
    subscribers: [subscriber],
    publishers,
    run() {
      const before = subscriber.publishes;
      for (let r = 0; r < roundsPerRun; r++) {
        // A batch of 100 publishes, then the subscriber's PUBACKs in one chunk: its window of
        // 500 unacknowledged messages is never full, so nothing queues.
        for (let p = 0; p < publishers.length; p++) {
          (publishers[p] as BenchClient).connection.receive(packets[p] as Buffer);
          if (qos === 1 && p % 100 === 99) subscriber.flushAcks();
        }
        subscriber.flushAcks();
      }
      return subscriber.publishes - before;
    },
  };
}

function count(clients: BenchClient[]): number {
  let total = 0;
  for (const client of clients) total += client.publishes;
  return total;
}

const scenarios = [
  ...(values.only === 'n-1' ? [] : [oneToMany(0), oneToMany(1)]),
  ...(values.only === '1-n' ? [] : [manyToOne(0), manyToOne(1)]),
];
const results = timeRounds(scenarios, { warmup: 1, rounds });

const rows = scenarios.map((scenario) => {
  const rates = summarize(results.get(scenario.name) ?? []);
  const delivered = count(scenario.subscribers);
  const bytesPerDelivery =
    scenario.subscribers.reduce((sum, client) => sum + client.bytesIn, 0) / delivered;
  const publishRate = scenario.publishers.length === 1 ? rates.median / fan : rates.median;
  return [
    scenario.name,
    formatRate(rates.median),
    formatRate(publishRate),
    `±${(rates.spread * 50).toFixed(1)} %`,
    `${bytesPerDelivery.toFixed(0)} B`,
  ];
});

console.log(`Machine: ${describeMachine()}`);
console.log(
  `In-process pool, MQTT 5 clients, ${PAYLOAD.length}-byte payload; median of ${rounds} rounds.\n`,
);
console.log(
  formatTable(
    ['scenario', 'deliveries/s', 'publishes/s', 'spread', 'bytes out per delivery'],
    rows,
    ['left', 'right', 'right', 'right', 'right'],
  ),
);
