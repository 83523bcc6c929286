/** A QoS level (MQTT 5 section 4.3). */
export type QoS = 0 | 1 | 2;

/**
 * User Properties as mqtt-packet represents them: a name given more than once maps to the list of
 * its values.
 */
export type UserProperties = Record<string, string | string[]>;

/**
 * The MQTT 5 properties that travel with an application message from publisher to subscriber:
 * those of a PUBLISH that are not about one connection (Topic Alias) or one subscription
 * (Subscription Identifier), and those of a Will (section 3.1.3.2 less the Will Delay Interval).
 * The Message Expiry Interval is in seconds; where a message waits, it becomes an absolute
 * deadline (see {@link expiresAt}).
 */
export interface MessageProperties {
  /** Whether the payload is UTF-8 text; forwarded unaltered [MQTT-3.3.2-4]. */
  payloadFormatIndicator?: boolean;
  /**
   * Lifetime in seconds. As published: the publisher's value. As forwarded: the seconds left,
   * rounded up, so never 0 for a message that is sent [MQTT-3.3.2-6].
   */
  messageExpiryInterval?: number;
  /** A MIME-like description of the payload; forwarded unaltered [MQTT-3.3.2-20]. */
  contentType?: string;
  /** The topic for a response; forwarded unaltered [MQTT-3.3.2-15]. */
  responseTopic?: string;
  /** Binary data matching a response to its request; forwarded unaltered [MQTT-3.3.2-16]. */
  correlationData?: Buffer;
  /** User properties, unaltered and in order [MQTT-3.3.2-17] [MQTT-3.3.2-18]. */
  userProperties?: UserProperties;
}

const NONE: MessageProperties = Object.freeze({});

/**
 * The properties of a message that travel on unaltered [MQTT-3.3.2-4] [MQTT-3.3.2-15]
 * [MQTT-3.3.2-16] [MQTT-3.3.2-17] [MQTT-3.3.2-20]: every {@link MessageProperties} field but the
 * Message Expiry Interval, which a waiting message keeps as a deadline and which is sent as the
 * time left. Anything else in `source` (a Topic Alias, a Subscription Identifier, a Will Delay
 * Interval) belongs to one connection or subscription and is left behind. Values are shared,
 * not copied.
 */
export function forwardedProperties(source: MessageProperties | undefined): MessageProperties {
  if (source === undefined) return NONE;
  const out: MessageProperties = {};
  if (source.payloadFormatIndicator !== undefined) {
    out.payloadFormatIndicator = source.payloadFormatIndicator;
  }
  if (source.contentType !== undefined) out.contentType = source.contentType;
  if (source.responseTopic !== undefined) out.responseTopic = source.responseTopic;
  if (source.correlationData !== undefined) out.correlationData = source.correlationData;
  if (source.userProperties !== undefined) out.userProperties = source.userProperties;
  return out;
}
