import type { MessageProperties } from '@mqtt-sessions/protocol';

/**
 * MessageProperties as stored in a TEXT column: JSON, with the correlation data in base64 (its
 * only binary field), or NULL when there are none. Every field is kept as given, the Message
 * Expiry Interval too; User Properties keep their order (JSON keeps the order of keys).
 */
export function encodeProperties(properties: MessageProperties | undefined): string | null {
  if (properties === undefined) return null;
  let any = false;
  let binary = false;
  for (const key in properties) {
    if ((properties as Record<string, unknown>)[key] === undefined) continue;
    any = true;
    if (key === 'correlationData') binary = true;
  }
  if (!any) return null;
  if (!binary) return JSON.stringify(properties);
  const copy: Record<string, unknown> = { ...properties };
  copy.correlationData = (properties.correlationData as Buffer).toString('base64');
  return JSON.stringify(copy);
}

/** The properties of {@link encodeProperties}' output; `{}` for NULL. */
export function decodeProperties(encoded: string | null): MessageProperties {
  if (encoded === null) return {};
  const properties = JSON.parse(encoded) as Record<string, unknown>;
  if (typeof properties.correlationData === 'string') {
    properties.correlationData = Buffer.from(properties.correlationData, 'base64');
  }
  return properties as MessageProperties;
}
