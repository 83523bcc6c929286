import { ReasonCode } from '@mqtt-sessions/protocol';
import type { Packet } from 'mqtt-packet';

/** Why a packet from a client is malformed or a protocol error, with the reason code to send. */
export interface IncomingProblem {
  readonly code: number;
  readonly reason: string;
}

/** The UTF-8 string properties a client may send (MQTT 5 section 2.2.2.2). */
interface StringProperties {
  contentType?: string | undefined;
  responseTopic?: string | undefined;
  reasonString?: string | undefined;
  authenticationMethod?: string | undefined;
  userProperties?: Record<string, string | string[]> | undefined;
}

const NUL = '\u0000';

/**
 * The checks of a client's packet that mqtt-packet leaves to the server and that do not depend on
 * the session: no property cut short by the end of the packet (a malformed packet the codec reads
 * as null or -1); no U+0000 in any UTF-8 string [MQTT-1.5.4-2] [MQTT-1.5.7-1]; a Will QoS of 0-2
 * [MQTT-3.1.2-12]; no wildcard in a Response Topic [MQTT-3.3.2-14]; no Subscription Identifier
 * on a client's PUBLISH [MQTT-3.3.4-6]; at least one filter in SUBSCRIBE and UNSUBSCRIBE
 * [MQTT-3.8.3-2] [MQTT-3.10.3-2]. Returns undefined when the packet passes.
 */
export function checkIncoming(packet: Packet): IncomingProblem | undefined {
  switch (packet.cmd) {
    case 'publish': {
      if (packet.topic.includes(NUL)) return malformed('U+0000 in the topic');
      const props = packet.properties;
      if (props === undefined) return undefined;
      if (props.subscriptionIdentifier !== undefined) {
        return protocolError('a PUBLISH from a client carries a Subscription Identifier');
      }
      return checkStrings(props) ?? checkResponseTopic(props.responseTopic);
    }
    case 'subscribe':
      if (packet.subscriptions.length === 0) return protocolError('SUBSCRIBE without a filter');
      for (const entry of packet.subscriptions) {
        if (entry.topic.includes(NUL)) return malformed('U+0000 in a topic filter');
      }
      return checkStrings(packet.properties);
    case 'unsubscribe':
      if (packet.unsubscriptions.length === 0) return protocolError('UNSUBSCRIBE without a filter');
      for (const filter of packet.unsubscriptions) {
        if (filter.includes(NUL)) return malformed('U+0000 in a topic filter');
      }
      return checkStrings(packet.properties);
    case 'connect': {
      if (packet.username?.includes(NUL)) return malformed('U+0000 in the User Name');
      const problem = checkStrings(packet.properties);
      if (problem !== undefined) return problem;
      const will = packet.will;
      if (will === undefined || will === null) return undefined;
      if ((will.qos ?? 0) > 2) return malformed('Will QoS 3');
      if (will.topic.includes(NUL)) return malformed('U+0000 in the Will Topic');
      return checkStrings(will.properties) ?? checkResponseTopic(will.properties?.responseTopic);
    }
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
    case 'disconnect':
    case 'auth':
      return checkStrings(packet.properties);
    default:
      return undefined;
  }
}

function checkStrings(props: StringProperties | undefined): IncomingProblem | undefined {
  if (props === undefined) return undefined;
  // mqtt-packet reads a property that runs past the end of the packet as null (strings, binary
  // data, string pairs) or -1 (integers) instead of failing: such a packet is malformed.
  for (const name in props) {
    const value = (props as Record<string, unknown>)[name];
    if (value === null || (typeof value === 'number' && value < 0)) {
      return malformed('a property runs past the end of the packet');
    }
  }
  if (
    props.contentType?.includes(NUL) ||
    props.responseTopic?.includes(NUL) ||
    props.reasonString?.includes(NUL) ||
    props.authenticationMethod?.includes(NUL)
  ) {
    return malformed('U+0000 in a UTF-8 string property');
  }
  const user = props.userProperties;
  if (user !== undefined) {
    for (const name in user) {
      if (name.includes(NUL)) return malformed('U+0000 in a User Property name');
      const value = user[name];
      const values = Array.isArray(value) ? value : [value];
      for (const one of values) {
        if (typeof one !== 'string') return malformed('a User Property cut short');
        if (one.includes(NUL)) return malformed('U+0000 in a User Property value');
      }
    }
  }
  return undefined;
}

function checkResponseTopic(topic: string | undefined): IncomingProblem | undefined {
  if (topic !== undefined && (topic.includes('+') || topic.includes('#'))) {
    return protocolError('a wildcard in the Response Topic');
  }
  return undefined;
}

function malformed(reason: string): IncomingProblem {
  return { code: ReasonCode.MalformedPacket, reason };
}

function protocolError(reason: string): IncomingProblem {
  return { code: ReasonCode.ProtocolError, reason };
}
