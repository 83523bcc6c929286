import type { MessageProperties, ProtocolVersion, QoS } from '@mqtt-sessions/protocol';
import type {
  MessageStage,
  SessionKey,
  StoredMessage,
  StoredSession,
  StoredSubscription,
  StoredWill,
} from '@mqtt-sessions/session-store';

/**
 * How records, messages and subscriptions are stored: a binary frame of a format byte, the byte
 * length of a JSON header (32-bit, big-endian), the header, then the binary parts (payload, then
 * the encoded properties) raw, as many bytes as the header says. Payloads are never text-encoded,
 * so they come back byte for byte; the correlation data, the one binary property, is base64 in
 * the header.
 */
const FORMAT = 1;
const PREFIX_BYTES = 5;

/** Message properties as stored in a header. */
interface PropertiesHeader {
  /** payloadFormatIndicator */
  f?: boolean;
  /** messageExpiryInterval */
  e?: number;
  /** contentType */
  c?: string;
  /** responseTopic */
  r?: string;
  /** correlationData, base64 */
  d?: string;
  /** userProperties */
  u?: Record<string, string | string[]>;
}

interface WillHeader {
  t: string;
  q: QoS;
  r: boolean;
  p?: PropertiesHeader;
  /** delayInterval */
  d: number;
  /** dueAt */
  x?: number;
  /** payload length */
  n: number;
  /** propertyBytes length, when there are property bytes */
  b?: number;
}

interface SessionHeader {
  v: ProtocolVersion;
  /** expiryInterval */
  e: number;
  /** expiresAt */
  x?: number;
  /** userData */
  u?: unknown;
  /** lastPacketId */
  l: number;
  w?: WillHeader;
}

interface MessageHeader {
  t: string;
  q: 1 | 2;
  r: boolean;
  p?: PropertiesHeader;
  /** expiresAt */
  x?: number;
  /** subscriptionIds */
  i?: readonly number[];
  /** shared: group, filter */
  s?: [string, string];
  /** stage */
  g: MessageStage;
  /** packetId */
  k: number;
  /** sent */
  d: boolean;
  /** payload length */
  n: number;
  /** propertyBytes length, when there are property bytes */
  b?: number;
}

interface SubscriptionHeader {
  q: QoS;
  n: boolean;
  a: boolean;
  h: 0 | 1 | 2;
  i?: number;
}

const STAGES: ReadonlySet<string> = new Set([
  'queued',
  'await-puback',
  'await-pubrec',
  'await-pubcomp',
]);

function encodeProperties(properties: MessageProperties): PropertiesHeader | undefined {
  const out: PropertiesHeader = {};
  let any = false;
  if (properties.payloadFormatIndicator !== undefined) {
    out.f = properties.payloadFormatIndicator;
    any = true;
  }
  if (properties.messageExpiryInterval !== undefined) {
    out.e = properties.messageExpiryInterval;
    any = true;
  }
  if (properties.contentType !== undefined) {
    out.c = properties.contentType;
    any = true;
  }
  if (properties.responseTopic !== undefined) {
    out.r = properties.responseTopic;
    any = true;
  }
  if (properties.correlationData !== undefined) {
    out.d = properties.correlationData.toString('base64');
    any = true;
  }
  if (properties.userProperties !== undefined) {
    out.u = properties.userProperties;
    any = true;
  }
  return any ? out : undefined;
}

function decodeProperties(header: PropertiesHeader | undefined): MessageProperties {
  const out: MessageProperties = {};
  if (header === undefined) return out;
  if (header.f !== undefined) out.payloadFormatIndicator = header.f;
  if (header.e !== undefined) out.messageExpiryInterval = header.e;
  if (header.c !== undefined) out.contentType = header.c;
  if (header.r !== undefined) out.responseTopic = header.r;
  if (header.d !== undefined) out.correlationData = Buffer.from(header.d, 'base64');
  if (header.u !== undefined) out.userProperties = header.u;
  return out;
}

function frame(header: object, parts: readonly Buffer[]): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  let length = PREFIX_BYTES + json.length;
  for (const part of parts) length += part.length;
  const out = Buffer.allocUnsafe(length);
  out.writeUInt8(FORMAT, 0);
  out.writeUInt32BE(json.length, 1);
  let at = PREFIX_BYTES + json.copy(out, PREFIX_BYTES);
  for (const part of parts) at += part.copy(out, at);
  return out;
}

/** Splits a frame into its header and the bytes after it. */
function unframe<T>(blob: Buffer, what: string): { header: T; body: Buffer } {
  if (blob.length < PREFIX_BYTES || blob.readUInt8(0) !== FORMAT) {
    throw new Error(`unknown encoding of a stored ${what} (format byte ${blob[0]})`);
  }
  const end = PREFIX_BYTES + blob.readUInt32BE(1);
  if (end > blob.length) throw new Error(`a stored ${what} is truncated`);
  const header = JSON.parse(blob.toString('utf8', PREFIX_BYTES, end)) as T;
  return { header, body: blob.subarray(end) };
}

