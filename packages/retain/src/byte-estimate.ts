import type { MessageProperties } from '@mqtt-sessions/protocol';

/**
 * The fixed cost counted for each retained message on top of its data: the payload's own Buffer,
 * the entry, the trie node and map slots that find it, and its heap and list links. Measured on
 * Node 20 (x64): 200,000 messages with 11-byte payloads on 21-character topics took about 546 bytes
 * of heap and ArrayBuffer memory each, 514 of them beyond payload and topic.
 */
export const RETAINED_ENTRY_OVERHEAD_BYTES = 512;

/** The fixed cost counted for each property present (its slot and tag). */
const PROPERTY_OVERHEAD_BYTES = 8;

/**
 * The bytes a retained message is accounted at: its payload, its topic and property strings in
 * UTF-8, its correlation data, and a fixed overhead ({@link RETAINED_ENTRY_OVERHEAD_BYTES} plus a
 * little per property). Stores use it for `bytes()` and for memory caps; it is the same for every
 * backend so that caps and metrics compare across them.
 *
 * @param topic The message's topic.
 * @param payload The message's payload.
 * @param properties The stored properties (see `copyRetainedProperties`).
 */
export function estimateRetainedBytes(
  topic: string,
  payload: Buffer,
  properties: MessageProperties,
): number {
  let bytes = RETAINED_ENTRY_OVERHEAD_BYTES + payload.length + Buffer.byteLength(topic, 'utf8');
  if (properties.payloadFormatIndicator !== undefined) bytes += PROPERTY_OVERHEAD_BYTES;
  if (properties.messageExpiryInterval !== undefined) bytes += PROPERTY_OVERHEAD_BYTES;
  if (properties.contentType !== undefined) {
    bytes += PROPERTY_OVERHEAD_BYTES + Buffer.byteLength(properties.contentType, 'utf8');
  }
  if (properties.responseTopic !== undefined) {
    bytes += PROPERTY_OVERHEAD_BYTES + Buffer.byteLength(properties.responseTopic, 'utf8');
  }
  if (properties.correlationData !== undefined) {
    bytes += PROPERTY_OVERHEAD_BYTES + properties.correlationData.length;
  }
  if (properties.userProperties !== undefined) {
    bytes += userPropertyBytes(properties.userProperties);
  }
  return bytes;
}

function userPropertyBytes(userProperties: Record<string, string | string[]>): number {
  let bytes = 0;
  for (const key of Object.keys(userProperties)) {
    const keyBytes = PROPERTY_OVERHEAD_BYTES + Buffer.byteLength(key, 'utf8');
    const value = userProperties[key] as string | string[];
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        bytes += keyBytes + Buffer.byteLength(value[i] as string, 'utf8');
      }
    } else {
      bytes += keyBytes + Buffer.byteLength(value, 'utf8');
    }
  }
  return bytes;
}
