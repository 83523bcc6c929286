import {
  after,
  expiresAt,
  forwardedProperties,
  isPromiseLike,
  type MaybePromise,
  type QoS,
} from '@mqtt-sessions/protocol';
import type { RetainCursor, RetainedMessage, RetainPage } from '@mqtt-sessions/retain';
import type { RoutedMessage, SubscriptionOptions } from '@mqtt-sessions/router';
import type { Session } from './session.js';

/**
 * Sends the retained messages of a new subscription, a page at a time, and only while the
 * session's outbox has room, so that a filter matching a million retained messages is delivered
 * under flow control instead of overflowing the queue. Paused jobs resume when acknowledgements
 * or a draining transport make room.
 */
export class RetainedDelivery {
  private cursor: RetainCursor | null = null;
  private fetching = false;
  done = false;
  private readonly session: Session<unknown>;
  private readonly filter: string;
  private readonly options: SubscriptionOptions;

  constructor(session: Session<unknown>, filter: string, options: SubscriptionOptions) {
    this.session = session;
    this.filter = filter;
    this.options = options;
  }

  /** Delivers pages until the matches end, the outbox is full, or a page is on its way. */
  run(): void {
    const session = this.session;
    while (!this.done && !this.fetching && session.hasRoomForRetained()) {
      let page: MaybePromise<RetainPage>;
      try {
        page = session.host.matchRetained(
          this.filter,
          this.cursor,
          session.options.retainedPageSize,
        );
      } catch (error) {
        this.fail(error);
        return;
      }
      if (isPromiseLike(page)) {
        this.fetching = true;
        page.then(
          (ready) => this.resume(ready),
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
          () => {
            this.fetching = false;
            this.run();
          },
          (error: unknown) => this.fail(error),
        );
        return;
      }
    }
  }

  private resume(page: RetainPage): void {
    let taken: MaybePromise<void>;
    try {
      taken = this.take(page);
    } catch (error) {
      this.fail(error);
      return;
    }
    const go = () => {
      this.fetching = false;
      this.run();
    };
    if (isPromiseLike(taken)) taken.then(go, (error: unknown) => this.fail(error));
    else go();
  }

  /** Delivers the messages of one page; each passes the runtime's `deliver-retained` check. */
  private take(page: RetainPage): MaybePromise<void> {
    this.cursor = page.cursor;
    if (page.cursor === null) this.done = true;
    const messages = page.messages;
    let index = 0;
    const next = (): MaybePromise<void> => {
      while (index < messages.length) {
        const message = messages[index++] as RetainedMessage;
        if (this.session.ended) return;
        const allowed = this.session.runtime.isAllowed(
          {
            action: 'deliver-retained',
            topic: message.topic,
            message: { ...message, retain: true },
          },
          this.session.userContext,
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
    };
    return next();
  }

  private deliver(stored: RetainedMessage): void {
    const session = this.session;
    const message: RoutedMessage = {
      topic: stored.topic,
      payload: stored.payload,
      qos: stored.qos,
      retain: true,
      properties: forwardedProperties(stored.properties),
      expiresAt: expiresAt(stored.properties.messageExpiryInterval, session.timers.now()),
      sender: undefined,
      senderContext: undefined,
      wireCache: undefined,
    };
    const qos = Math.min(stored.qos, this.options.qos) as QoS;
    const id = this.options.subscriptionIdentifier;
    // A retained message sent for a new subscription has RETAIN set [MQTT-3.3.1-9].
    session.deliver(message, qos, true, id === undefined ? undefined : [id], undefined);
  }

  private fail(error: unknown): void {
    this.done = true;
    this.fetching = false;
    this.session.reportError(error);
  }
}
