import { isUtf8 } from 'node:buffer';
import {
  after,
  connackReturnCodeV3,
  type MaybePromise,
  ReasonCode,
  SESSION_NEVER_EXPIRES,
} from '@mqtt-sessions/protocol';
import type { ConnackProperties, ConnectResult } from '@mqtt-sessions/runtime-default';
import { validateTopicName } from '@mqtt-sessions/topic-trie';
import type { WillMessage } from '@mqtt-sessions/will';
import type { IConnackPacket, IConnectPacket } from 'mqtt-packet';
import type { Attachment } from '../attachment.js';
import type { Session } from '../session.js';
import { willOf } from '../will-message.js';
import { sendAuth } from './auth.js';

/** A CONNECT that is waiting for enhanced authentication to finish. */
export interface PendingConnect {
  readonly packet: IConnectPacket;
  readonly will: WillMessage | undefined;
}

/**
 * The first packet of a connection: checks it, asks the runtime to authenticate it, and accepts
 * or refuses it (MQTT 5 section 3.1.4).
 */
export function handleConnect(
  session: Session<unknown>,
  link: Attachment,
  packet: IConnectPacket,
): MaybePromise<void> {
  const runtime = session.runtime;
  if (!runtime.isValidMessage(packet, link.info, session.userContext)) {
    link.close('the runtime refused the CONNECT');
    return;
  }
  const version = link.version;
  if (
    session.everConnected &&
    packet.clean === false &&
    session.protocolVersion !== undefined &&
    session.protocolVersion !== version
  ) {
    // As the original: a session made by one protocol version is not resumed by another.
    return refuse(session, link, ReasonCode.NotAuthorized, 'protocol version changed');
  }
  const problem = checkConnect(packet);
  if (problem !== undefined) return refuse(session, link, problem.code, problem.reason);
  const will = willOf(packet);
  const willProblem = will === undefined ? undefined : checkWill(session, will);
  if (willProblem !== undefined) return refuse(session, link, willProblem.code, willProblem.reason);
  link.authenticationMethod = version === 5 ? packet.properties?.authenticationMethod : undefined;
  link.pendingConnect = { packet, will };
  const result = runtime.connect(packet, session.everConnected, link.info, session.userContext);
  return after(result, (answer) => finishConnect(session, link, answer));
}

/**
 * Acts on the runtime's answer to a CONNECT or to an AUTH during CONNECT: continue enhanced
 * authentication, accept, or refuse.
 */
export function finishConnect(
  session: Session<unknown>,
  link: Attachment,
  result: ConnectResult<unknown>,
): void {
  if (link.state === 'closed') return;
  if (session.ended) {
    // The session ended (killed, expired) while the runtime decided: nothing to attach to. The
    // client is told to come back (0x88 Server unavailable); its next CONNECT gets a new session.
    refuse(session, link, ReasonCode.ServerUnavailable, 'the session ended during the handshake');
    return;
  }
  const pending = link.pendingConnect as PendingConnect;
  switch (result.type) {
    case 'error':
      refuseSilently(session, link, result.reason);
      return;
    case 'auth':
      if (link.authenticationMethod === undefined || result.reasonCode !== 0x18) {
        session.reportError(new Error('the runtime continued authentication without a method'));
        refuse(session, link, ReasonCode.ImplementationSpecificError, 'authentication error');
        return;
      }
      session.userContext = result.userContext;
      link.state = 'authenticating';
      session.watchdog.authenticating();
      sendAuth(link, ReasonCode.ContinueAuthentication, result.properties);
      return;
    case 'connack':
      if (result.reasonCode >= 0x80) {
        refuse(session, link, result.reasonCode, 'refused by the runtime', result.properties);
        return;
      }
      session.userContext = result.userContext;
      accept(session, link, pending, result.sessionPresent, result.properties);
  }
}

