import type { QoS } from '@mqtt-sessions/protocol';
import type { DeliveryFrame } from './delivery-frame.js';
import type { SubscriberEntry } from './subscription.js';
import type { RoutedMessage, SharedRoute } from './types.js';

/** One delivery waiting in the backlog: the copied scratch of a subscriber entry. */
interface PendingDelivery {
  readonly entry: SubscriberEntry;
  readonly qos: QoS;
  readonly retain: boolean;
  readonly identifiers: number[] | undefined;
  readonly shared: SharedRoute | undefined;
  readonly filter: string;
}

interface PendingPublish {
  readonly message: RoutedMessage;
  readonly deliveries: PendingDelivery[];
  next: number;
}

/**
 * Delivers big fan-outs in slices, so that one publish to a million subscribers does not hold the
 * event loop for seconds. Publishes stay in order: while anything waits here, later publishes wait
 * behind it, so no subscriber sees two messages out of publish order.
 */
export class FanOutBacklog {
  private readonly queue: PendingPublish[] = [];
  private head = 0;
  private pendingDeliveries = 0;
  private scheduled = false;
  /** Resolved when the backlog is empty again. */
  private waiters: (() => void)[] = [];
  private readonly sliceSize: number;
  private readonly schedule: (run: () => void) => void;
  private readonly deliver: (
    message: RoutedMessage,
    entry: SubscriberEntry,
    qos: QoS,
    retain: boolean,
    identifiers: number[] | undefined,
    shared: SharedRoute | undefined,
    filter: string,
  ) => void;

  constructor(
    sliceSize: number,
    schedule: (run: () => void) => void,
    deliver: FanOutBacklog['deliver'],
  ) {
    this.sliceSize = sliceSize;
    this.schedule = schedule;
    this.deliver = deliver;
  }

  /** Deliveries waiting to be made. */
  get size(): number {
    return this.pendingDeliveries;
  }

  get idle(): boolean {
    return this.pendingDeliveries === 0;
  }

  /** Resolves once every delivery waiting now (and any queued meanwhile) has been made. */
  drained(): Promise<void> {
    if (this.pendingDeliveries === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Queues the deliveries of one publish, from index `from` of its frame, and wakes a slice. */
  enqueue(message: RoutedMessage, frame: DeliveryFrame, from: number): void {
    const deliveries: PendingDelivery[] = [];
    for (let i = from; i < frame.count; i++) {
      deliveries.push({
        entry: frame.entries[i] as SubscriberEntry,
        qos: frame.qos[i] as QoS,
        retain: frame.retain[i] as boolean,
        identifiers: frame.identifiers[i],
        shared: frame.shared[i],
        filter: frame.filters[i] as string,
      });
    }
    this.queue.push({ message, deliveries, next: 0 });
    this.pendingDeliveries += deliveries.length;
    this.wake();
  }

  private wake(): void {
    if (this.scheduled || this.pendingDeliveries === 0) return;
    this.scheduled = true;
    this.schedule(() => {
      this.scheduled = false;
      this.runSlice();
      this.wake();
    });
  }

  /** Makes up to one slice of deliveries, oldest publish first. */
  private runSlice(): void {
    let budget = this.sliceSize;
    while (budget > 0 && this.head < this.queue.length) {
      const publish = this.queue[this.head] as PendingPublish;
      const end = Math.min(publish.deliveries.length, publish.next + budget);
      for (let i = publish.next; i < end; i++) {
        const d = publish.deliveries[i] as PendingDelivery;
        publish.next = i + 1;
        this.pendingDeliveries--;
        budget--;
        this.deliver(publish.message, d.entry, d.qos, d.retain, d.identifiers, d.shared, d.filter);
      }
      if (publish.next === publish.deliveries.length) this.head++;
    }
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    }
    if (this.pendingDeliveries === 0 && this.waiters.length > 0) {
      const waiters = this.waiters;
      this.waiters = [];
      for (const resolve of waiters) resolve();
    }
  }
}
