import type { MessageProperties, QoS } from '@mqtt-sessions/protocol';

/** The options a client (or server code) subscribes with (MQTT 5 section 3.8.3.1). */
export interface SubscriptionOptions {
  /** The maximum QoS the subscriber wants; deliveries get min(message QoS, this). */
  readonly qos: QoS;
  /** Do not deliver the subscriber's own publishes back to it. */
  readonly noLocal: boolean;
  /** Keep the RETAIN flag of forwarded messages as published, instead of clearing it. */
  readonly retainAsPublished: boolean;
  /** 0: send retained messages on subscribe; 1: only for a new subscription; 2: never. */
  readonly retainHandling: 0 | 1 | 2;
  /** The Subscription Identifier to send with matching messages, if any (1 to 268,435,455). */
  readonly subscriptionIdentifier: number | undefined;
}

/** Options with the defaults of a plain MQTT 3.1.1 subscription at the given QoS. */
export function subscriptionOptions(
  qos: QoS,
  overrides: Partial<SubscriptionOptions> = {},
): SubscriptionOptions {
  return {
    qos,
    noLocal: false,
    retainAsPublished: false,
    retainHandling: 0,
    subscriptionIdentifier: undefined,
    ...overrides,
  };
}

/**
 * An application message as the router passes it on. One instance is shared by every receiver of a
 * publish, so it must not be changed after {@link Router.publish}.
 */
export interface RoutedMessage {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: QoS;
  /** The RETAIN flag as published. */
  readonly retain: boolean;
  readonly properties: MessageProperties;
  /**
   * The same properties as the publisher encoded them, in its order, when the message came off
   * the wire: receivers get these bytes unaltered, so User Properties keep their order
   * [MQTT-3.3.2-18]. Absent, they are encoded from `properties`.
   */
  readonly propertyBytes?: Buffer | undefined;
  /** When the message expires (ms since the epoch), from its Message Expiry Interval. */
  readonly expiresAt: number | undefined;
  /**
   * Who published it, compared by identity for No Local: the publishing {@link Subscriber}, or any
   * other object (or `undefined` for anonymous server-side publishes).
   */
  readonly sender: unknown;
  /** The publisher's user context, handed to server-side callback subscribers. */
  readonly senderContext: unknown;
  /**
   * The broker node the message was published on, for a message that another node of a cluster
   * forwarded here; absent for one published here. Such a message reaches this node's own
   * subscribers only: never a {@link Subscriber.remote} one, and never a shared group, whose member
   * the publishing node picked.
   */
  readonly origin?: string | undefined;
  /**
   * A free slot for the delivering layer (a session) to cache the encoded packet, so that a message
   * fanned out to many clients is encoded once per distinct wire form.
   */
  wireCache: unknown;
}

/** A shared subscription group, as passed to the receiver of a message routed through one. */
export interface SharedRoute {
  /** The share name. */
  readonly group: string;
  /** The topic filter the group subscribes to. */
  readonly filter: string;
}

/**
 * Something messages are routed to: an MQTT session, or a server-side callback. The router calls
 * {@link deliver} once per matching subscription or, by default, once per publish with the highest
 * granted QoS and every Subscription Identifier of the subscriber's matching subscriptions.
 */
export interface Subscriber {
  /**
   * Receives a message.
   * @param message The shared message; do not modify it.
   * @param qos The granted QoS: min(message QoS, subscription QoS), the highest over overlaps.
   * @param retain The RETAIN flag to send, per Retain As Published.
   * @param subscriptionIdentifiers The identifiers of the matching subscriptions, or undefined.
   * @param shared The shared subscription group the message came through, if any.
   * @param filter The matching filter (with one copy per subscriber: one of the matching filters).
   */
  deliver(
    message: RoutedMessage,
    qos: QoS,
    retain: boolean,
    subscriptionIdentifiers: readonly number[] | undefined,
    shared: SharedRoute | undefined,
    filter: string,
  ): void;
  /**
   * False while the subscriber cannot take messages right away (a session without a connection).
   * Shared subscriptions prefer members that are online. Absent means always online.
   */
  readonly online?: boolean;
  /**
   * True for a relay to another node of a cluster, which stands for that node's subscribers. It
   * gets only messages published on this node (those without {@link RoutedMessage.origin}).
   */
  readonly remote?: boolean;
}
