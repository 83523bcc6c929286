/**
 * The canary: a QoS 1 publisher and a QoS 1 subscriber, both ordinary clients, exchanging a
 * numbered message every few milliseconds while a case runs. Whatever the attacker does, every
 * message the publisher sent must reach the subscriber: the canary counts what got lost.
 */
import type { Packet } from 'mqtt-packet';
import { type Credentials, MqttClient, sleep } from './client.ts';

export interface CanaryStats {
  /** Messages published. */
  readonly sent: number;
  /** Published messages the broker acknowledged with a success code. */
  readonly acked: number;
  /** Published messages the broker refused (PUBACK with a reason code of 0x80 or more). */
  readonly refused: number;
  /** Published messages that never reached the subscriber (refused ones included). */
  readonly lost: number;
  /** Whether the publisher's or the subscriber's connection ended during the case. */
  readonly disconnected: boolean;
}

/** Messages published and not yet acknowledged, at most. */
const WINDOW = 20;

export class Canary {
  private readonly publisher: MqttClient;
  private readonly subscriber: MqttClient;
  private readonly topic: string;
  private readonly received = new Set<number>();
  private readonly inFlight = new Map<number, number>();
  private sent = 0;
  private acked = 0;
  private refused = 0;
  private timer: NodeJS.Timeout | undefined;

  private constructor(publisher: MqttClient, subscriber: MqttClient, topic: string) {
    this.publisher = publisher;
    this.subscriber = subscriber;
    this.topic = topic;
    publisher.listen((packet) => {
      if (packet.cmd !== 'puback') return;
      const id = packet.messageId as number;
      if (!this.inFlight.delete(id)) return;
      if ((packet.reasonCode ?? 0) >= 0x80) this.refused++;
      else this.acked++;
    });
    subscriber.listen((packet) => {
      if (packet.cmd !== 'publish') return;
      if (packet.qos === 1)
        subscriber.send({ cmd: 'puback', messageId: packet.messageId as number });
      if (packet.topic === this.topic && Buffer.isBuffer(packet.payload))
        this.received.add(packet.payload.readUInt32BE(0));
    });
  }

  /** Connects both clients and subscribes (QoS 1) to a topic of the canary's own. */
  static async connect(port: number, name: string, credentials?: Credentials): Promise<Canary> {
    const topic = `abuse/canary/${name}`;
    const subscriber = await MqttClient.connect(port, { clientId: `${name}-sub`, credentials });
    subscriber.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 1 }] });
    const suback = await subscriber.next('suback');
    if ((suback.granted[0] as number) !== 1) throw new Error(`canary: SUBACK ${suback.granted}`);
    const publisher = await MqttClient.connect(port, { clientId: `${name}-pub`, credentials });
    return new Canary(publisher, subscriber, topic);
  }

  /** Publishes one numbered message every `intervalMs` (fewer while 20 await their PUBACK). */
  start(intervalMs = 10): void {
    this.received.clear();
    this.inFlight.clear();
    this.sent = 0;
    this.acked = 0;
    this.refused = 0;
    this.timer = setInterval(() => this.publish(), intervalMs);
  }

  /** Stops publishing and waits up to `drainMs` for the messages on their way. */
  async stop(drainMs = 5000): Promise<CanaryStats> {
    clearInterval(this.timer);
    const until = Date.now() + drainMs;
    while (
      Date.now() < until &&
      !this.publisher.isClosed &&
      !this.subscriber.isClosed &&
      (this.inFlight.size > 0 || this.received.size < this.acked)
    ) {
      await sleep(10);
    }
    let lost = 0;
    for (let n = 0; n < this.sent; n++) if (!this.received.has(n)) lost++;
    return {
      sent: this.sent,
      acked: this.acked,
      refused: this.refused,
      lost,
      disconnected: this.publisher.isClosed || this.subscriber.isClosed,
    };
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all([this.publisher.disconnect(), this.subscriber.disconnect()]);
  }

  private publish(): void {
    if (this.inFlight.size >= WINDOW || this.publisher.isClosed) return;
    const n = this.sent++;
    const messageId = (n % 65535) + 1;
    this.inFlight.set(messageId, n);
    const payload = Buffer.alloc(4);
    payload.writeUInt32BE(n);
    this.publisher.send({
      cmd: 'publish',
      topic: this.topic,
      payload,
      qos: 1,
      messageId,
      retain: false,
      dup: false,
    } as Packet);
  }
}
