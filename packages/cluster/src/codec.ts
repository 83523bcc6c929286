import type { MessageProperties, QoS } from '@mqtt-sessions/protocol';
import type { RoutedMessage, SharedRoute } from '@mqtt-sessions/router';
import type { WillMessage } from '@mqtt-sessions/will';

/** A message on its way to another node: what that node routes, and where. */
export interface ForwardedMessage {
  readonly pool: string;
  readonly message: RoutedMessage;
  /** The shared group this node picked the other node for, if any. */
  readonly shared: SharedRoute | undefined;
}

/** The header of a forwarded message, as JSON in front of the payload bytes. */
interface Header {
  /** pool */
  p: string;
  /** topic */
  t: string;
  /** QoS */
  q: QoS;
  /** RETAIN as published */
  r: boolean;
  /** expiry (ms since the epoch) */
  e?: number;
  /** the properties less Correlation Data */
  x: MessageProperties;
  /** Correlation Data, base64 */
  c?: string;
  /** the property bytes as the publisher sent them, base64 */
  b?: string;
  /** shared group and its filter */
  g?: string;
  f?: string;
  /** the node it was published on */
  o: string;
}

/**
 * Encodes a message for another node's inbox: a 4-byte header length, the header as JSON, then
 * the payload bytes as they are. Correlation Data, the one property made of bytes, travels as
 * base64 in a field of its own; the properties also keep the publisher's own encoding when the
 * message came off the wire, so that User Properties keep their order on every node
 * [MQTT-3.3.2-18].
 */
export function encodeForwarded(
  pool: string,
  message: RoutedMessage,
  shared: SharedRoute | undefined,
  origin: string,
): Buffer {
  const { correlationData, ...properties } = message.properties;
  const header: Header = {
    p: pool,
    t: message.topic,
    q: message.qos,
    r: message.retain,
    x: properties,
    o: origin,
  };
  if (correlationData !== undefined) header.c = correlationData.toString('base64');
  if (message.expiresAt !== undefined) header.e = message.expiresAt;
  if (message.propertyBytes !== undefined) header.b = message.propertyBytes.toString('base64');
  if (shared !== undefined) {
    header.g = shared.group;
    header.f = shared.filter;
  }
  const json = Buffer.from(JSON.stringify(header));
  const out = Buffer.allocUnsafe(4 + json.length + message.payload.length);
  out.writeUInt32BE(json.length, 0);
  json.copy(out, 4);
  message.payload.copy(out, 4 + json.length);
  return out;
}

/** Decodes what {@link encodeForwarded} made; throws on bytes it did not make. */
export function decodeForwarded(bytes: Buffer): ForwardedMessage {
  const length = bytes.readUInt32BE(0);
  const header = JSON.parse(bytes.subarray(4, 4 + length).toString()) as Header;
  const message: RoutedMessage = {
    topic: header.t,
    payload: Buffer.from(bytes.subarray(4 + length)),
    qos: header.q,
    retain: header.r,
    properties: withCorrelationData(header.x, header.c),
    propertyBytes: header.b === undefined ? undefined : Buffer.from(header.b, 'base64'),
    expiresAt: header.e,
    sender: undefined,
    senderContext: undefined,
    origin: header.o,
    wireCache: undefined,
  };
  const shared =
    header.g === undefined ? undefined : { group: header.g, filter: header.f as string };
  return { pool: header.p, message, shared };
}

/**
 * Packs the messages of one turn for one node into one stream entry: each with its length in 4
 * bytes before it. One XADD, and one entry to read, for a whole batch.
 */
export function packBatch(messages: readonly Buffer[]): Buffer {
  let size = 0;
  for (const message of messages) size += 4 + message.length;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const message of messages) {
    out.writeUInt32BE(message.length, at);
    message.copy(out, at + 4);
    at += 4 + message.length;
  }
  return out;
}

/** The messages of a batch {@link packBatch} made; throws on bytes it did not make. */
export function unpackBatch(batch: Buffer): Buffer[] {
  const messages: Buffer[] = [];
  let at = 0;
  while (at < batch.length) {
    const length = batch.readUInt32BE(at);
    if (at + 4 + length > batch.length) throw new Error('a forwarded batch is cut short');
    messages.push(batch.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  return messages;
}

/** Encodes a Will for the node's Will hash: JSON, with its bytes as base64. */
export function encodeWill(will: WillMessage): string {
  const { correlationData, ...properties } = will.properties;
  return JSON.stringify({
    t: will.topic,
    p: will.payload.toString('base64'),
    q: will.qos,
    r: will.retain,
    x: properties,
    c: correlationData?.toString('base64'),
    b: will.propertyBytes?.toString('base64'),
    d: will.delayInterval,
  });
}

/** Decodes what {@link encodeWill} made. */
export function decodeWill(text: string): WillMessage {
  const raw = JSON.parse(text) as {
    t: string;
    p: string;
    q: QoS;
    r: boolean;
    x: MessageProperties;
    c?: string;
    b?: string;
    d: number;
  };
  return {
    topic: raw.t,
    payload: Buffer.from(raw.p, 'base64'),
    qos: raw.q,
    retain: raw.r,
    properties: withCorrelationData(raw.x, raw.c),
    propertyBytes: raw.b === undefined ? undefined : Buffer.from(raw.b, 'base64'),
    delayInterval: raw.d,
  };
}

function withCorrelationData(
  properties: MessageProperties,
  base64: string | undefined,
): MessageProperties {
  return base64 === undefined
    ? properties
    : { ...properties, correlationData: Buffer.from(base64, 'base64') };
}
