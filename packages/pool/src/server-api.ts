import {
  after,
  type Clock,
  expiresAt,
  forwardedProperties,
  type MaybePromise,
  type MessageProperties,
  type QoS,
  secondsLeft,
  systemTimers,
} from '@mqtt-sessions/protocol';
import {
  type RoutedMessage,
  type SharedRoute,
  type Subscriber,
  subscriptionOptions,
} from '@mqtt-sessions/router';
import type { AccessDecision, Runtime } from '@mqtt-sessions/runtime-default';
import { RetainedDelivery, type SessionHost } from '@mqtt-sessions/session';
import {
  bindingsOf,
  type TopicBindings,
  validateTopicFilter,
  validateTopicName,
} from '@mqtt-sessions/topic-trie';
import { decodePayload, encodePayload } from './payload.js';

/** What the server-side API needs of a pool. */
export interface ServerSide<UC> {
  readonly name: string;
  readonly runtime: Runtime<UC>;
  /** The pool's sessions' port: publishing, subscribing and retained messages go through it. */
  readonly host: SessionHost;
  readonly timers: Clock;
  /** The most levels a topic or filter may have. */
  readonly maxTopicLevels: number;
  /** Retained messages fetched per page. */
  readonly retainedPageSize: number;
}

/** Options of a server-side publish. */
export interface PublishOptions<UC> {
  readonly qos?: QoS;
  readonly retain?: boolean;
  /** PUBLISH properties: content type, response topic, correlation data, user properties... */
  readonly properties?: MessageProperties & { messageExpiryInterval?: number };
  /** Whose publish this is, for the runtime's ACL; the pool's anonymous context by default. */
  readonly userContext?: UC;
  /** The publisher's identity for No Local (a server-side subscription handle, say). */
  readonly sender?: unknown;
}

/** The outcome of a server-side publish. */
export type PublishOutcome =
  | { ok: true; deliveries: number }
  | {
      ok: false;
      reason: 'invalid-topic' | 'not-allowed' | 'overload' | 'store-failed';
      message: string;
    };

/** Options of a server-side subscription. */
export interface SubscribeOptions<UC> {
  /** Whose subscription this is, for the runtime's ACL. */
  readonly userContext?: UC;
  /** The QoS to receive at; server-side subscribers get every message at up to this. Default 2. */
  readonly qos?: QoS;
  /** Skip messages published with `sender` equal to this subscription's handle. */
  readonly noLocal?: boolean;
  /** Deliver retained messages when subscribing. Default true. */
  readonly retained?: boolean;
}

/** A handle of a server-side subscription. */
export interface ServerSubscription {
  /** The filter subscribed to. */
  readonly filter: string;
  /** Ends the subscription; false when it had already ended. */
  unsubscribe(): boolean;
}

/** The outcome of a server-side subscribe. */
export type SubscribeOutcome =
  | { ok: true; subscription: ServerSubscription }
  | { ok: false; reason: 'invalid-filter' | 'not-allowed'; message: string };

/** A message as a server-side subscriber receives it. */
export interface DeliveredMessage {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: QoS;
  readonly retain: boolean;
  readonly properties: MessageProperties;
  /** What the filter's `+` and `#` matched. */
  readonly bindings: TopicBindings;
  /** The publisher's user context (undefined for retained messages and anonymous publishes). */
  readonly publisherContext: unknown;
  /** The payload decoded by its content type; see `decodePayload`. */
  decode(): ReturnType<typeof decodePayload>;
}

/** A server-side publish: see `Pool.serverPublish`. */
export function publishFromServer<UC>(
  pool: ServerSide<UC>,
  topic: string,
  value: unknown,
  options: PublishOptions<UC>,
): MaybePromise<PublishOutcome> {
  const valid = validateTopicName(topic, { maxLevels: pool.maxTopicLevels });
  if (!valid.ok) return { ok: false, reason: 'invalid-topic', message: valid.message };
  const given = options.properties;
  const forwarded = forwardedProperties(given);
  const encoded = encodePayload(value, forwarded.contentType);
  const properties: MessageProperties =
    encoded.contentType === undefined
      ? forwarded
      : { ...forwarded, contentType: encoded.contentType };
  const qos = options.qos ?? 0;
  const retain = options.retain ?? false;
  if (qos > 0 && pool.host.queueBudget?.exceeded === true) {
    return {
      ok: false,
      reason: 'overload',
      message: 'the sessions hold more bytes than their budget',
    };
  }
  const context = options.userContext ?? anonymousContext(pool);
  const request = { topic, payload: encoded.payload, qos, retain, properties };
  return after(
    pool.runtime.isAllowed({ action: 'publish', topic, message: request }, context),
    (ok) => {
      if (ok !== true) {
        return {
          ok: false,
          reason: 'not-allowed',
          message: refusalMessage(ok, 'the runtime refused the publish'),
        };
      }
      const message: RoutedMessage = {
        topic,
        payload: encoded.payload,
        qos,
        retain,
        properties,
        expiresAt: expiresAt(given?.messageExpiryInterval, pool.timers.now()),
        sender: options.sender,
        senderContext: context,
        wireCache: undefined,
      };
      return after(
        pool.host.publish(message, undefined),
        (result): MaybePromise<PublishOutcome> => {
          if (!result.ok) return { ok: false, reason: result.reason, message: result.message };
          const outcome: PublishOutcome = { ok: true, deliveries: result.deliveries };
          // Handed on to other nodes (a cluster): settled once they have it.
          const handedOver = result.handedOver;
          if (handedOver === undefined) return outcome;
          return handedOver.then(
            () => outcome,
            (): PublishOutcome => ({
              ok: false,
              reason: 'store-failed',
              message: 'the message was not handed to the other nodes',
            }),
          );
        },
      );
    },
  );
}

