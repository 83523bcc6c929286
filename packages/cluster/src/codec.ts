import type { MessageProperties, QoS } from '@mqtt-sessions/protocol';
import type { RoutedMessage, SharedRoute } from '@mqtt-sessions/router';

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
  /** properties, with bytes as {"$b": base64} */
  x: unknown;
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
 * the payload bytes as they are. The properties keep their bytes (Correlation Data) and, when the
 * message came off the wire, the publisher's own encoding, so that User Properties keep their
 * order on every node [MQTT-3.3.2-18].
 */
export function encodeForwarded(
  pool: string,
  message: RoutedMessage,
  shared: SharedRoute | undefined,
  origin: string,
): Buffer {
  const header: Header = {
    p: pool,
    t: message.topic,
    q: message.qos,
    r: message.retain,
    x: message.properties,
    o: origin,
  };
  if (message.expiresAt !== undefined) header.e = message.expiresAt;
  if (message.propertyBytes !== undefined) header.b = message.propertyBytes.toString('base64');
  if (shared !== undefined) {
    header.g = shared.group;
    header.f = shared.filter;
  }
  const json = Buffer.from(JSON.stringify(header, bytesAsBase64));
  const out = Buffer.allocUnsafe(4 + json.length + message.payload.length);
  out.writeUInt32BE(json.length, 0);
  json.copy(out, 4);
  message.payload.copy(out, 4 + json.length);
  return out;
}

/** Decodes what {@link encodeForwarded} made; throws on bytes it did not make. */
export function decodeForwarded(bytes: Buffer): ForwardedMessage {
  const length = bytes.readUInt32BE(0);
  const header = JSON.parse(bytes.subarray(4, 4 + length).toString(), base64AsBytes) as Header;
  const message: RoutedMessage = {
    topic: header.t,
    payload: Buffer.from(bytes.subarray(4 + length)),
    qos: header.q,
    retain: header.r,
    properties: header.x as MessageProperties,
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

function bytesAsBase64(this: unknown, _key: string, value: unknown): unknown {
  // JSON.stringify has already turned a Buffer into {type: 'Buffer', data: [...]} here.
  if (
    typeof value === 'object' &&
    value !== null &&
    (value as { type?: unknown }).type === 'Buffer' &&
    Array.isArray((value as { data?: unknown }).data)
  ) {
    return { $b: Buffer.from((value as { data: number[] }).data).toString('base64') };
  }
  return value;
}

function base64AsBytes(_key: string, value: unknown): unknown {
  if (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { $b?: unknown }).$b === 'string'
  ) {
    return Buffer.from((value as { $b: string }).$b, 'base64');
  }
  return value;
}

/** A Will as a cluster keeps it for a connection whose session no store keeps. */
export interface KeptWill {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: QoS;
  readonly retain: boolean;
  readonly properties: MessageProperties;
  readonly propertyBytes?: Buffer | undefined;
  readonly delayInterval: number;
}

/** Encodes a Will for the node's Will hash: JSON, with bytes as base64. */
export function encodeWill(will: KeptWill): string {
  return JSON.stringify(
    {
      t: will.topic,
      p: will.payload,
      q: will.qos,
      r: will.retain,
      x: will.properties,
      b: will.propertyBytes,
      d: will.delayInterval,
    },
    bytesAsBase64,
  );
}

/** Decodes what {@link encodeWill} made. */
export function decodeWill(text: string): KeptWill {
  const raw = JSON.parse(text, base64AsBytes) as {
    t: string;
    p: Buffer;
    q: QoS;
    r: boolean;
    x: MessageProperties;
    b?: Buffer;
    d: number;
  };
  return {
    topic: raw.t,
    payload: raw.p,
    qos: raw.q,
    retain: raw.r,
    properties: raw.x,
    propertyBytes: raw.b,
    delayInterval: raw.d,
  };
}
