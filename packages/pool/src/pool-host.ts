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

/** Where a pool's messages go and stay: its router and its retained store. */
export interface Topics {
  readonly router: Router;
  readonly retain: RetainStore;
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
  private readonly parts: PoolHostParts<UC>;

  constructor(parts: PoolHostParts<UC>) {
    this.parts = parts;
    this.sys = parts;
    this.observe = parts.observe;
    this.queueBudget = parts.queueBudget;
    this.journal = parts.journal;
  }

  /** Routes a message, in the `$SYS` pool for `$SYS` topics, and stores it when retained. */
  publish(message: RoutedMessage, senderKey: string | undefined): MaybePromise<PublishResult> {
    const topics = this.topicsOf(message.topic);
    const result = topics.router.publish(message, senderKey);
    if (!result.ok || !message.retain) return result;
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
    return this.topicsOfFilter(filter).router.subscribe(subscriber, filter, options);
  }

  unsubscribe(subscriber: Subscriber, filter: string): boolean {
    return this.topicsOfFilter(filter).router.unsubscribe(subscriber, filter);
  }

  /** Removes a subscriber's subscriptions here and in the `$SYS` pool (fixes defect 19). */
  unsubscribeAll(subscriber: Subscriber): void {
    this.parts.router.unsubscribeAll(subscriber);
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
