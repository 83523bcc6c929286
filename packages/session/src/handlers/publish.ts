import { isUtf8 } from 'node:buffer';
import {
  after,
  expiresAt,
  forwardedProperties,
  isPromiseLike,
  type MaybePromise,
  ReasonCode,
} from '@mqtt-sessions/protocol';
import type { PublishResult, RoutedMessage } from '@mqtt-sessions/router';
import type { AccessDecision } from '@mqtt-sessions/runtime-default';
import { isSysTopic, validateTopicName } from '@mqtt-sessions/topic-trie';
import type { IPublishPacket } from 'mqtt-packet';
import {
  denialOf,
  problemInformation,
  refusalCode,
  sendWithProblemInformation,
} from '../access.js';
import type { ConnectionState, ForwardedBytes, SessionContext } from '../context.js';
import { countDrop } from '../host.js';

/**
 * PUBLISH from a client (MQTT 5 section 3.3.4): checks QoS, retain, Receive Maximum, the topic
 * and its alias, the rate limit and the ACL; routes the message; and answers QoS 1 with PUBACK and
 * QoS 2 with PUBREC once routing is done. QoS 2 is routed on PUBLISH, so PUBREL only ends it.
 */
export function handlePublish(
  session: SessionContext,
  connection: ConnectionState,
  packet: IPublishPacket,
): MaybePromise<void> {
  session.metrics.publishReceived++;
  const options = session.options;
  const qos = packet.qos;
  const id = packet.messageId as number;
  if (qos > options.maximumQoS) {
    connection.disconnect(ReasonCode.QoSNotSupported, 'QoS above Maximum QoS'); // [MQTT-3.2.2-11]
    return;
  }
  if (packet.retain && !options.retainAvailable) {
    connection.disconnect(ReasonCode.RetainNotSupported, 'retain is not available'); // [MQTT-3.2.2-14]
    return;
  }
  if (qos === 2 && session.isAwaitingRelease(id)) {
    // A resend of a QoS 2 PUBLISH we have: acknowledge it again, deliver it once [MQTT-4.3.3-10].
    connection.sendAck('pubrec', id, ReasonCode.Success);
    return;
  }
  if (qos === 2 && session.awaitingReleaseCount >= options.maxAwaitingRelease) {
    connection.disconnect(
      ReasonCode.ReceiveMaximumExceeded,
      'too many QoS 2 messages without PUBREL',
    );
    return;
  }
  if (qos > 0 && connection.inboundUnacked >= options.receiveMaximum) {
    connection.disconnect(ReasonCode.ReceiveMaximumExceeded, 'Receive Maximum exceeded'); // [MQTT-3.3.4-7]
    return;
  }
  const topic = resolveTopic(session, connection, packet);
  if (topic === undefined) return;
  if (qos === 1 && session.isAwaitingRelease(id)) {
    acknowledge(connection, 1, id, ReasonCode.PacketIdentifierInUse);
    return;
  }
  const props = packet.properties;
  const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
  if (props?.payloadFormatIndicator === true && !isUtf8(payload)) {
    acknowledge(connection, qos, id, ReasonCode.PayloadFormatInvalid); // section 3.3.2.3.2
    return;
  }
  if (qos > 0 && session.overloaded) {
    // Over the memory budget: refused before it is accepted, so nothing acknowledged is dropped.
    countDrop(session.metrics, 'overload');
    refuseMessage(connection, qos, id, ReasonCode.QuotaExceeded, 'over the memory budget');
    return;
  }
  if (!session.takePublishToken()) {
    countDrop(session.metrics, 'rate-limited');
    refuseMessage(connection, qos, id, ReasonCode.QuotaExceeded, 'over the incoming rate');
    return;
  }
  if (options.refuseSysPublish && isSysTopic(topic) && !options.sysPublishAllowed.includes(topic)) {
    // $SYS/ topics belong to the server (section 4.7.2): a client does not publish there.
    acknowledge(connection, qos, id, ReasonCode.NotAuthorized);
    return;
  }
  if (qos === 0 && isControlTopic(topic, session.clientId)) {
    const levels = topic.split('/').slice(2);
    return after(session.runtime.controlMessage(levels, packet, session.userContext), (context) => {
      session.userContext = context;
    });
  }
  if (qos > 0) connection.inboundUnacked++;
  const allowed = session.runtime.isAllowed(
    { action: 'publish', topic, message: packet },
    session.userContext,
  );
  return after(allowed, (ok) => {
    if (ok !== true) {
      if (qos > 0) connection.inboundUnacked--;
      refusePublish(connection, qos, id, ok);
      return;
    }
    const message: RoutedMessage = {
      topic,
      payload,
      qos,
      retain: packet.retain,
      properties: forwardedProperties(props),
      propertyBytes: (packet as ForwardedBytes).forwardedBytes,
      expiresAt:
        props?.messageExpiryInterval === undefined
          ? undefined
          : expiresAt(props.messageExpiryInterval, session.now()),
      sender: session,
      senderContext: session.userContext,
      // Present, though unset: every message has one shape, so the router reads it fast.
      origin: undefined,
      wireCache: undefined,
    };
    const mark = session.journalMark();
    const routed = session.publish(message);
    if (qos === 0) return;
    return after(routed, (result) => afterRouting(session, connection, qos, id, result, mark));
  });
}

