import {
  isPromiseLike,
  type MaybePromise,
  type MessageProperties,
  secondsLeft,
  type Timers,
} from '@mqtt-sessions/protocol';
import type { SessionRegistry } from '@mqtt-sessions/registry';
import type { RetainCursor, RetainPage, RetainStore } from '@mqtt-sessions/retain';
import type {
  PublishResult,
  RoutedMessage,
  Router,
  SharedRoute,
  SubscribeResult,
  Subscriber,
  SubscriptionOptions,
} from '@mqtt-sessions/router';
import {
  createSessionMetrics,
  type QueueBudget,
  type Session,
  type SessionEvent,
  type SessionHost,
  type SessionJournal,
  type SessionMetrics,
} from '@mqtt-sessions/session';
import { isSysTopic, unsharedFilter } from '@mqtt-sessions/topic-trie';
import type { WillMessage } from '@mqtt-sessions/will';

/** Where a pool's messages go and stay: its router and its retained store. */
export interface Topics {
  readonly router: Router;
  readonly retain: RetainStore;
}

/**
 * What a pool tells the node of a cluster that it belongs to (see `@mqtt-sessions/cluster`): the
 * filters its own subscribers hold, so that other nodes send it only what matches, and a point to
 * wait at before a publish is acknowledged.
 */
export interface PoolRelay {
  /** A subscriber of the pool took a new subscription to `filter` (`$share/...` included). */
  subscribed(filter: string): void;
  /** A subscriber of the pool gave up its subscription to `filter`. */
  unsubscribed(filter: string): void;
  /** The Will of a connection that no store keeps, or `undefined` once its session ended. */
  volatileWill?(clientId: string, will: WillMessage | undefined): void;
  /**
   * Called after each publish was routed: what to wait for before the publisher hears that the
   * message is taken (the forwards to other nodes made by that publish), or undefined.
   */
  forwarded(): MaybePromise<void> | undefined;
}

/** What a {@link PoolHost} is made of. */
export interface PoolHostParts<UC> extends Topics {
  readonly queueBudget: QueueBudget;
  /** Where persistent sessions record their changes; none without a session store. */
  readonly journal: SessionJournal | undefined;
  readonly registry: SessionRegistry<Session<UC>>;
  /** The pool's sessions; an ended session leaves it. */
  readonly sessions: Set<Session<UC>>;
  readonly timers: Timers;
  readonly observe: ((event: SessionEvent) => void) | undefined;
  reportError(error: unknown): void;
}

/**
 * The port a pool's sessions reach the server through (`SessionHost`): routing, subscriptions,
 * retained messages and bookkeeping over the pool's router, retain store and registry. Topics
 * under `$SYS/` belong to the `$SYS` pool, the default pool of a set, so system information is
 * shared between pools; server code publishes through the same port.
 */
export class PoolHost<UC> implements SessionHost {
  readonly metrics: SessionMetrics = createSessionMetrics();
  readonly observe: ((event: SessionEvent) => void) | undefined;
  readonly queueBudget: QueueBudget;
  readonly journal: SessionJournal | undefined;
  /** The topics of `$SYS/...`: this pool's own, or the default pool's in a set. */
  sys: Topics;
  /** The node of a cluster the pool belongs to, if any; `$SYS` topics stay on each node. */
  relay: PoolRelay | undefined = undefined;
  private readonly parts: PoolHostParts<UC>;

  constructor(parts: PoolHostParts<UC>) {
    this.parts = parts;
    this.sys = parts;
    this.observe = parts.observe;
    this.queueBudget = parts.queueBudget;
    this.journal = parts.journal;
  }

