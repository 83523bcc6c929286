import type { QoS } from '@mqtt-sessions/protocol';
import type {
  RoutedMessage,
  Router,
  SharedRoute,
  Subscriber,
  SubscriptionOptions,
} from '@mqtt-sessions/router';

/**
 * How a relay subscribes for another node: every QoS, and the RETAIN flag as published, so that
 * the other node applies its own subscribers' options to the message as it was published.
 */
const RELAY_OPTIONS: SubscriptionOptions = Object.freeze({
  qos: 2,
  noLocal: false,
  retainAsPublished: true,
  retainHandling: 2,
  subscriptionIdentifier: undefined,
});

/** Where a relay sends what it is given. */
export interface Forwarder {
  forward(
    node: string,
    pool: string,
    message: RoutedMessage,
    shared: SharedRoute | undefined,
  ): void;
}

/**
 * Another node's subscribers, as one subscriber in a pool's router: it holds the filters that
 * node announced for the pool, so the router's own matching decides which messages go there (one
 * copy per publish however many of its filters match), and a shared group counts the node as one
 * member. It forwards only messages published on this node (see `RoutedMessage.origin`).
 */
export class NodeRelay implements Subscriber {
  readonly remote = true;
  readonly online = true;
  readonly node: string;
  private readonly pool: string;
  private readonly router: Router;
  private readonly forwarder: Forwarder;
  private readonly filters = new Set<string>();

  constructor(node: string, pool: string, router: Router, forwarder: Forwarder) {
    this.node = node;
    this.pool = pool;
    this.router = router;
    this.forwarder = forwarder;
  }

  get size(): number {
    return this.filters.size;
  }

  has(filter: string): boolean {
    return this.filters.has(filter);
  }

  add(filter: string): void {
    if (this.filters.has(filter)) return;
    // A filter this router refuses (another node's longer topic limit) is not routed here.
    if (this.router.subscribe(this, filter, RELAY_OPTIONS).ok) this.filters.add(filter);
  }

  remove(filter: string): void {
    if (this.filters.delete(filter)) this.router.unsubscribe(this, filter);
  }

  clear(): void {
    this.router.unsubscribeAll(this);
    this.filters.clear();
  }

  /** The filters other than `keep`, which a resync found the node no longer has. */
  removeAllBut(keep: ReadonlySet<string>): void {
    for (const filter of [...this.filters]) if (!keep.has(filter)) this.remove(filter);
  }

  deliver(
    message: RoutedMessage,
    _qos: QoS,
    _retain: boolean,
    _subscriptionIdentifiers: readonly number[] | undefined,
    shared: SharedRoute | undefined,
  ): void {
    if (message.origin !== undefined) return;
    this.forwarder.forward(this.node, this.pool, message, shared);
  }
}
