import type { Timers } from '@mqtt-sessions/protocol';
import type { Session } from '@mqtt-sessions/session';
import {
  generate,
  type IConnackPacket,
  type IConnectPacket,
  type IPublishPacket,
  type ISubscription,
  type Packet,
  parser,
} from 'mqtt-packet';
import {
  type Connection,
  type ConnectionOptions,
  createPool,
  type PoolOptions,
  type Transport,
} from '../src/index.js';

/** Timers driven by hand: `advance(ms)` runs every timer that falls due, in order. */
export class ManualTimers implements Timers {
  private time = 1_700_000_000_000;
  private nextId = 1;
  private readonly pending = new Map<number, { at: number; fn: () => void }>();

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.pending.set(id, { at: this.time + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }

  /** Moves time forward, firing due timers (including ones they set) in time order. */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      let dueId = -1;
      let dueAt = Number.POSITIVE_INFINITY;
      for (const [id, timer] of this.pending) {
        if (timer.at <= end && timer.at < dueAt) {
          dueAt = timer.at;
          dueId = id;
        }
      }
      if (dueId === -1) break;
      const timer = this.pending.get(dueId) as { at: number; fn: () => void };
      this.pending.delete(dueId);
      this.time = Math.max(this.time, timer.at);
      timer.fn();
    }
    this.time = end;
  }

  /** Timers waiting to fire. */
  get size(): number {
    return this.pending.size;
  }
}

/** Anything with a `connect(transport)` like a pool or a set of pools. */
export interface Connectable {
  connect(transport: Transport, options?: ConnectionOptions): Connection;
}

/**
 * A scripted MQTT client for tests: it encodes packets with mqtt-packet, feeds the bytes to a
 * pool connection, and decodes what the pool sends back.
 */
export class TestClient {
  readonly received: Packet[] = [];
  /** Every chunk the pool sent, as sent. */
  readonly bytes: Buffer[] = [];
  closed = false;
  /** Set to false to make the transport report a full buffer. */
  writable = true;
  /** True while the pool asked the transport to stop reading. */
  paused = false;
  readonly connection: Connection;
  readonly version: 4 | 5;
  private readonly decoder;

  constructor(target: Connectable, version: 4 | 5 = 5, options: ConnectionOptions = {}) {
    this.version = version;
    this.decoder = parser({ protocolVersion: version });
    this.decoder.on('packet', (packet: Packet) => this.received.push(packet));
    this.decoder.on('error', (error: Error) => {
      throw error;
    });
    const transport: Transport = {
      send: (bytes) => {
        if (this.closed) throw new Error('the pool wrote to a closed transport');
        this.bytes.push(bytes);
        this.decoder.parse(bytes);
        return this.writable;
      },
      close: () => {
        this.closed = true;
      },
      pause: () => {
        this.paused = true;
      },
      resume: () => {
        this.paused = false;
      },
    };
    this.connection = target.connect(transport, options);
  }

  /** Encodes and sends a packet. */
  send(packet: Packet): void {
    this.connection.receive(generate(packet, { protocolVersion: this.version }));
  }

  /** Sends raw bytes. */
  sendBytes(bytes: Buffer | number[]): void {
    this.connection.receive(Buffer.from(bytes));
  }

  /** Sends CONNECT (clean start, keep-alive 0 by default) and returns whatever came back first. */
  connect(overrides: Partial<IConnectPacket> = {}): IConnackPacket {
    const packet: IConnectPacket = {
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: this.version,
      clientId: 'test-client',
      clean: true,
      keepalive: 0,
      ...overrides,
    };
    this.send(packet);
    return this.next('connack');
  }

  /** Takes the next received packet; it must be of type `cmd` when given. */
  next<C extends Packet['cmd']>(cmd?: C): Extract<Packet, { cmd: C }> {
    const packet = this.received.shift();
    if (packet === undefined) throw new Error(`expected ${cmd ?? 'a packet'}, got nothing`);
    if (cmd !== undefined && packet.cmd !== cmd) {
      throw new Error(`expected ${cmd}, got ${JSON.stringify(packet)}`);
    }
    return packet as Extract<Packet, { cmd: C }>;
  }

  /** Takes every received packet. */
  drain(): Packet[] {
    return this.received.splice(0);
  }

  /** The client's side of the connection drops (no DISCONNECT). */
  drop(): void {
    this.closed = true;
    this.connection.end();
  }
}

/** Errors the pools of the running test reported; `test/setup.ts` fails a test that leaves any. */
const reported: unknown[] = [];

/** A pool's `onError` for tests: the error is kept for the test to see (see {@link takeErrors}). */
export function recordError(error: unknown): void {
  reported.push(error);
}

/** Takes the errors reported so far: a test that expects errors must take them. */
export function takeErrors(): unknown[] {
  return reported.splice(0);
}

/**
 * A pool on {@link ManualTimers} whose unexpected errors are collected: in `errors` for the test,
 * and for `test/setup.ts`, which fails the test unless it takes them (see {@link takeErrors}).
 */
export function testPool<UC = unknown>(options: PoolOptions<UC> = {}) {
  const timers = new ManualTimers();
  const errors: unknown[] = [];
  const pool = createPool<UC>({
    timers,
    onError: (error) => {
      errors.push(error);
      recordError(error);
    },
    ...options,
  });
  return { timers, pool, errors };
}

/** Lets pending promise callbacks and the next turns of reading run. */
export async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** A PUBLISH packet from a client. */
export function publishPacket(
  topic: string,
  payload: string | Buffer,
  qos: 0 | 1 | 2 = 0,
  extra: Partial<IPublishPacket> = {},
): IPublishPacket {
  return {
    cmd: 'publish',
    topic,
    payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
    qos,
    retain: false,
    dup: false,
    ...extra,
  };
}

/** Subscribes a test client and returns the SUBACK codes. */
export function subscribe(
  client: TestClient,
  topic: string,
  qos: 0 | 1 | 2 = 0,
  options: Omit<ISubscription, 'topic' | 'qos'> = {},
  messageId = 1,
): number[] {
  client.send({ cmd: 'subscribe', messageId, subscriptions: [{ topic, qos, ...options }] });
  return client.next('suback').granted as number[];
}

/** The session of a client id in a pool with a synchronous registry; throws when there is none. */
export function sessionOf<UC>(
  pool: {
    findSession(clientId: string): Session<UC> | undefined | Promise<Session<UC> | undefined>;
  },
  clientId: string,
): Session<UC> {
  const found = pool.findSession(clientId);
  if (found === undefined || found instanceof Promise) throw new Error(`no session ${clientId}`);
  return found;
}
