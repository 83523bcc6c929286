import type { QoS } from '@mqtt-sessions/protocol';
import {
  FilterIndex,
  parseSharedSubscription,
  type TopicLimits,
  validateTopicFilter,
} from '@mqtt-sessions/topic-trie';
import { DeliveryFrame } from './delivery-frame.js';
import { FanOutBacklog } from './fan-out.js';
import { SharedGroup, type SharedStrategy } from './shared-group.js';
import { SubscriberEntry, Subscription } from './subscription.js';
import type { RoutedMessage, SharedRoute, Subscriber, SubscriptionOptions } from './types.js';

/** Options of a {@link Router}. */
export interface RouterOptions {
  /**
   * `per-subscriber` (default): a subscriber whose filters overlap gets one copy of a message, at
   * the highest granted QoS, with every matching Subscription Identifier. `per-subscription`: one
   * copy per matching subscription. Both are allowed by MQTT 5 section 3.3.4.
   */
  deliveryMode?: 'per-subscriber' | 'per-subscription';
  /** How shared subscription groups pick a member; default `round-robin`. */
  sharedStrategy?: SharedStrategy;
  /**
   * The most deliveries one publish makes synchronously; the rest are made in slices of this
   * size on later turns of the event loop. Default 10,000.
   */
  sliceSize?: number;
  /**
   * The most deliveries that may wait in slices; a publish that would go past it is refused with
   * `overload` and delivered to nobody. Default 1,000,000.
   */
  maxBacklog?: number;
  /** Runs a slice later; default `setImmediate`. */
  schedule?: (run: () => void) => void;
  /** Topic limits for filter validation (the level cap). */
  topicLimits?: TopicLimits;
  /** Called when a subscriber throws from `deliver`; the other deliveries go on. */
  onDeliveryError?: (error: unknown, subscriber: Subscriber) => void;
}

/** The outcome of {@link Router.subscribe}. */
export type SubscribeResult =
  | { ok: true; isNew: boolean }
  | {
      ok: false;
      reason: 'invalid-filter' | 'invalid-share' | 'shared-no-local';
      message: string;
    };

/**
 * The outcome of {@link Router.publish}. The router itself answers `overload`; `store-failed` is
 * for a host that also stores the message (a retained one) and could not.
 */
export type PublishResult =
  | {
      ok: true;
      deliveries: number;
      /**
       * What an acknowledgement of the message waits for besides the session store, when its
       * host hands it on elsewhere (the other nodes of a cluster); a rejection means it was not.
       */
      handedOver?: Promise<void>;
    }
  | { ok: false; reason: 'overload' | 'store-failed'; message: string };

/** A subscription as listed by {@link Router.subscriptionsOf}. */
export interface SubscriptionInfo {
  readonly filter: string;
  readonly options: SubscriptionOptions;
}

/** Counts describing a router. */
export interface RouterStats {
  /** Distinct filters in the index (a shared group counts once). */
  readonly filters: number;
  readonly exactFilters: number;
  readonly wildcardFilters: number;
  /** Subscriptions, shared group memberships included; not those of relays to other nodes. */
  readonly subscriptions: number;
  /** Subscriptions of relays that stand for other nodes of a cluster (`Subscriber.remote`). */
  readonly remoteSubscriptions: number;
  /** Subscribers with at least one subscription. */
  readonly subscribers: number;
  readonly sharedGroups: number;
  /** Nodes of the wildcard trie. */
  readonly nodes: number;
  /** Deliveries waiting in slices. */
  readonly backlog: number;
  /** Publishes refused because the backlog was full. */
  readonly overloads: number;
}

type Target = Subscription | SharedGroup;

const OVERLOAD: PublishResult = Object.freeze({
  ok: false,
  reason: 'overload',
  message: 'the router backlog is full',
});

/**
 * Routes application messages to subscribers: it holds every subscription with its MQTT 5
 * options, and fans one message out to every match with the granted QoS, No Local, Retain As
 * Published, Subscription Identifiers and shared subscription groups applied.
 *
 * @example
 * ```ts
 * const router = new Router();
 * router.subscribe(session, 'sensors/+/temperature', subscriptionOptions(1));
 * router.publish(message); // calls session.deliver(message, grantedQoS, retain, ids, ...)
 * ```
 */
