import type { RoutedMessage, SharedRoute } from '@mqtt-sessions/router';
import { encodeForwarded } from './codec.js';
import type { Forwarder } from './node-relay.js';

/** Appends a batch of encoded messages to a node's inbox stream, in order. */
export type AppendToInbox = (node: string, entries: readonly Buffer[]) => Promise<void>;

/**
 * The messages this node forwards, gathered per event-loop turn and per node, then appended to
 * each node's inbox stream in the order they were published, one entry per node and turn. A QoS 1 or 2 publish waits for the
 * batch it went into ({@link takeWait}), so a publisher hears PUBACK only once Redis holds the
 * message for every node it goes to.
 */
export class Forwarding implements Forwarder {
  /** Messages forwarded. */
  forwarded = 0;
  private readonly origin: string;
  private readonly append: AppendToInbox;
  private batches = new Map<string, Buffer[]>();
  private done: Promise<void> | undefined = undefined;
  private settle: ((error?: unknown) => void) | undefined = undefined;
  private wait: Promise<void> | undefined = undefined;

  constructor(origin: string, append: AppendToInbox) {
    this.origin = origin;
    this.append = append;
  }

  forward(
    node: string,
    pool: string,
    message: RoutedMessage,
    shared: SharedRoute | undefined,
  ): void {
    let batch = this.batches.get(node);
    if (batch === undefined) {
      batch = [];
      this.batches.set(node, batch);
    }
    batch.push(encodeForwarded(pool, message, shared, this.origin));
    this.forwarded++;
    const done = this.batchDone();
    if (message.qos > 0) this.wait = done;
  }

  /** What the publish routed last must wait for, if it forwarded a QoS 1 or 2 message. */
  takeWait(): Promise<void> | undefined {
    const wait = this.wait;
    this.wait = undefined;
    return wait;
  }

  /** Sends what is gathered now, and waits until it is appended. */
  async flush(): Promise<void> {
    await this.send();
  }

  private batchDone(): Promise<void> {
    if (this.done === undefined) {
      this.done = new Promise<void>((resolve, reject) => {
        this.settle = (error) => (error === undefined ? resolve() : reject(error));
      });
      // A QoS 0 batch that fails has no one waiting: its failure is not unhandled.
      this.done.catch(() => undefined);
      setImmediate(() => void this.send());
    }
    return this.done;
  }

  private async send(): Promise<void> {
    const settle = this.settle;
    const batches = this.batches;
    if (settle === undefined) return;
    this.batches = new Map();
    this.done = undefined;
    this.settle = undefined;
    try {
      await Promise.all([...batches].map(([node, entries]) => this.append(node, entries)));
      settle();
    } catch (error) {
      settle(error);
    }
  }
}
