import type { MessageProperties } from '@mqtt-sessions/protocol';

/**
 * Copies the properties a retained message keeps, without `messageExpiryInterval` (stores keep a
 * deadline instead and report the time left on the way out). Any other PUBLISH property, such as
 * `topicAlias` or `subscriptionIdentifier`, is dropped: those belong to one connection. Buffers and
 * arrays are copied, so a caller that reuses its packet objects cannot change a stored message.
 *
 * @param properties The PUBLISH properties, or `undefined`.
 */
export function copyRetainedProperties(
  properties: MessageProperties | undefined,
): MessageProperties {
  const copy: MessageProperties = {};
  if (properties === undefined) return copy;
  if (properties.payloadFormatIndicator !== undefined) {
    copy.payloadFormatIndicator = properties.payloadFormatIndicator;
  }
  if (properties.contentType !== undefined) copy.contentType = properties.contentType;
  if (properties.responseTopic !== undefined) copy.responseTopic = properties.responseTopic;
  if (properties.correlationData !== undefined) {
    copy.correlationData = copyBuffer(properties.correlationData);
  }
  if (properties.userProperties !== undefined) {
    copy.userProperties = copyUserProperties(properties.userProperties);
  }
  return copy;
}

/**
 * Copies a buffer into memory of its own. `Buffer.from(buffer)` may place small copies in Node's
 * shared 8 KiB pool, which a long-lived retained message would then pin; an unpooled copy keeps the
 * memory a message holds equal to its size.
 */
export function copyBuffer(source: Buffer): Buffer {
  const copy = Buffer.allocUnsafeSlow(source.length);
  source.copy(copy);
  return copy;
}

function copyUserProperties(
  source: Record<string, string | string[]>,
): Record<string, string | string[]> {
  const copy: Record<string, string | string[]> = {};
  for (const key of Object.keys(source)) {
    const value = source[key] as string | string[];
    copy[key] = Array.isArray(value) ? value.slice() : value;
  }
  return copy;
}