/** Copies `length` bytes at `at` out of `body` (a copy, so the reply buffer can be freed). */
function take(body: Buffer, at: number, length: number, what: string): Buffer {
  if (at + length > body.length) throw new Error(`a stored ${what} is truncated`);
  return Buffer.from(body.subarray(at, at + length));
}

/** Encodes a session record, its Will included. The pool and client id are in the key. */
export function encodeSession(session: StoredSession): Buffer {
  const header: SessionHeader = {
    v: session.protocolVersion,
    e: session.expiryInterval,
    l: session.lastPacketId,
  };
  if (session.expiresAt !== undefined) header.x = session.expiresAt;
  if (session.userData !== undefined) header.u = session.userData;
  const parts: Buffer[] = [];
  const will = session.will;
  if (will !== undefined) {
    const w: WillHeader = {
      t: will.topic,
      q: will.qos,
      r: will.retain,
      d: will.delayInterval,
      n: will.payload.length,
    };
    const properties = encodeProperties(will.properties);
    if (properties !== undefined) w.p = properties;
    if (will.dueAt !== undefined) w.x = will.dueAt;
    parts.push(will.payload);
    if (will.propertyBytes !== undefined) {
      w.b = will.propertyBytes.length;
      parts.push(will.propertyBytes);
    }
    header.w = w;
  }
  return frame(header, parts);
}

/** Decodes a session record for `key`. */
export function decodeSession(key: SessionKey, blob: Buffer): StoredSession {
  const { header, body } = unframe<SessionHeader>(blob, 'session');
  let will: StoredWill | undefined;
  if (header.w !== undefined) {
    const w = header.w;
    const decoded: StoredWill = {
      topic: w.t,
      payload: take(body, 0, w.n, 'Will'),
      qos: w.q,
      retain: w.r,
      properties: decodeProperties(w.p),
      delayInterval: w.d,
      dueAt: w.x,
    };
    will =
      w.b === undefined ? decoded : { ...decoded, propertyBytes: take(body, w.n, w.b, 'Will') };
  }
  return {
    pool: key.pool,
    clientId: key.clientId,
    protocolVersion: header.v,
    expiryInterval: header.e,
    expiresAt: header.x,
    userData: header.u,
    lastPacketId: header.l,
    will,
  };
}

/** Encodes a message; its seq is its field name and its score, not part of the value. */
export function encodeMessage(message: StoredMessage): Buffer {
  const header: MessageHeader = {
    t: message.topic,
    q: message.qos,
    r: message.retain,
    g: message.stage,
    k: message.packetId,
    d: message.sent,
    n: message.payload.length,
  };
  const properties = encodeProperties(message.properties);
  if (properties !== undefined) header.p = properties;
  if (message.expiresAt !== undefined) header.x = message.expiresAt;
  if (message.subscriptionIds !== undefined) header.i = message.subscriptionIds;
  if (message.shared !== undefined) header.s = [message.shared.group, message.shared.filter];
  if (message.propertyBytes === undefined) return frame(header, [message.payload]);
  header.b = message.propertyBytes.length;
  return frame(header, [message.payload, message.propertyBytes]);
}

/** Decodes the message stored under `seq`. */
export function decodeMessage(seq: number, blob: Buffer): StoredMessage {
  const { header: h, body } = unframe<MessageHeader>(blob, 'message');
  if (!STAGES.has(h.g)) throw new Error(`a stored message has an unknown stage: ${h.g}`);
  const message: StoredMessage = {
    seq,
    topic: h.t,
    payload: take(body, 0, h.n, 'message'),
    qos: h.q,
    retain: h.r,
    properties: decodeProperties(h.p),
    expiresAt: h.x,
    subscriptionIds: h.i,
    shared: h.s === undefined ? undefined : { group: h.s[0], filter: h.s[1] },
    stage: h.g,
    packetId: h.k,
    sent: h.d,
  };
  return h.b === undefined
    ? message
    : { ...message, propertyBytes: take(body, h.n, h.b, 'message') };
}

/** Encodes a subscription's options; its filter is its field name. */
export function encodeSubscription(subscription: StoredSubscription): string {
  const header: SubscriptionHeader = {
    q: subscription.qos,
    n: subscription.noLocal,
    a: subscription.retainAsPublished,
    h: subscription.retainHandling,
  };
  if (subscription.subscriptionIdentifier !== undefined) {
    header.i = subscription.subscriptionIdentifier;
  }
  return JSON.stringify(header);
}

/** Decodes the subscription stored under `filter`. */
export function decodeSubscription(filter: string, encoded: Buffer): StoredSubscription {
  const h = JSON.parse(encoded.toString('utf8')) as SubscriptionHeader;
  return {
    filter,
    qos: h.q,
    noLocal: h.n,
    retainAsPublished: h.a,
    retainHandling: h.h,
    subscriptionIdentifier: h.i,
  };
}