/**
 * Acknowledges a routed QoS 1 or 2 message (0x10 when nobody subscribes, in MQTT 5), or refuses
 * it: 0x97 on overload, 0x80 when a retained message could not be stored.
 */
function afterRouting(
  session: SessionContext,
  connection: ConnectionState,
  qos: 1 | 2,
  id: number,
  result: PublishResult,
  mark: number,
): void {
  if (!result.ok) {
    connection.inboundUnacked--;
    const code =
      result.reason === 'overload' ? ReasonCode.QuotaExceeded : ReasonCode.UnspecifiedError;
    refuseMessage(connection, qos, id, code, result.message);
    return;
  }
  const code =
    result.deliveries === 0 && connection.version === 5
      ? ReasonCode.NoMatchingSubscribers
      : ReasonCode.Success;
  if (qos === 2) {
    session.awaitRelease(id); // counted against Receive Maximum until PUBREL
  } else {
    connection.inboundUnacked--;
  }
  // Acknowledged once stored for every persistent session it was queued for (and, for QoS 2,
  // with its packet id), so that nothing acknowledged is lost in a crash.
  // A message that went to no persistent session recorded nothing: its acknowledgement does not
  // wait on other sessions' writes, nor fail with them.
  const stored = session.durable(mark);
  const handedOver = result.handedOver;
  const ready =
    handedOver === undefined
      ? stored
      : isPromiseLike(stored)
        ? Promise.all([stored, handedOver]).then(() => undefined)
        : handedOver;
  connection.sendAckWhenStored(ready, qos === 1 ? 'puback' : 'pubrec', id, code);
}

/**
 * The topic of a PUBLISH after Topic Alias resolution [MQTT-3.3.2-12], or undefined when the
 * client broke a rule and was disconnected.
 */
function resolveTopic(
  session: SessionContext,
  connection: ConnectionState,
  packet: IPublishPacket,
): string | undefined {
  const topic = packet.topic;
  const alias = connection.version === 5 ? packet.properties?.topicAlias : undefined;
  if (alias !== undefined) {
    if (alias === 0 || alias > session.options.topicAliasMaximum) {
      connection.disconnect(ReasonCode.TopicAliasInvalid, 'Topic Alias out of range'); // [MQTT-3.3.2-9] [MQTT-3.3.2-10]
      return undefined;
    }
    if (topic.length === 0) {
      const known = connection.inboundAlias(alias);
      if (known === undefined) {
        connection.disconnect(ReasonCode.ProtocolError, 'unknown Topic Alias');
        return undefined;
      }
      return known;
    }
  }
  const options = session.options;
  const valid = validateTopicName(topic, {
    maxLevels: options.maxTopicLevels,
    maxBytes: options.maxTopicLength,
  });
  if (!valid.ok) {
    if (connection.version === 5) connection.disconnect(ReasonCode.TopicNameInvalid, valid.message);
    else connection.drop(valid.message);
    return undefined;
  }
  if (alias !== undefined) {
    connection.setInboundAlias(alias, topic);
  }
  return topic;
}

/**
 * Answers a PUBLISH the runtime refused: the runtime's reason code, and for a v5 client that
 * allows it its reason string and user properties (see `AccessDenied`). QoS 0 gets no answer.
 */
function refusePublish(
  connection: ConnectionState,
  qos: 0 | 1 | 2,
  id: number,
  decision: AccessDecision,
): void {
  if (qos === 0) return;
  const reasonCode = refusalCode(decision, 'publish');
  const denial = denialOf(decision);
  const problem = denial === undefined ? undefined : problemInformation(connection, [denial]);
  const cmd = qos === 1 ? 'puback' : 'pubrec';
  sendWithProblemInformation(connection, { cmd, messageId: id, reasonCode }, problem);
}

/**
 * A QoS 1/2 PUBLISH the broker does not take: PUBACK/PUBREC with `code` in MQTT 5. MQTT 3.1.1
 * has no failing PUBACK, and a plain one would say the message was taken while it is dropped:
 * the connection closes instead, and the client sends the message again when it is back.
 */
function refuseMessage(
  connection: ConnectionState,
  qos: 0 | 1 | 2,
  id: number,
  code: number,
  reason: string,
): void {
  if (qos === 0) return;
  if (connection.version === 5) acknowledge(connection, qos, id, code);
  else connection.disconnect(code, reason);
}

/** PUBACK for QoS 1, PUBREC for QoS 2, nothing for QoS 0. */
function acknowledge(
  connection: ConnectionState,
  qos: 0 | 1 | 2,
  id: number,
  reasonCode: number,
): void {
  if (qos === 1) connection.sendAck('puback', id, reasonCode);
  else if (qos === 2) connection.sendAck('pubrec', id, reasonCode);
}

/** `$client/{own client id}/...`: a message for the server itself (see Runtime.controlMessage). */
function isControlTopic(topic: string, clientId: string): boolean {
  return (
    topic.startsWith('$client/') &&
    topic.startsWith(clientId, 8) &&
    (topic.length === 8 + clientId.length || topic.charCodeAt(8 + clientId.length) === 0x2f)
  );
}