/** Accepts a CONNECT: takeover, clean start, limits, CONNACK, then the messages that waited. */
function accept(
  session: Session<unknown>,
  link: Attachment,
  pending: PendingConnect,
  runtimeSessionPresent: boolean | undefined,
  runtimeProperties: ConnackProperties | undefined,
): void {
  const { packet, will } = pending;
  const options = session.options;
  const v5 = link.version === 5;
  const props = v5 ? (packet.properties ?? {}) : {};
  const clean = packet.clean !== false;
  session.takeOver(link);
  // Session Present is 0 after a clean start [MQTT-3.2.2-2], else whether a session existed
  // [MQTT-3.2.2-3]. A runtime may say there is none, and then the old state goes too.
  let sessionPresent = !clean && session.everConnected;
  if (sessionPresent && runtimeSessionPresent === false) sessionPresent = false;
  // Without a session to resume, the old one (if any) ends here, with its pending Will.
  if (!sessionPresent) {
    if (session.everConnected) session.restart();
    else session.discardState();
  }
  session.protocolVersion = link.version;

  const requestedExpiry = v5
    ? (props.sessionExpiryInterval ?? options.defaultSessionExpiry)
    : clean
      ? 0
      : SESSION_NEVER_EXPIRES;
  const expiry = Math.min(requestedExpiry, options.maxSessionExpiry);
  session.expiryInterval = expiry;
  session.connectExpiryInterval = expiry;

  const requestedKeepAlive = packet.keepalive ?? 0;
  const max = options.maxKeepAlive;
  const keepAlive =
    max !== undefined && (requestedKeepAlive === 0 || requestedKeepAlive > max)
      ? max
      : requestedKeepAlive;
  link.startKeepAlive(keepAlive); // [MQTT-3.2.2-21]

  link.sendWindow = Math.min(props.receiveMaximum ?? 65535, options.maxInflight); // [MQTT-3.3.4-9]
  link.maxOutgoingPacketSize = Math.min(
    props.maximumPacketSize ?? Number.MAX_SAFE_INTEGER,
    options.maxOutgoingPacketSize ?? Number.MAX_SAFE_INTEGER,
  );
  if (v5 && options.outboundTopicAliases && (props.topicAliasMaximum ?? 0) > 0) {
    link.enableOutboundAliases(props.topicAliasMaximum as number);
  }
  link.problemInformation = props.requestProblemInformation !== false;
  link.state = 'connected';
  session.handshakes--;
  link.pendingConnect = undefined;
  session.everConnected = true;
  session.host.metrics.connects++;
  session.watchdog.connected(will, expiry);

  const connack: IConnackPacket = { cmd: 'connack', sessionPresent };
  if (v5) {
    connack.reasonCode = ReasonCode.Success;
    connack.properties = connackProperties(
      session,
      link,
      packet,
      expiry,
      keepAlive,
      runtimeProperties,
    );
  } else {
    connack.returnCode = 0;
  }
  link.sendPacket(connack);
  session.host.observe?.({
    type: 'connected',
    clientId: session.clientId,
    protocolVersion: link.version,
    sessionPresent,
    peerIp: link.info.peerIp,
  });
  session.outbox.resend(link);
  session.outbox.pump(link);
}

