/**
 * The load generator's MQTT 3.1.1 client: a raw `net` socket, packets pre-encoded once with
 * mqtt-packet's `generate` and copied into one buffer per write, replies read by a frame reader.
 *
 * The packets that arrive by the hundred thousand per second (PUBLISH and PUBACK, and CONNACK in
 * the connection storm) are decoded inline from the frame; everything else (SUBACK, ...) goes
 * through mqtt-packet's `parser`, created on first use. mqtt-packet's parser decodes about 0.45 M
 * small PUBLISH/s per core here, and each instance is a stream of its own, which would make the
 * client, not the broker, the bottleneck on a 2-core machine; `--parser mqtt-packet` switches the
 * inline path off to show the difference.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { generate, type Packet, type Parser, parser } from 'mqtt-packet';

/** Where brokers under test listen. */
export const HOST = '127.0.0.1';

/** Bytes of the payload every benchmark message carries: publisher, sequence, send time. */
export const PAYLOAD_BYTES = 16;

/** How the client reads replies. */
export type ParserMode = 'inline' | 'mqtt-packet';

let parserMode: ParserMode = 'inline';

/** Chooses how every client created afterwards reads replies. */
export function setParserMode(mode: ParserMode): void {
  parserMode = mode;
}

/** What a client is told about incoming PUBLISH packets. */
export interface PublishSink {
  /**
   * One PUBLISH: `payload[offset..end)` is its payload, `now` the arrival time (one clock read per
   * socket read).
   */
  onPublish(
    client: BenchClient,
    payload: Buffer,
    offset: number,
    end: number,
    retain: boolean,
    now: number,
  ): void;
}

const PUBACK_TEMPLATE = generate({ cmd: 'puback', messageId: 1 });
const PINGREQ = generate({ cmd: 'pingreq' });

/** Options of a client. */
export interface ClientOptions {
  readonly port: number;
  readonly clientId: string;
  readonly keepalive?: number;
  /** Clean Session; false (0) makes the session persist after the connection. Default true. */
  readonly clean?: boolean | undefined;
  /** Receives PUBLISH packets; without one they are counted only. */
  readonly sink?: PublishSink | undefined;
  /** The source address of the socket (a loopback address); default the system's choice. */
  readonly localAddress?: string | undefined;
}

/**
 * One MQTT 3.1.1 connection of the load generator. QoS 1 PUBLISH packets it receives are
 * acknowledged at once, with one write per socket read.
 */
export class BenchClient {
  readonly clientId: string;
  readonly socket: Socket;
  /** User data of the scenario (e.g. the index of the publisher this subscriber listens to). */
  tag = 0;
  publishesIn = 0;
  pubacksIn = 0;
  /** Set when the socket is closed or failed. */
  closed = false;
  error: Error | undefined = undefined;
  private readonly sink: PublishSink | undefined;
  private parserInstance: Parser | undefined = undefined;
  private pending: Buffer | undefined = undefined;
  private acks: number[] = [];
  private connackWaiter: ((code: number) => void) | undefined = undefined;
  private subackWaiters = new Map<number, (granted: number[]) => void>();
  private nextSubscribeId = 1;
  /** Called for every PUBACK with its packet identifier. */
  onPuback: ((messageId: number) => void) | undefined = undefined;
  /** Called when the socket drains after a write returned false. */
  onDrain: (() => void) | undefined = undefined;

  constructor(options: ClientOptions) {
    this.clientId = options.clientId;
    this.sink = options.sink;
    this.socket = netConnect({
      host: HOST,
      port: options.port,
      ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
    });
    this.socket.setNoDelay(true);
    const connect = generate({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clientId: options.clientId,
      clean: options.clean ?? true,
      keepalive: options.keepalive ?? 300,
    });
    this.socket.write(connect);
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('drain', () => this.onDrain?.());
    this.socket.on('error', (error: Error) => this.fail(error));
    this.socket.on('close', () => {
      this.closed = true;
      this.connackWaiter?.(-1);
    });
  }

  /** Resolves with the CONNACK return code (-1 when the socket closed first). */
  connected(): Promise<number> {
    return new Promise((resolve) => {
      this.connackWaiter = resolve;
    });
  }

  /** Subscribes and resolves with the granted QoS list of the SUBACK. */
  subscribe(filter: string, qos: 0 | 1): Promise<number[]> {
    const messageId = this.nextSubscribeId++;
    const done = new Promise<number[]>((resolve) => this.subackWaiters.set(messageId, resolve));
    this.socket.write(
      generate({ cmd: 'subscribe', messageId, subscriptions: [{ topic: filter, qos }] }),
    );
    return done;
  }

