import {
  after,
  expiresAt,
  forwardedProperties,
  isPromiseLike,
  type MaybePromise,
  type QoS,
} from '@mqtt-sessions/protocol';
import type { RetainCursor, RetainedMessage, RetainPage } from '@mqtt-sessions/retain';
import type { RoutedMessage, Subscriber, SubscriptionOptions } from '@mqtt-sessions/router';
import type { Runtime } from '@mqtt-sessions/runtime-default';

/**
 * Who receives the retained messages of a new subscription: an MQTT session, or a server-side
 * subscriber of a pool.
 */
export interface RetainedReceiver extends Subscriber {
  /** Asked whether each message may be delivered (`deliver-retained`). */
  readonly runtime: Runtime<unknown>;
  readonly userContext: unknown;
  /** True once the receiver is gone: the delivery stops. */
  readonly ended: boolean;
  now(): number;
  /** Whether another page may come now; false pauses until {@link RetainedDelivery.run}. */
  hasRoomForRetained(): boolean;
  /** One page of the retained messages a filter matches. */
  matchRetained(
    filter: string,
    cursor: RetainCursor | null,
    limit: number,
  ): MaybePromise<RetainPage>;
  reportError(error: unknown): void;
}

/**
 * Sends the retained messages of a new subscription, a page at a time and only while the
 * receiver has room, so that a filter matching a million retained messages is delivered under
 * flow control instead of overflowing a queue. A paused delivery goes on when {@link run} is
 * called again (after acknowledgements or a drained transport made room).
 *
 * Each message passes the runtime's `deliver-retained` check, keeps its Message Expiry Interval
 * (the time left, as a deadline), and goes with RETAIN set [MQTT-3.3.1-9] at the lower of its QoS
 * and the subscription's.
 */
export class RetainedDelivery {
  private cursor: RetainCursor | null = null;
  private fetching = false;
  private finished = false;
  private whenFinished: { promise: Promise<void>; resolve: () => void } | undefined = undefined;
  private readonly receiver: RetainedReceiver;
  private readonly filter: string;
  private readonly options: SubscriptionOptions;
  private readonly pageSize: number;
  private readonly onFinish: (() => void) | undefined;

  /** @param onFinish Called once the delivery is done, also when that happens later. */
  constructor(
    receiver: RetainedReceiver,
    filter: string,
    options: SubscriptionOptions,
    pageSize: number,
    onFinish?: () => void,
  ) {
    this.receiver = receiver;
    this.filter = filter;
    this.options = options;
    this.pageSize = pageSize;
    this.onFinish = onFinish;
  }

  /** True once every match was delivered, or the delivery failed or its receiver ended. */
  get done(): boolean {
    return this.finished;
  }

  /**
   * Starts (or goes on with) the delivery. Returns nothing when it finished at once, else a
   * Promise that settles when it finishes; a paused delivery's Promise waits for later runs.
   */
  start(): MaybePromise<void> {
    this.run();
    if (this.finished) return;
    if (this.whenFinished === undefined) {
      let resolve = (): void => {};
      const promise = new Promise<void>((done) => {
        resolve = done;
      });
      this.whenFinished = { promise, resolve };
    }
    return this.whenFinished.promise;
  }

  /** Delivers pages until the matches end, the receiver has no room, or a page is on its way. */
  run(): void {
    const receiver = this.receiver;
    while (!this.finished && !this.fetching) {
      if (receiver.ended) {
        this.finish();
        return;
      }
      if (!receiver.hasRoomForRetained()) return;
      let page: MaybePromise<RetainPage>;
      try {
        page = receiver.matchRetained(this.filter, this.cursor, this.pageSize);
      } catch (error) {
        this.fail(error);
        return;
      }
      if (isPromiseLike(page)) {
        this.fetching = true;
        page.then(
          (ready) => this.takeLater(ready),
          (error: unknown) => this.fail(error),
        );
        return;
      }
      let taken: MaybePromise<void>;
      try {
        taken = this.take(page);
      } catch (error) {
        this.fail(error);
        return;
      }
      if (isPromiseLike(taken)) {
        this.fetching = true;
        taken.then(
          () => this.goOn(),
          (error: unknown) => this.fail(error),
        );
        return;
      }
    }
  }

  private takeLater(page: RetainPage): void {
    let taken: MaybePromise<void>;
    try {
      taken = this.take(page);
    } catch (error) {
      this.fail(error);
      return;
    }
    if (isPromiseLike(taken))
      taken.then(
        () => this.goOn(),
        (error: unknown) => this.fail(error),
      );
    else this.goOn();
  }

  private goOn(): void {
    this.fetching = false;
    this.run();
  }

  /** Delivers the messages of one page that the runtime allows. */
  private take(page: RetainPage): MaybePromise<void> {
    this.cursor = page.cursor;
    const last = page.cursor === null;
    const messages = page.messages;
    const receiver = this.receiver;
    let index = 0;
    const next = (): MaybePromise<void> => {
      while (index < messages.length) {
        const message = messages[index++] as RetainedMessage;
        if (receiver.ended) return;
        const allowed = receiver.runtime.isAllowed(
          {
            action: 'deliver-retained',
            topic: message.topic,
            message: { ...message, retain: true },
          },
          receiver.userContext,
        );
        if (isPromiseLike(allowed)) {
          return after(allowed, (ok) => {
            if (ok === true) this.deliver(message);
            return next();
          });
        }
        // Only `true` allows: a refusal may be an object (AccessDenied).
        if (allowed === true) this.deliver(message);
      }
      if (last) this.finish();
    };
    return next();
  }

  private deliver(stored: RetainedMessage): void {
    const message = routedFromRetained(stored, this.receiver.now());
    const qos = Math.min(stored.qos, this.options.qos) as QoS;
    const id = this.options.subscriptionIdentifier;
    this.receiver.deliver(
      message,
      qos,
      true,
      id === undefined ? undefined : [id],
      undefined,
      this.filter,
    );
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.fetching = false;
    this.whenFinished?.resolve();
    this.onFinish?.();
  }

  private fail(error: unknown): void {
    this.finish();
    this.receiver.reportError(error);
  }
}

/** A stored retained message as a routed one: its expiry counts from `now` on. */
export function routedFromRetained(stored: RetainedMessage, now: number): RoutedMessage {
  return {
    topic: stored.topic,
    payload: stored.payload,
    qos: stored.qos,
    retain: true,
    properties: forwardedProperties(stored.properties),
    propertyBytes: stored.propertyBytes,
    expiresAt: expiresAt(stored.properties.messageExpiryInterval, now),
    sender: undefined,
    senderContext: undefined,
    wireCache: undefined,
  };
}
