/**
 * Sockets and a small MQTT client (mqtt-packet underneath) for the abuse suite: the bystander,
 * the canary, the health check and the good login. The load generators write bytes of their own.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { generate, type Packet, parser as packetParser } from 'mqtt-packet';

/** The repository root: child processes run there, so that `--import tsx` resolves. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Every broker under test listens here; the clients connect from here unless told otherwise. */
export const HOST = '127.0.0.1';

export interface Credentials {
  readonly username: string;
  readonly password: string;
}

export interface OpenOptions {
  /** The address to connect from (any of 127.0.0.0/8 on Linux), to look like another host. */
  readonly localAddress?: string | undefined;
  /** Give up on the TCP handshake after this long. Default 10 s. */
  readonly timeoutMs?: number | undefined;
}

/** Opens a TCP connection to the broker; rejects on an error or after the timeout. */
export function openSocket(port: number, options: OpenOptions = {}): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({
      port,
      host: HOST,
      ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no TCP connection to port ${port} in ${options.timeoutMs ?? 10_000} ms`));
    }, options.timeoutMs ?? 10_000);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      socket.on('error', () => {});
      resolve(socket);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    });
  });
}

/** A packet's bytes, in MQTT 5 unless told otherwise. */
export function encode(packet: Packet, protocolVersion: 4 | 5 = 5): Buffer {
  return generate(packet, { protocolVersion });
}

/** A CONNECT: MQTT 5, clean start, no keep-alive (the suite's clients go quiet on purpose). */
export function connectPacket(
  clientId: string,
  credentials?: Credentials,
  extra: Record<string, unknown> = {},
): Packet {
  return {
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 5,
    clientId,
    clean: true,
    keepalive: 0,
    ...(credentials === undefined
      ? {}
      : { username: credentials.username, password: Buffer.from(credentials.password) }),
    ...extra,
  } as Packet;
}

export interface ConnectOptions extends OpenOptions {
  readonly clientId: string;
  readonly credentials?: Credentials | undefined;
}

/** An MQTT 5 client on one socket that decodes what the broker sends. */
export class MqttClient {
  readonly socket: Socket;
  /** Resolves when the connection ends, whichever side ends it. */
  readonly closed: Promise<void>;
  private ended = false;
  private readonly received: Packet[] = [];
  private readonly waiters: Array<() => void> = [];
  private listener: ((packet: Packet) => void) | undefined;

  private constructor(socket: Socket) {
    this.socket = socket;
    const parser = packetParser({ protocolVersion: 5 });
    parser.on('packet', (packet: Packet) => {
      if (this.listener !== undefined) this.listener(packet);
      else this.received.push(packet);
      for (const wake of this.waiters.splice(0)) wake();
    });
    parser.on('error', () => socket.destroy());
    socket.on('data', (chunk: Buffer) => parser.parse(chunk));
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.ended = true;
        for (const wake of this.waiters.splice(0)) wake();
        resolve();
      }),
    );
  }

  /** Connects and resolves with the client and the CONNACK; rejects on a refusal. */
  static async connect(port: number, options: ConnectOptions): Promise<MqttClient> {
    const client = new MqttClient(await openSocket(port, options));
    client.send(connectPacket(options.clientId, options.credentials));
    const connack = await client.next('connack', options.timeoutMs ?? 10_000);
    if ((connack.reasonCode ?? 0) !== 0) {
      client.socket.destroy();
      throw new Error(`${options.clientId}: CONNACK 0x${(connack.reasonCode ?? 0).toString(16)}`);
    }
    return client;
  }

  get isClosed(): boolean {
    return this.ended;
  }

  send(packet: Packet): void {
    if (!this.ended) this.socket.write(encode(packet));
  }

  /** Hands every packet from now on to `listener` instead of keeping it for `next`. */
  listen(listener: (packet: Packet) => void): void {
    this.listener = listener;
    for (const packet of this.received.splice(0)) listener(packet);
  }

  /** The next packet of this kind; rejects after `timeoutMs` or when the connection ends. */
  async next<C extends Packet['cmd']>(
    cmd: C,
    timeoutMs = 5000,
  ): Promise<Extract<Packet, { cmd: C }>> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const index = this.received.findIndex((packet) => packet.cmd === cmd);
      if (index >= 0) return this.received.splice(index, 1)[0] as Extract<Packet, { cmd: C }>;
      if (this.ended) throw new Error(`the connection ended before a ${cmd}`);
      const left = until - Date.now();
      if (left <= 0) throw new Error(`no ${cmd} in ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Sends DISCONNECT and waits (briefly) for the connection to end. */
  async disconnect(): Promise<void> {
    if (this.ended) return;
    this.send({ cmd: 'disconnect', reasonCode: 0 } as Packet);
    this.socket.end();
    await Promise.race([this.closed, sleep(1000)]);
    this.socket.destroy();
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The value below which `fraction` of the sorted `values` fall (nearest rank); NaN if none. */
export function percentile(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil(fraction * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))] as number;
}
