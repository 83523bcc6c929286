import type { ProtocolVersion, QoS } from '@mqtt-sessions/protocol';
import type { RoutedMessage } from '@mqtt-sessions/router';
import { encodeMessageProperties, encodePublish } from './encode.js';

/**
 * The encoded PUBLISH of one message in the forms many receivers share: per protocol version,
 * QoS and RETAIN flag, without topic alias, subscription identifiers or expiry (receivers with
 * those get their own encoding). A fan-out to a thousand clients encodes the message once per
 * form instead of a thousand times; QoS 1 and 2 forms carry packet identifier 0, and each
 * receiver gets a copy with its own identifier written in (see {@link withPacketId}).
 *
 * It lives in the message's `wireCache` slot, so it goes when the message does.
 */
export function sharedForm(
  message: RoutedMessage,
  version: ProtocolVersion,
  qos: QoS,
  retain: boolean,
): Buffer {
  const forms = cacheOf(message);
  const key = (version === 5 ? 6 : 0) + qos * 2 + (retain ? 1 : 0);
  let bytes = forms[key];
  if (bytes === undefined) {
    bytes = encodePublish(
      {
        topic: message.topic,
        payload: message.payload,
        qos,
        retain,
        dup: false,
        messageId: qos === 0 ? undefined : 0,
        propertyBytes: version === 5 ? forwardedBytes(message) : undefined,
        messageExpiryInterval: undefined,
        subscriptionIds: undefined,
        topicAlias: undefined,
      },
      version,
    );
    forms[key] = bytes;
  }
  return bytes;
}

/** The slot of the encoded forwarded properties, after the twelve forms. */
const PROPERTIES_SLOT = 12;

/**
 * The forwarded properties of a message, encoded: the publisher's bytes when it came off the
 * wire, else encoded from its `properties` once and cached with the forms.
 */
export function forwardedBytes(message: RoutedMessage): Buffer | undefined {
  if (message.propertyBytes !== undefined) return message.propertyBytes;
  if (isEmpty(message.properties)) return undefined; // most messages: nothing to encode or cache
  const forms = cacheOf(message);
  let bytes = forms[PROPERTIES_SLOT];
  if (bytes === undefined) {
    bytes = encodeMessageProperties(message.properties) ?? NONE;
    forms[PROPERTIES_SLOT] = bytes;
  }
  return bytes === NONE ? undefined : bytes;
}

const NONE = Buffer.alloc(0);

function isEmpty(properties: object): boolean {
  for (const _ in properties) return false;
  return true;
}

function cacheOf(message: RoutedMessage): (Buffer | undefined)[] {
  let forms = message.wireCache as (Buffer | undefined)[] | undefined;
  if (forms === undefined) {
    forms = [];
    message.wireCache = forms;
  }
  return forms;
}

const DUP_FLAG = 0x08;

/**
 * A copy of a shared QoS 1 or 2 PUBLISH with this receiver's packet identifier, and DUP set for a
 * resend. The identifier follows the fixed header and the topic name (MQTT 5 section 3.3.2).
 */
export function withPacketId(form: Buffer, packetId: number, dup: boolean): Buffer {
  let header = 1;
  while (((form[header] as number) & 0x80) !== 0) header++;
  header++; // the last byte of the remaining length
  const at = header + 2 + form.readUInt16BE(header);
  const bytes = Buffer.allocUnsafe(form.length);
  form.copy(bytes);
  bytes.writeUInt16BE(packetId, at);
  if (dup) bytes[0] = (bytes[0] as number) | DUP_FLAG;
  return bytes;
}