export class Router {
  private readonly index = new FilterIndex<Target>();
  private readonly entries = new Map<Subscriber, SubscriberEntry>();
  private readonly groups = new Map<string, SharedGroup>();
  private readonly backlog: FanOutBacklog;
  private readonly perSubscriber: boolean;
  private readonly strategy: SharedStrategy;
  private readonly sliceSize: number;
  private readonly maxBacklog: number;
  private readonly topicLimits: TopicLimits;
  private readonly onDeliveryError: (error: unknown, subscriber: Subscriber) => void;
  private subscriptionCount = 0;
  /** Subscriptions of relays to other nodes of a cluster, counted apart from the ones here. */
  private remoteCount = 0;
  private overloads = 0;
  // State of the publish being matched; see visit().
  private epoch = 0;
  private message: RoutedMessage | undefined = undefined;
  private senderKey: string | undefined = undefined;
  private frame: DeliveryFrame = new DeliveryFrame();
  private readonly frames: DeliveryFrame[] = [this.frame];
  private depth = 0;
  private readonly visit = (target: Target): void => this.collect(target);

  constructor(options: RouterOptions = {}) {
    this.perSubscriber = (options.deliveryMode ?? 'per-subscriber') === 'per-subscriber';
    this.strategy = options.sharedStrategy ?? 'round-robin';
    this.sliceSize = options.sliceSize ?? 10_000;
    this.maxBacklog = options.maxBacklog ?? 1_000_000;
    this.topicLimits = options.topicLimits ?? {};
    this.onDeliveryError = options.onDeliveryError ?? reportDeliveryError;
    this.backlog = new FanOutBacklog(
      this.sliceSize,
      options.schedule ?? setImmediate,
      (message, entry, qos, retain, identifiers, shared, filter) =>
        this.deliverOne(message, entry.subscriber, qos, retain, identifiers, shared, filter),
    );
  }

  /**
   * Adds a subscription, or replaces the options of the subscriber's existing subscription to the
   * same filter [MQTT-3.8.4-3]. `filter` may be a shared subscription `$share/{group}/{filter}`.
   */
  subscribe(subscriber: Subscriber, filter: string, options: SubscriptionOptions): SubscribeResult {
    const parsed = parseSharedSubscription(filter, this.topicLimits);
    if (!parsed.ok) {
      const reason = parsed.reason === 'invalid-share-name' ? 'invalid-share' : 'invalid-filter';
      return { ok: false, reason, message: parsed.message };
    }
    const shared = parsed.shared;
    if (shared === null) {
      const valid = validateTopicFilter(filter, this.topicLimits);
      if (!valid.ok) return { ok: false, reason: 'invalid-filter', message: valid.message };
    } else if (options.noLocal) {
      return {
        ok: false,
        reason: 'shared-no-local',
        message: 'No Local must not be set on a shared subscription',
      }; // [MQTT-3.8.3-4]
    }
    let entry = this.entries.get(subscriber);
    if (entry === undefined) {
      entry = new SubscriberEntry(subscriber);
      this.entries.set(subscriber, entry);
    }
    const existing = entry.subscriptions.get(filter);
    if (existing !== undefined) {
      existing.options = options;
      return { ok: true, isNew: false };
    }
    let subscription: Subscription;
    if (shared === null) {
      subscription = new Subscription(entry, filter, filter, options, undefined);
      this.index.add(filter, subscription);
    } else {
      const key = `${shared.group}/${shared.filter}`;
      let group = this.groups.get(key);
      if (group === undefined) {
        group = new SharedGroup(shared.group, shared.filter);
        this.groups.set(key, group);
        this.index.add(shared.filter, group);
      }
      subscription = new Subscription(entry, filter, shared.filter, options, group);
      group.members.push(subscription);
    }
    entry.subscriptions.set(filter, subscription);
    if (subscriber.remote === true) this.remoteCount++;
    else this.subscriptionCount++;
    return { ok: true, isNew: true };
  }

  /**
   * Removes the subscriber's subscription to exactly this filter.
   * @returns `false` when there was none.
   */
  unsubscribe(subscriber: Subscriber, filter: string): boolean {
    const entry = this.entries.get(subscriber);
    const subscription = entry?.subscriptions.get(filter);
    if (entry === undefined || subscription === undefined) return false;
    this.drop(entry, subscription);
    return true;
  }