  /** Writes bytes; returns false when the socket buffer is full (wait for `onDrain`). */
  write(bytes: Buffer): boolean {
    return this.socket.write(bytes);
  }

  ping(): void {
    this.socket.write(PINGREQ);
  }

  destroy(): void {
    this.socket.destroy();
  }

  /**
   * Closes with a TCP RST instead of a FIN, so that the socket leaves no TIME_WAIT entry behind:
   * after a storm, tens of thousands of them would hold the loopback's ephemeral ports for a minute.
   */
  reset(): void {
    if (this.socket.destroyed) return;
    this.socket.resetAndDestroy();
  }

  /** mqtt-packet's parser, made on first use. */
  private get parser(): Parser {
    if (this.parserInstance === undefined) {
      const made = parser({ protocolVersion: 4 });
      made.on('packet', (packet: Packet) => this.onPacket(packet));
      made.on('error', (error: Error) => this.fail(error));
      this.parserInstance = made;
    }
    return this.parserInstance;
  }

  private fail(error: Error): void {
    this.error ??= error;
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    if (parserMode === 'mqtt-packet') {
      this.parser.parse(chunk);
      this.flushAcks();
      return;
    }
    let buf = chunk;
    if (this.pending !== undefined) {
      buf = Buffer.concat([this.pending, chunk]);
      this.pending = undefined;
    }
    const now = performance.now();
    const n = buf.length;
    let pos = 0;
    while (pos + 2 <= n) {
      // Remaining Length: up to four bytes of 7 bits, least significant first.
      let length = 0;
      let multiplier = 1;
      let i = pos + 1;
      let byte = 0;
      let complete = false;
      while (i < n && i < pos + 5) {
        byte = buf[i++] as number;
        length += (byte & 0x7f) * multiplier;
        multiplier *= 128;
        if ((byte & 0x80) === 0) {
          complete = true;
          break;
        }
      }
      if (!complete) break;
      const end = i + length;
      if (end > n) break;
      const first = buf[pos] as number;
      const type = first >> 4;
      if (type === 3) {
        const qos = (first >> 1) & 3;
        const topicLength = buf.readUInt16BE(i);
        let p = i + 2 + topicLength;
        if (qos > 0) {
          this.acks.push(buf.readUInt16BE(p));
          p += 2;
        }
        this.publishesIn++;
        this.sink?.onPublish(this, buf, p, end, (first & 1) === 1, now);
      } else if (type === 4) {
        this.pubacksIn++;
        this.onPuback?.(buf.readUInt16BE(i));
      } else if (type === 2 && length === 2) {
        // CONNACK of MQTT 3.1.1: acknowledge flags, return code.
        const waiter = this.connackWaiter;
        this.connackWaiter = undefined;
        waiter?.(buf[i + 1] as number);
      } else {
        this.parser.parse(buf.subarray(pos, end));
      }
      pos = end;
    }
    if (pos < n) this.pending = buf.subarray(pos);
    this.flushAcks();
  }

  private onPacket(packet: Packet): void {
    switch (packet.cmd) {
      case 'connack': {
        const waiter = this.connackWaiter;
        this.connackWaiter = undefined;
        waiter?.(packet.returnCode ?? 0);
        return;
      }
      case 'suback': {
        const id = packet.messageId ?? 0;
        const waiter = this.subackWaiters.get(id);
        this.subackWaiters.delete(id);
        waiter?.(packet.granted as number[]);
        return;
      }
      case 'publish': {
        // Only with --parser mqtt-packet: the inline reader handles PUBLISH otherwise.
        if ((packet.qos ?? 0) > 0) this.acks.push(packet.messageId ?? 0);
        this.publishesIn++;
        const payload =
          typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
        this.sink?.onPublish(this, payload, 0, payload.length, packet.retain, performance.now());
        return;
      }
      case 'puback':
        this.pubacksIn++;
        this.onPuback?.(packet.messageId ?? 0);
        return;
      default:
        return;
    }
  }

  /** Acknowledges the QoS 1 PUBLISH packets of the last read, in one write. */
  private flushAcks(): void {
    const acks = this.acks;
    if (acks.length === 0) return;
    const out = Buffer.allocUnsafe(acks.length * 4);
    for (let k = 0; k < acks.length; k++) {
      PUBACK_TEMPLATE.copy(out, k * 4);
      out.writeUInt16BE(acks[k] as number, k * 4 + 2);
    }
    this.acks = [];
    this.socket.write(out);
  }
}

/**
 * A PUBLISH encoded once by mqtt-packet; {@link PublishTemplate.fill} copies it into a batch
 * buffer and stamps the packet identifier and the payload fields in place.
 */