/** A server-side subscribe: see `Pool.serverSubscribe`. */
export function subscribeFromServer<UC>(
  pool: ServerSide<UC>,
  filter: string,
  callback: (message: DeliveredMessage) => void,
  options: SubscribeOptions<UC>,
): MaybePromise<SubscribeOutcome> {
  const valid = validateTopicFilter(filter, { maxLevels: pool.maxTopicLevels });
  if (!valid.ok) return { ok: false, reason: 'invalid-filter', message: valid.message };
  const context = options.userContext ?? anonymousContext(pool);
  const allowed = pool.runtime.isAllowed(
    { action: 'subscribe', topic: filter, subscription: undefined },
    context,
  );
  return after(allowed, (ok): MaybePromise<SubscribeOutcome> => {
    if (ok !== true) {
      return {
        ok: false,
        reason: 'not-allowed',
        message: refusalMessage(ok, 'the runtime refused the subscription'),
      };
    }
    const subscriber = new CallbackSubscriber(filter, callback, pool.timers);
    const subscription = subscriptionOptions(options.qos ?? 2, {
      noLocal: options.noLocal ?? false,
    });
    const host = pool.host;
    const result = host.subscribe(subscriber, filter, subscription);
    if (!result.ok) return { ok: false, reason: 'invalid-filter', message: result.message };
    const outcome: SubscribeOutcome = {
      ok: true,
      subscription: { filter, unsubscribe: () => host.unsubscribe(subscriber, filter) },
    };
    if (options.retained === false) return outcome;
    // The retained messages take the path a client's take; a server-side subscriber always has room.
    let failure: unknown;
    const delivery = new RetainedDelivery(
      {
        runtime: pool.runtime as Runtime<unknown>,
        userContext: context,
        ended: false,
        now: () => pool.timers.now(),
        hasRoomForRetained: () => true,
        matchRetained: (inner, cursor, limit) => host.matchRetained(inner, cursor, limit),
        reportError: (error) => {
          failure ??= error;
        },
        deliver: (message, qos, retain, ids, shared) =>
          subscriber.deliver(message, qos, retain, ids, shared),
      },
      filter,
      subscription,
      pool.retainedPageSize,
    );
    return after(delivery.start(), () => {
      if (failure !== undefined) throw failure;
      return outcome;
    });
  });
}

/**
 * A server-side subscriber: calls back with the message, its bindings and the publisher context.
 * A message with a Message Expiry Interval carries the seconds it has left.
 */
export class CallbackSubscriber implements Subscriber {
  private readonly filter: string;
  private readonly callback: (message: DeliveredMessage) => void;
  private readonly clock: Clock;

  constructor(
    filter: string,
    callback: (message: DeliveredMessage) => void,
    clock: Clock = systemTimers,
  ) {
    this.filter = filter;
    this.callback = callback;
    this.clock = clock;
  }

  deliver(
    message: RoutedMessage,
    qos: QoS,
    retain: boolean,
    _ids: readonly number[] | undefined,
    _shared: SharedRoute | undefined,
  ): void {
    const { topic, payload } = message;
    const deadline = message.expiresAt;
    const properties: MessageProperties =
      deadline === undefined
        ? message.properties
        : { ...message.properties, messageExpiryInterval: secondsLeft(deadline, this.clock.now()) };
    this.callback({
      topic,
      payload,
      qos,
      retain,
      properties,
      bindings: bindingsOf(this.filter, topic),
      publisherContext: message.senderContext,
      decode: () => decodePayload(payload, properties.contentType),
    });
  }
}

/** The runtime's reason string of a refusal, or `fallback` when it gave none. */
function refusalMessage(decision: AccessDecision, fallback: string): string {
  const denied = typeof decision === 'object' && decision !== null ? decision : undefined;
  return denied?.reasonString ?? fallback;
}

/** The user context of server code that publishes or subscribes as nobody in particular. */
function anonymousContext<UC>(pool: ServerSide<UC>): UC {
  return pool.runtime.newUserContext({
    pool: pool.name,
    clientId: '',
    routingId: '',
    peerIp: undefined,
    contextPrefs: {},
  });
}
