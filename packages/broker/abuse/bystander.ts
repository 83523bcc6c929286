/**
 * The bystander: an ordinary client that sends PINGREQ every few milliseconds while a case runs
 * and times each PINGRESP. What a user of a broker under attack cares about is that everyone
 * else is still answered promptly; the PINGREQ round trip is the broker's answer time with
 * nothing else in it.
 */
import { performance } from 'node:perf_hooks';
import type { Packet } from 'mqtt-packet';
import { type Credentials, MqttClient, percentile } from './client.ts';

export interface PingStats {
  /** Round trips timed (a ping still unanswered at the end counts with its age so far). */
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  /** Whether the bystander's connection ended during the case. */
  readonly disconnected: boolean;
}

const PINGREQ: Packet = { cmd: 'pingreq' };

export class Bystander {
  private readonly client: MqttClient;
  private readonly samples: number[] = [];
  private sentAt: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private intervalMs = 10;

  private constructor(client: MqttClient) {
    this.client = client;
    client.listen((packet) => {
      if (packet.cmd !== 'pingresp' || this.sentAt === undefined) return;
      const took = performance.now() - this.sentAt;
      this.sentAt = undefined;
      if (!this.running) return;
      this.samples.push(took);
      this.timer = setTimeout(() => this.ping(), Math.max(0, this.intervalMs - took));
    });
  }

  static async connect(port: number, clientId: string, credentials?: Credentials) {
    return new Bystander(await MqttClient.connect(port, { clientId, credentials }));
  }

  /** Starts timing: one PINGREQ at a time, the next `intervalMs` after the previous was sent. */
  start(intervalMs = 10): void {
    this.intervalMs = intervalMs;
    this.samples.length = 0;
    this.running = true;
    this.ping();
  }

  stop(): PingStats {
    this.running = false;
    clearTimeout(this.timer);
    const samples = [...this.samples];
    if (this.sentAt !== undefined) samples.push(performance.now() - this.sentAt);
    samples.sort((a, b) => a - b);
    return {
      count: samples.length,
      p50: percentile(samples, 0.5),
      p99: percentile(samples, 0.99),
      max: samples.length === 0 ? Number.NaN : (samples[samples.length - 1] as number),
      disconnected: this.client.isClosed,
    };
  }

  async close(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.client.disconnect();
  }

  private ping(): void {
    if (!this.running || this.client.isClosed) return;
    this.sentAt = performance.now();
    this.client.send(PINGREQ);
  }
}