  /**
   * Removes every subscription of the subscriber.
   * @returns how many there were.
   */
  unsubscribeAll(subscriber: Subscriber): number {
    const entry = this.entries.get(subscriber);
    if (entry === undefined) return 0;
    const count = entry.subscriptions.size;
    for (const subscription of [...entry.subscriptions.values()]) this.drop(entry, subscription);
    return count;
  }

  /** The subscriber's subscriptions with their options. */
  subscriptionsOf(subscriber: Subscriber): SubscriptionInfo[] {
    const entry = this.entries.get(subscriber);
    if (entry === undefined) return [];
    return [...entry.subscriptions.values()].map((s) => ({
      filter: s.fullFilter,
      options: s.options,
    }));
  }

  /**
   * Delivers a message to every matching subscription. Up to `sliceSize` deliveries are made before
   * this returns; the rest follow in order on later turns of the event loop.
   *
   * @param senderKey A stable key of the publisher (its client id), for `sticky-publisher` groups.
   * @returns the number of deliveries, or `overload` (nobody got the message) when the backlog
   *   would pass `maxBacklog`.
   */
  publish(message: RoutedMessage, senderKey?: string): PublishResult {
    if (this.backlog.size >= this.maxBacklog) return this.refuse();
    const outer = this.frame;
    const outerMessage = this.message;
    const outerKey = this.senderKey;
    const frame = this.enterFrame();
    this.epoch++;
    this.message = message;
    this.senderKey = senderKey;
    try {
      this.index.match(message.topic, this.visit);
    } finally {
      this.message = outerMessage;
      this.senderKey = outerKey;
    }
    const count = frame.count;
    try {
      if (count === 0) return { ok: true, deliveries: 0 };
      const now = this.backlog.idle ? Math.min(count, this.sliceSize) : 0;
      if (now < count && this.backlog.size + count - now > this.maxBacklog) return this.refuse();
      for (let i = 0; i < now; i++) {
        this.deliverOne(
          message,
          (frame.entries[i] as SubscriberEntry).subscriber,
          frame.qos[i] as QoS,
          frame.retain[i] as boolean,
          frame.identifiers[i],
          frame.shared[i],
          frame.filters[i] as string,
        );
      }
      if (now < count) this.backlog.enqueue(message, frame, now);
      return { ok: true, deliveries: count };
    } finally {
      this.leaveFrame(outer);
    }
  }

  /**
   * Sends a message that was routed through a shared group to another member, such as when the
   * member that had it in flight left for good, or one that another node of a cluster picked this
   * node for. Returns `false` when no other member exists.
   */
  routeShared(route: SharedRoute, message: RoutedMessage, exclude?: Subscriber): boolean {
    const group = this.groups.get(`${route.group}/${route.filter}`);
    const member = group?.pick(this.strategy, message, undefined, exclude);
    if (group === undefined || member === undefined) return false;
    const qos = minQoS(message.qos, member.options.qos);
    const retain = member.options.retainAsPublished && message.retain;
    const ids = member.options.subscriptionIdentifier;
    this.deliverOne(
      message,
      member.entry.subscriber,
      qos,
      retain,
      ids === undefined ? undefined : [ids],
      group,
      group.filter,
    );
    return true;
  }

  /**
   * Resolves once the deliveries waiting in slices now have been made: for a caller that must not
   * count a message as delivered before every subscriber has it (a cluster node acknowledging its
   * inbox).
   */
  drained(): Promise<void> {
    return this.backlog.drained();
  }

  /** Counts of filters, subscriptions and subscribers. */
  stats(): RouterStats {
    const info = this.index.info();
    return {
      filters: info.filters,
      exactFilters: info.exactFilters,
      wildcardFilters: info.wildcardFilters,
      subscriptions: this.subscriptionCount,
      remoteSubscriptions: this.remoteCount,
      subscribers: this.entries.size,
      sharedGroups: this.groups.size,
      nodes: info.nodes,
      backlog: this.backlog.size,
      overloads: this.overloads,
    };
  }

