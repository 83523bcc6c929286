import { connect as netConnect, type Socket } from 'node:net';
import { generate, type Packet, parser as packetParser } from 'mqtt-packet';

/**
 * An MQTT client made of a TCP socket and mqtt-packet, for tests that need control MQTT.js does
 * not give: not acknowledging, dropping the connection between two packets, resending with DUP.
 */
export class RawClient {
  private readonly socket: Socket;
  private readonly received: Packet[] = [];
  private readonly waiters: Array<() => void> = [];
  private listener: ((packet: Packet) => void) | undefined;
  /** Resolves when the broker closes the connection (or it breaks). */
  readonly closed: Promise<void>;

  private constructor(socket: Socket, protocolVersion: number) {
    this.socket = socket;
    const parser = packetParser({ protocolVersion });
    parser.on('packet', (packet) => {
      if (this.listener) return this.listener(packet);
      this.received.push(packet);
      for (const wake of this.waiters.splice(0)) wake();
    });
    socket.on('data', (chunk) => parser.parse(chunk));
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => {});
  }

  /** Opens a TCP connection to the broker on loopback. */
  static async open(port: number, protocolVersion = 5): Promise<RawClient> {
    const socket = netConnect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawClient(socket, protocolVersion);
  }

  /**
   * Opens a connection and sends CONNECT; resolves with the CONNACK. `options` are
   * mqtt-packet's CONNECT fields (version 5 and a keep-alive of 0 unless given).
   */
  static async connect(
    port: number,
    options: Record<string, unknown> & { clientId: string },
  ): Promise<{ client: RawClient; connack: Packet & { cmd: 'connack' } }> {
    const protocolVersion = (options.protocolVersion as number | undefined) ?? 5;
    const client = await RawClient.open(port, protocolVersion);
    client.send({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion,
      keepalive: 0,
      clean: false,
      ...options,
    } as Packet);
    const connack = await client.next('connack');
    return { client, connack };
  }

  /**
   * Hands every packet that arrives from now on to `listener` instead of keeping it for `next`
   * and `take`, for clients that answer a stream of packets as they come.
   */
  listen(listener: (packet: Packet) => void): void {
    this.listener = listener;
    for (const packet of this.received.splice(0)) listener(packet);
  }

  send(packet: Packet): void {
    this.socket.write(generate(packet, { protocolVersion: 5 }));
  }

  /** Sends a packet, encoded for MQTT 3.1.1. */
  send311(packet: Packet): void {
    this.socket.write(generate(packet, { protocolVersion: 4 }));
  }

  /** The next packet of this kind, taken out of what has arrived (waits up to `timeoutMs`). */
  async next<C extends Packet['cmd']>(
    cmd: C,
    timeoutMs = 3000,
  ): Promise<Extract<Packet, { cmd: C }>> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const index = this.received.findIndex((packet) => packet.cmd === cmd);
      if (index >= 0) return this.received.splice(index, 1)[0] as Extract<Packet, { cmd: C }>;
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

  /** Every packet of this kind that has arrived so far, taken out. */
  take<C extends Packet['cmd']>(cmd: C): Array<Extract<Packet, { cmd: C }>> {
    const taken: Array<Extract<Packet, { cmd: C }>> = [];
    for (let i = 0; i < this.received.length; ) {
      const packet = this.received[i] as Packet;
      if (packet.cmd === cmd) {
        taken.push(packet as Extract<Packet, { cmd: C }>);
        this.received.splice(i, 1);
      } else i++;
    }
    return taken;
  }

  /** Drops the connection without DISCONNECT, as a network failure would. */
  async drop(): Promise<void> {
    this.socket.destroy();
    await this.closed;
  }

  /** Sends DISCONNECT (reason 0 unless given) and closes. */
  async disconnect(properties?: Record<string, unknown>): Promise<void> {
    this.send({
      cmd: 'disconnect',
      reasonCode: 0,
      ...(properties ? { properties } : {}),
    } as Packet);
    this.socket.end();
    await this.closed;
  }
}
