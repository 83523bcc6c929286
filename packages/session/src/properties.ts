import type { MessageProperties } from '@mqtt-sessions/router';
import type { IPublishPacket } from 'mqtt-packet';

const NONE: MessageProperties = Object.freeze({});

/**
 * The properties of a client's PUBLISH that travel on to subscribers, untouched [MQTT-3.3.2-4]
 * [MQTT-3.3.2-15] [MQTT-3.3.2-16] [MQTT-3.3.2-17] [MQTT-3.3.2-20]. The Topic Alias belongs to the
 * client's connection and Subscription Identifiers to the receiver's subscriptions, so neither is
 * forwarded; the Message Expiry Interval becomes an absolute expiry.
 */
export function forwardedProperties(properties: IPublishPacket['properties']): MessageProperties {
  if (properties === undefined) return NONE;
  const out: MessageProperties = {};
  if (properties.payloadFormatIndicator !== undefined) {
    out.payloadFormatIndicator = properties.payloadFormatIndicator;
  }
  if (properties.contentType !== undefined) out.contentType = properties.contentType;
  if (properties.responseTopic !== undefined) out.responseTopic = properties.responseTopic;
  if (properties.correlationData !== undefined) out.correlationData = properties.correlationData;
  if (properties.userProperties !== undefined) out.userProperties = properties.userProperties;
  return out;
}