  /** Called by the filter index for every matching subscription or shared group. */
  private collect(target: Target): void {
    const message = this.message as RoutedMessage;
    let subscription: Subscription;
    let shared: SharedGroup | undefined;
    if (target.kind === 'shared') {
      // The node a message was published on picked its group member, here or on another node.
      if (message.origin !== undefined) return;
      const member = target.pick(this.strategy, message, this.senderKey);
      if (member === undefined) return;
      subscription = member;
      shared = target;
    } else {
      subscription = target;
      if (subscription.options.noLocal && subscription.entry.subscriber === message.sender) {
        return; // [MQTT-3.8.3-3]
      }
    }
    const subscriber = subscription.entry.subscriber;
    if (subscriber.remote === true) {
      // A message from another node is not sent back out to the other nodes. One published here
      // goes to a relay at once, never in a later slice: its publisher's acknowledgement waits
      // for the forwards this publish makes. One copy per node, however many filters match.
      if (message.origin !== undefined) return;
      const entry = subscription.entry;
      if (shared === undefined) {
        if (entry.epoch === this.epoch) return;
        entry.epoch = this.epoch;
      }
      this.deliverOne(
        message,
        subscriber,
        message.qos,
        message.retain,
        undefined,
        shared,
        subscription.filter,
      );
      return;
    }
    const options = subscription.options;
    const entry = subscription.entry;
    const qos = minQoS(message.qos, options.qos);
    const retain = options.retainAsPublished && message.retain; // [MQTT-3.3.1-12] [MQTT-3.3.1-13]
    const id = options.subscriptionIdentifier;
    const frame = this.frame;
    // One copy per subscriber: merge into the copy this publish already has [MQTT-3.3.4-2].
    if (this.perSubscriber && shared === undefined) {
      if (entry.epoch === this.epoch) {
        const slot = entry.slot;
        if (qos > (frame.qos[slot] as QoS)) frame.qos[slot] = qos;
        if (retain) frame.retain[slot] = true;
        if (id !== undefined) {
          const ids = frame.identifiers[slot];
          if (ids === undefined) frame.identifiers[slot] = [id];
          else ids.push(id); // [MQTT-3.3.4-4]
        }
        return;
      }
      entry.epoch = this.epoch;
      entry.slot = frame.count;
    }
    const slot = frame.count++;
    frame.entries[slot] = entry;
    frame.qos[slot] = qos;
    frame.retain[slot] = retain;
    frame.identifiers[slot] = id === undefined ? undefined : [id];
    frame.shared[slot] = shared;
    frame.filters[slot] = subscription.filter;
  }

  private deliverOne(
    message: RoutedMessage,
    subscriber: Subscriber,
    qos: QoS,
    retain: boolean,
    identifiers: number[] | undefined,
    shared: SharedRoute | undefined,
    filter: string,
  ): void {
    try {
      subscriber.deliver(message, qos, retain, identifiers, shared, filter);
    } catch (error) {
      this.onDeliveryError(error, subscriber);
    }
  }

  private refuse(): PublishResult {
    this.overloads++;
    return OVERLOAD;
  }

  private enterFrame(): DeliveryFrame {
    this.depth++;
    let frame = this.frames[this.depth];
    if (frame === undefined) {
      frame = new DeliveryFrame();
      this.frames[this.depth] = frame;
    }
    frame.count = 0;
    this.frame = frame;
    return frame;
  }

  private leaveFrame(outer: DeliveryFrame): void {
    const frame = this.frame;
    // Drop references so that subscribers and messages can be collected.
    frame.entries.fill(undefined as unknown as SubscriberEntry, 0, frame.count);
    frame.identifiers.fill(undefined, 0, frame.count);
    frame.shared.fill(undefined, 0, frame.count);
    frame.count = 0;
    this.depth--;
    this.frame = outer;
  }

  private drop(entry: SubscriberEntry, subscription: Subscription): void {
    entry.subscriptions.delete(subscription.fullFilter);
    if (entry.subscriber.remote === true) this.remoteCount--;
    else this.subscriptionCount--;
    const group = subscription.group;
    if (group === undefined) {
      this.index.remove(subscription.filter, subscription);
    } else {
      const at = group.members.indexOf(subscription);
      if (at !== -1) group.members.splice(at, 1);
      if (group.members.length === 0) {
        this.groups.delete(`${group.group}/${group.filter}`);
        this.index.remove(group.filter, group);
      }
    }
    if (entry.subscriptions.size === 0) this.entries.delete(entry.subscriber);
  }
}

function minQoS(a: QoS, b: QoS): QoS {
  return a < b ? a : b;
}

function reportDeliveryError(error: unknown): void {
  console.error('mqtt-sessions router: a subscriber threw while receiving a message', error);
}
