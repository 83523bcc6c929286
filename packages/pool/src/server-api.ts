import {
  after,
  expiresAt,
  forwardedProperties,
  isPromiseLike,
  type MaybePromise,
  type MessageProperties,
  type QoS,
} from '@mqtt-sessions/protocol';
import type { RetainCursor, RetainedMessage, RetainPage } from '@mqtt-sessions/retain';
import {
  type RoutedMessage,
  type SharedRoute,
  type Subscriber,
  subscriptionOptions,
} from '@mqtt-sessions/router';
import type { AccessDecision } from '@mqtt-sessions/runtime-default';
import {
  bindingsOf,
  type TopicBindings,
  validateTopicFilter,
  validateTopicName,
} from '@mqtt-sessions/topic-trie';
import { decodePayload, encodePayload } from './payload.js';
import type { Pool } from './pool.js';

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
  | { ok: false; reason: 'invalid-topic' | 'not-allowed' | 'overload'; message: string };

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

/** See {@link Pool.serverPublish}. */
export function publishFromServer<UC>(
  pool: Pool<UC>,
  topic: string,
  value: unknown,
  options: PublishOptions<UC>,
): MaybePromise<PublishOutcome> {
  const valid = validateTopicName(topic, { maxLevels: pool.sessionOptions.maxTopicLevels });
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
  const context = options.userContext ?? pool.runtime.newUserContext(anonymous(pool));
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
        pool.publish(message, undefined),
        (result): PublishOutcome =>
          result.ok ? result : { ok: false, reason: 'overload', message: result.message },
      );
    },
  );
}

/** See {@link Pool.serverSubscribe}. */
export function subscribeFromServer<UC>(
  pool: Pool<UC>,
  filter: string,
  callback: (message: DeliveredMessage) => void,
  options: SubscribeOptions<UC>,
): MaybePromise<SubscribeOutcome> {
  const valid = validateTopicFilter(filter, { maxLevels: pool.sessionOptions.maxTopicLevels });
  if (!valid.ok) return { ok: false, reason: 'invalid-filter', message: valid.message };
  const context = options.userContext ?? pool.runtime.newUserContext(anonymous(pool));
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
    const subscriber = new CallbackSubscriber(filter, callback);
    const result = pool.subscribe(
      subscriber,
      filter,
      subscriptionOptions(options.qos ?? 2, { noLocal: options.noLocal ?? false }),
    );
    if (!result.ok) return { ok: false, reason: 'invalid-filter', message: result.message };
    const subscription: ServerSubscription = {
      filter,
      unsubscribe: () => pool.unsubscribe(subscriber, filter),
    };
    const outcome: SubscribeOutcome = { ok: true, subscription };
    if (options.retained === false) return outcome;
    return after(deliverRetained(pool, filter, subscriber, context), () => outcome);
  });
}

/** A server-side subscriber: calls back with the message, its bindings and the publisher context. */
export class CallbackSubscriber implements Subscriber {
  private readonly filter: string;
  private readonly callback: (message: DeliveredMessage) => void;

  constructor(filter: string, callback: (message: DeliveredMessage) => void) {
    this.filter = filter;
    this.callback = callback;
  }

  deliver(
    message: RoutedMessage,
    qos: QoS,
    retain: boolean,
    _ids: readonly number[] | undefined,
    _shared: SharedRoute | undefined,
  ): void {
    this.callback(
      delivered(
        message.topic,
        message.payload,
        qos,
        retain,
        message.properties,
        this.filter,
        message.senderContext,
      ),
    );
  }
}

function delivered(
  topic: string,
  payload: Buffer,
  qos: QoS,
  retain: boolean,
  properties: MessageProperties,
  filter: string,
  publisherContext: unknown,
): DeliveredMessage {
  return {
    topic,
    payload,
    qos,
    retain,
    properties,
    bindings: bindingsOf(filter, topic),
    publisherContext,
    decode: () => decodePayload(payload, properties.contentType),
  };
}

/** Sends every retained message the filter matches to a new server-side subscriber. */
function deliverRetained<UC>(
  pool: Pool<UC>,
  filter: string,
  subscriber: CallbackSubscriber,
  context: UC,
): MaybePromise<void> {
  const page = (cursor: RetainCursor | null): MaybePromise<void> =>
    after(pool.matchRetained(filter, cursor, 500), (found: RetainPage) => {
      let index = 0;
      const next = (): MaybePromise<void> => {
        while (index < found.messages.length) {
          const stored = found.messages[index++] as RetainedMessage;
          const allowed = pool.runtime.isAllowed(
            {
              action: 'deliver-retained',
              topic: stored.topic,
              message: { ...stored, retain: true },
            },
            context,
          );
          if (isPromiseLike(allowed)) {
            return after(allowed, (ok) => {
              if (ok === true) deliverStored(subscriber, stored);
              return next();
            });
          }
          if (allowed === true) deliverStored(subscriber, stored);
        }
        if (found.cursor !== null) return page(found.cursor);
      };
      return next();
    });
  return page(null);
}

function deliverStored(subscriber: CallbackSubscriber, stored: RetainedMessage): void {
  const { messageExpiryInterval: _, ...properties } = stored.properties;
  subscriber.deliver(
    {
      topic: stored.topic,
      payload: stored.payload,
      qos: stored.qos,
      retain: true,
      properties,
      expiresAt: undefined,
      sender: undefined,
      senderContext: undefined,
      wireCache: undefined,
    },
    stored.qos,
    true,
    undefined,
    undefined,
  );
}

/** The runtime's reason string of a refusal, or `fallback` when it gave none. */
function refusalMessage(decision: AccessDecision, fallback: string): string {
  const denied = typeof decision === 'object' && decision !== null ? decision : undefined;
  return denied?.reasonString ?? fallback;
}

function anonymous<UC>(pool: Pool<UC>) {
  return { pool: pool.name, clientId: '', routingId: '', peerIp: undefined, contextPrefs: {} };
}
