import { type MessageProperties, secondsLeft } from '@mqtt-sessions/protocol';
import type { RetainedMessage } from '@mqtt-sessions/retain';

/** The stored properties as JSON, with the correlation data in base64; '' when there are none. */
interface StoredProperties {
  payloadFormatIndicator?: boolean;
  contentType?: string;
  responseTopic?: string;
  correlationData?: string;
  userProperties?: Record<string, string | string[]>;
}

/** Encodes stored properties (without the expiry) for the message hash's `r` field. */
export function encodeProperties(properties: MessageProperties): string {
  const stored: StoredProperties = {};
  let any = false;
  if (properties.payloadFormatIndicator !== undefined) {
    stored.payloadFormatIndicator = properties.payloadFormatIndicator;
    any = true;
  }
  if (properties.contentType !== undefined) {
    stored.contentType = properties.contentType;
    any = true;
  }
  if (properties.responseTopic !== undefined) {
    stored.responseTopic = properties.responseTopic;
    any = true;
  }
  if (properties.correlationData !== undefined) {
    stored.correlationData = properties.correlationData.toString('base64');
    any = true;
  }
  if (properties.userProperties !== undefined) {
    stored.userProperties = properties.userProperties;
    any = true;
  }
  return any ? JSON.stringify(stored) : '';
}

function decodeProperties(encoded: Buffer): MessageProperties {
  if (encoded.length === 0) return {};
  const stored = JSON.parse(encoded.toString('utf8')) as StoredProperties;
  const properties: MessageProperties = {};
  if (stored.payloadFormatIndicator !== undefined) {
    properties.payloadFormatIndicator = stored.payloadFormatIndicator;
  }
  if (stored.contentType !== undefined) properties.contentType = stored.contentType;
  if (stored.responseTopic !== undefined) properties.responseTopic = stored.responseTopic;
  if (stored.correlationData !== undefined) {
    properties.correlationData = Buffer.from(stored.correlationData, 'base64');
  }
  if (stored.userProperties !== undefined) properties.userProperties = stored.userProperties;
  return properties;
}

/**
 * Builds a message from the fetch script's reply for one topic: the hash fields payload, QoS,
 * storedAt, deadline ('' for none) and properties. A deadline turns into the seconds left at `now`
 * [MQTT-3.3.2-6]; the script has already dropped messages whose deadline passed.
 */
export function decodeMessage(topic: string, fields: Buffer[], now: number): RetainedMessage {
  const [payload, qos, storedAt, deadline, properties, propertyBytes] = fields as [
    Buffer,
    Buffer,
    Buffer,
    Buffer,
    Buffer,
    Buffer,
  ];
  const decoded = decodeProperties(properties);
  if (deadline.length > 0) {
    decoded.messageExpiryInterval = secondsLeft(Number(deadline.toString()), now);
  }
  const message = {
    topic,
    payload,
    qos: Number(qos.toString()) as 0 | 1 | 2,
    properties: decoded,
    storedAt: Number(storedAt.toString()),
  };
  return propertyBytes.length === 0 ? message : { ...message, propertyBytes };
}