/** The CONNACK properties: the runtime's, then every one the server decides. */
function connackProperties(
  session: Session<unknown>,
  link: Attachment,
  packet: IConnectPacket,
  expiry: number,
  keepAlive: number,
  fromRuntime: ConnackProperties | undefined,
): ConnackProperties {
  const options = session.options;
  const props: ConnackProperties = { ...fromRuntime };
  props.sessionExpiryInterval = expiry;
  props.maximumPacketSize = options.maxIncomingPacketSize;
  if (options.receiveMaximum < 65535) props.receiveMaximum = options.receiveMaximum;
  if (options.maximumQoS < 2) props.maximumQoS = options.maximumQoS; // [MQTT-3.2.2-9]
  if (!options.retainAvailable) props.retainAvailable = false;
  if (options.topicAliasMaximum > 0) props.topicAliasMaximum = options.topicAliasMaximum;
  if (!options.wildcardSubscriptionAvailable) props.wildcardSubscriptionAvailable = false;
  if (!options.subscriptionIdentifiersAvailable) props.subscriptionIdentifiersAvailable = false;
  if (!options.sharedSubscriptionAvailable) props.sharedSubscriptionAvailable = false;
  if (keepAlive !== (packet.keepalive ?? 0)) props.serverKeepAlive = keepAlive;
  if (link.assignedClientId) props.assignedClientIdentifier = session.clientId; // [MQTT-3.2.2-16]
  if (packet.properties?.requestResponseInformation === true) {
    const info = session.runtime.responseInformation(session.userContext);
    if (info !== undefined) props.responseInformation = info;
  }
  if (link.authenticationMethod !== undefined) {
    props.authenticationMethod = link.authenticationMethod;
  }
  return props;
}

/** Checks of a CONNECT that the MQTT 5 codec leaves to the server. */
function checkConnect(packet: IConnectPacket): { code: number; reason: string } | undefined {
  const props = packet.properties;
  if (props === undefined) return undefined;
  if (props.receiveMaximum === 0) {
    return { code: ReasonCode.ProtocolError, reason: 'Receive Maximum of 0' };
  }
  if (props.maximumPacketSize === 0) {
    return { code: ReasonCode.ProtocolError, reason: 'Maximum Packet Size of 0' };
  }
  if (props.authenticationData !== undefined && props.authenticationMethod === undefined) {
    return { code: ReasonCode.ProtocolError, reason: 'Authentication Data without a method' };
  }
  return undefined;
}

/** The Will must be publishable by this server: topic, QoS and retain [MQTT-3.2.2-12] [MQTT-3.2.2-13]. */
function checkWill(
  session: Session<unknown>,
  will: WillMessage,
): { code: number; reason: string } | undefined {
  const options = session.options;
  if (!validateTopicName(will.topic, { maxLevels: options.maxTopicLevels }).ok) {
    return { code: ReasonCode.TopicNameInvalid, reason: 'invalid Will topic' };
  }
  if (will.qos > options.maximumQoS) {
    return { code: ReasonCode.QoSNotSupported, reason: 'Will QoS above Maximum QoS' };
  }
  if (will.retain && !options.retainAvailable) {
    return { code: ReasonCode.RetainNotSupported, reason: 'retained Will not supported' };
  }
  if (will.properties.payloadFormatIndicator === true && !isUtf8(will.payload)) {
    return { code: ReasonCode.PayloadFormatInvalid, reason: 'Will payload is not UTF-8' };
  }
  return undefined;
}

/**
 * Refuses a CONNECT with a CONNACK (v5 reason code, or the nearest 3.1.1 return code) and closes
 * the connection [MQTT-3.2.2-7].
 */
export function refuse(
  session: Session<unknown>,
  link: Attachment,
  reasonCode: number,
  reason: string,
  properties?: ConnackProperties,
): void {
  const connack: IConnackPacket = { cmd: 'connack', sessionPresent: false };
  if (link.version === 5) {
    connack.reasonCode = reasonCode;
    if (properties !== undefined) connack.properties = properties;
  } else {
    connack.returnCode = connackReturnCodeV3(reasonCode);
  }
  link.sendPacket(connack);
  report(session, link, reasonCode, reason);
  link.close(reason);
}

/** Refuses without a CONNACK: the runtime's `error` result. */
function refuseSilently(session: Session<unknown>, link: Attachment, reason: string): void {
  report(session, link, ReasonCode.NotAuthorized, reason);
  link.close(reason);
}

function report(
  session: Session<unknown>,
  link: Attachment,
  reasonCode: number,
  reason: string,
): void {
  session.host.metrics.refusedConnects++;
  session.host.observe?.({
    type: 'refused',
    clientId: session.clientId,
    reasonCode,
    reason,
    peerIp: link.info.peerIp,
  });
}
