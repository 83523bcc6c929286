import type { SharedGroup } from './shared-group.js';
import type { Subscriber, SubscriptionOptions } from './types.js';

/** Everything the router keeps about one subscriber, plus scratch space for one publish. */
export class SubscriberEntry {
  readonly subscriber: Subscriber;
  /** Subscriptions by their full filter (`$share/...` included). */
  readonly subscriptions = new Map<string, Subscription>();
  /** The publish that last matched this subscriber, and its delivery slot in that publish. */
  epoch = 0;
  slot = 0;

  constructor(subscriber: Subscriber) {
    this.subscriber = subscriber;
  }
}

/** One subscription: a subscriber, a filter and its options. */
export class Subscription {
  readonly kind = 'subscription';
  readonly entry: SubscriberEntry;
  /** The full filter as subscribed, `$share/{group}/` prefix included. */
  readonly fullFilter: string;
  /** The filter that is matched against topics. */
  readonly filter: string;
  options: SubscriptionOptions;
  readonly group: SharedGroup | undefined;

  constructor(
    entry: SubscriberEntry,
    fullFilter: string,
    filter: string,
    options: SubscriptionOptions,
    group: SharedGroup | undefined,
  ) {
    this.entry = entry;
    this.fullFilter = fullFilter;
    this.filter = filter;
    this.options = options;
    this.group = group;
  }
}