  /**
   * Routes a message, in the `$SYS` pool for `$SYS` topics, and stores it when retained. In a
   * cluster, the outcome carries the forwards to other nodes as `handedOver`: the publisher's
   * next packets go on, and its acknowledgement waits for them, in order with the others.
   */
  publish(message: RoutedMessage, senderKey: string | undefined): MaybePromise<PublishResult> {
    const topics = this.topicsOf(message.topic);
    const routed = topics.router.publish(message, senderKey);
    if (!routed.ok) return routed;
    const forwarded = topics === this.parts ? this.relay?.forwarded() : undefined;
    const result: PublishResult =
      forwarded === undefined || !isPromiseLike(forwarded)
        ? routed
        : { ok: true, deliveries: routed.deliveries, handedOver: Promise.resolve(forwarded) };
    if (!message.retain) return result;
    let stored: MaybePromise<void>;
    try {
      stored = topics.retain.set({
        topic: message.topic,
        payload: message.payload,
        qos: message.qos,
        properties: retainedProperties(message, this.parts.timers.now()),
        propertyBytes: message.propertyBytes,
      });
    } catch (error) {
      return this.retainFailed(error);
    }
    if (!isPromiseLike(stored)) return result;
    return stored.then(
      () => result,
      (error: unknown) => this.retainFailed(error),
    );
  }

  /**
   * The message reached its subscribers but was not kept as the retained one. The publisher must
   * not hear "stored" (PUBACK 0x00): it hears 0x80 and may send it again.
   */
  private retainFailed(error: unknown): PublishResult {
    this.parts.reportError(error);
    return { ok: false, reason: 'store-failed', message: 'the retained message was not stored' };
  }

  subscribe(subscriber: Subscriber, filter: string, options: SubscriptionOptions): SubscribeResult {
    const topics = this.topicsOfFilter(filter);
    const result = topics.router.subscribe(subscriber, filter, options);
    if (result.ok && result.isNew && topics === this.parts) this.relay?.subscribed(filter);
    return result;
  }

  unsubscribe(subscriber: Subscriber, filter: string): boolean {
    const topics = this.topicsOfFilter(filter);
    const removed = topics.router.unsubscribe(subscriber, filter);
    if (removed && topics === this.parts) this.relay?.unsubscribed(filter);
    return removed;
  }

  /** Removes a subscriber's subscriptions here and in the `$SYS` pool (fixes defect 19). */
  unsubscribeAll(subscriber: Subscriber): void {
    const relay = this.relay;
    const router = this.parts.router;
    if (relay === undefined) router.unsubscribeAll(subscriber);
    else {
      for (const { filter } of router.subscriptionsOf(subscriber)) {
        router.unsubscribe(subscriber, filter);
        relay.unsubscribed(filter);
      }
    }
    if (this.sys !== this.parts) this.sys.router.unsubscribeAll(subscriber);
  }

  matchRetained(
    filter: string,
    cursor: RetainCursor | null,
    limit: number,
  ): MaybePromise<RetainPage> {
    return this.topicsOfFilter(filter).retain.match(filter, { cursor, limit });
  }

  routeShared(route: SharedRoute, message: RoutedMessage, exclude: Subscriber): boolean {
    return this.topicsOf(route.filter).router.routeShared(route, message, exclude);
  }

  volatileWill(clientId: string, will: WillMessage | undefined): void {
    this.relay?.volatileWill?.(clientId, will);
  }

  sessionEnded(session: object): void {
    const ended = session as Session<UC>;
    this.parts.sessions.delete(ended);
    const done = this.parts.registry.unregister(ended.clientId, ended);
    if (isPromiseLike(done)) done.catch((error: unknown) => this.parts.reportError(error));
  }

  /** The router and store of a topic: `$SYS/...` belongs to the `$SYS` pool. */
  private topicsOf(topic: string): Topics {
    return isSysTopic(topic) ? this.sys : this.parts;
  }

  /** The router and store of a filter, shared or not. */
  private topicsOfFilter(filter: string): Topics {
    return this.topicsOf(unsharedFilter(filter) ?? filter);
  }
}

/** The properties a retained message is stored with: its expiry as the seconds left. */
function retainedProperties(message: RoutedMessage, now: number): MessageProperties {
  const deadline = message.expiresAt;
  if (deadline === undefined) return message.properties;
  return { ...message.properties, messageExpiryInterval: secondsLeft(deadline, now) };
}