export class PublishTemplate {
  readonly bytes: Buffer;
  readonly length: number;
  readonly payloadOffset: number;
  readonly messageIdOffset: number;

  constructor(topic: string, qos: 0 | 1, retain = false, payloadBytes = PAYLOAD_BYTES) {
    this.bytes = generate({
      cmd: 'publish',
      topic,
      payload: Buffer.alloc(payloadBytes),
      qos,
      retain,
      dup: false,
      ...(qos > 0 ? { messageId: 1 } : {}),
    });
    this.length = this.bytes.length;
    this.payloadOffset = this.length - payloadBytes;
    this.messageIdOffset = qos > 0 ? this.payloadOffset - 2 : -1;
  }

  /**
   * Writes the packet at `at` in `out` with payload (publisher, sequence, time) and returns the
   * offset after it. `messageId` is ignored at QoS 0.
   */
  fill(
    out: Buffer,
    at: number,
    messageId: number,
    publisher: number,
    sequence: number,
    time: number,
  ): number {
    this.bytes.copy(out, at);
    if (this.messageIdOffset >= 0) out.writeUInt16BE(messageId, at + this.messageIdOffset);
    const p = at + this.payloadOffset;
    out.writeUInt32LE(publisher, p);
    out.writeUInt32LE(sequence, p + 4);
    out.writeDoubleLE(time, p + 8);
    return at + this.length;
  }
}

/** Reads the payload fields written by {@link PublishTemplate.fill}. */
export function readPublisher(payload: Buffer, offset: number): number {
  return payload.readUInt32LE(offset);
}
export function readSequence(payload: Buffer, offset: number): number {
  return payload.readUInt32LE(offset + 4);
}
export function readTime(payload: Buffer, offset: number): number {
  return payload.readDoubleLE(offset + 8);
}

/** Options of {@link connectMany}. */
export interface ConnectManyOptions {
  readonly port: number;
  readonly count: number;
  /** Client identifiers are `${prefix}${index}` (Aedes allows 23 characters). */
  readonly prefix: string;
  /** Connections in flight at once (sent CONNECT, no CONNACK yet). */
  readonly inFlight?: number;
  /** Clean Session of every client; default true. */
  readonly clean?: boolean | undefined;
  readonly sink?: PublishSink | undefined;
  /** Called with each CONNECT-to-CONNACK time in ms. */
  readonly onConnectTime?: (ms: number) => void;
}

/**
 * Client sockets per source address. Every socket from one address to the broker's port takes an
 * ephemeral port of that address, and the range has about 28,000 of them (32768-60999 in
 * /proc/sys/net/ipv4/ip_local_port_range); 20,000 leaves room for other sockets and stragglers.
 */
export const SOCKETS_PER_SOURCE_ADDRESS = 20_000;

/**
 * The source address of client `index` of `count`: none (the system's choice, 127.0.0.1) when
 * one address has enough ephemeral ports, else 127.0.0.1, 127.0.0.2, ... in turn (all of
 * 127.0.0.0/8 is the loopback on Linux).
 */
export function sourceAddress(index: number, count: number): string | undefined {
  const addresses = Math.ceil(count / SOCKETS_PER_SOURCE_ADDRESS);
  return addresses <= 1 ? undefined : `127.0.0.${1 + (index % addresses)}`;
}

/**
 * Opens `count` connections, at most `inFlight` of them waiting for their CONNACK at a time, and
 * resolves when every one is accepted. Rejects when one is refused or fails.
 */
export async function connectMany(options: ConnectManyOptions): Promise<BenchClient[]> {
  const clients: BenchClient[] = new Array(options.count);
  const inFlight = Math.min(options.inFlight ?? 200, options.count);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < options.count) {
      const index = next++;
      const started = performance.now();
      const client = new BenchClient({
        port: options.port,
        clientId: `${options.prefix}${index}`,
        clean: options.clean,
        sink: options.sink,
        localAddress: sourceAddress(index, options.count),
      });
      clients[index] = client;
      const code = await client.connected();
      if (code !== 0) {
        throw new Error(
          `connection ${index} refused (${code}): ${client.error?.message ?? 'closed'}`,
        );
      }
      options.onConnectTime?.(performance.now() - started);
    }
  };
  try {
    await Promise.all(Array.from({ length: inFlight }, worker));
  } catch (error) {
    for (const client of clients) client?.destroy();
    throw error;
  }
  return clients;
}

/** Closes every client. */
export function destroyAll(clients: readonly (BenchClient | undefined)[]): void {
  for (const client of clients) client?.destroy();
}

/** Closes every client with a TCP RST (see {@link BenchClient.reset}). */
export function resetAll(clients: readonly (BenchClient | undefined)[]): void {
  for (const client of clients) client?.reset();
}
