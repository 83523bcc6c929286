import { isUtf8 } from 'node:buffer';
import {
  after,
  connackReturnCodeV3,
  isFailure,
  MAX_PACKET_SIZE,
  MAX_RECEIVE_MAXIMUM,
  type MaybePromise,
  ReasonCode,
  ReturnCodeV3,
  SESSION_NEVER_EXPIRES,
} from '@mqtt-sessions/protocol';
import type { ConnackProperties, ConnectResult } from '@mqtt-sessions/runtime-default';
import { validateTopicName } from '@mqtt-sessions/topic-trie';
import type { WillMessage } from '@mqtt-sessions/will';
import type { IConnackPacket, IConnectPacket } from 'mqtt-packet';
import type {
  ConnectionGrant,
  ConnectionState,
  PendingConnect,
  SessionContext,
} from '../context.js';
import { willOf } from '../will-message.js';
import { sendAuth } from './send-auth.js';

/**
 * The first packet of a connection: checks it, asks the runtime to authenticate it, and accepts
 * or refuses it (MQTT 5 section 3.1.4).
 */
export function handleConnect(
  session: SessionContext,
  connection: ConnectionState,
  packet: IConnectPacket,
): MaybePromise<void> {
  const runtime = session.runtime;
  if (!runtime.isValidMessage(packet, connection.info, session.userContext)) {
    connection.drop('the runtime refused the CONNECT');
    return;
  }
  // A session restored from its store brings its messages in first; a store that fails to
  // answer makes the client come back later, with nothing lost.
  const loaded = session.loadStored();
  if (loaded === undefined) return checkConnect(session, connection, packet);
  return Promise.resolve(loaded).then(
    () => (connection.phase === 'closed' ? undefined : checkConnect(session, connection, packet)),
    (error: unknown) => {
      session.reportError(error);
      refuseConnect(session, connection, ReasonCode.ServerUnavailable, 'the session store failed');
    },
  );
}

/**
 * Checks a CONNECT and asks the runtime. A session resumes across protocol versions (3.1.1 to 5
 * and back), as Mosquitto does: what the new version cannot express (properties, reason codes)
 * is left out on the wire, and the state is kept.
 */
function checkConnect(
  session: SessionContext,
  connection: ConnectionState,
  packet: IConnectPacket,
): MaybePromise<void> {
  const runtime = session.runtime;
  const version = connection.version;
  const problem = checkConnectProperties(packet);
  if (problem !== undefined)
    return refuseConnect(session, connection, problem.code, problem.reason);
  const will = willOf(packet);
  const willProblem = will === undefined ? undefined : checkWill(session, will);
  if (willProblem !== undefined)
    return refuseConnect(session, connection, willProblem.code, willProblem.reason);
  connection.authenticationMethod =
    version === 5 ? packet.properties?.authenticationMethod : undefined;
  connection.pendingConnect = { packet, will };
  const result = runtime.connect(packet, session.hasState, connection.info, session.userContext);
  return after(result, (answer) => finishConnect(session, connection, answer));
}

/**
 * Acts on the runtime's answer to a CONNECT or to an AUTH during CONNECT: continue enhanced
 * authentication, accept, or refuse.
 */
export function finishConnect(
  session: SessionContext,
  connection: ConnectionState,
  result: ConnectResult<unknown>,
): MaybePromise<void> {
  if (connection.phase === 'closed') return;
  if (session.ended) {
    // The session ended (killed, expired) while the runtime decided: nothing to attach to. The
    // client is told to come back (0x88 Server unavailable); its next CONNECT gets a new session.
    refuseConnect(
      session,
      connection,
      ReasonCode.ServerUnavailable,
      'the session ended during the handshake',
    );
    return;
  }
  const pending = connection.pendingConnect as PendingConnect;
  switch (result.type) {
    case 'error':
      refuseSilently(session, connection, result.reason);
      return;
    case 'auth':
      if (
        connection.authenticationMethod === undefined ||
        result.reasonCode !== ReasonCode.ContinueAuthentication
      ) {
        session.reportError(new Error('the runtime continued authentication without a method'));
        refuseConnect(
          session,
          connection,
          ReasonCode.ImplementationSpecificError,
          'authentication error',
        );
        return;
      }
      session.userContext = result.userContext;
      connection.beginAuthentication();
      session.authenticating();
      sendAuth(connection, ReasonCode.ContinueAuthentication, result.properties);
      return;
    case 'connack':
      if (isFailure(result.reasonCode)) {
        refuseConnect(
          session,
          connection,
          result.reasonCode,
          'refused by the runtime',
          result.properties,
        );
        return;
      }
      session.userContext = result.userContext;
      return accept(session, connection, pending, result.sessionPresent, result.properties);
  }
}

/**
 * Accepts a CONNECT: the session takes the connection, then CONNACK (once a persistent session is
 * stored), then what waited.
 */
function accept(
  session: SessionContext,
  connection: ConnectionState,
  pending: PendingConnect,
  runtimeSessionPresent: boolean | undefined,
  runtimeProperties: ConnackProperties | undefined,
): MaybePromise<void> {
  const { packet, will } = pending;
  const options = session.options;
  const v5 = connection.version === 5;
  const props = v5 ? (packet.properties ?? {}) : {};
  const clean = packet.clean !== false;
  const requestedExpiry = v5
    ? (props.sessionExpiryInterval ?? options.defaultSessionExpiry)
    : clean
      ? 0
      : SESSION_NEVER_EXPIRES;
  const expiryInterval = Math.min(requestedExpiry, options.maxSessionExpiry);
  const requestedKeepAlive = packet.keepalive ?? 0;
  const max = options.maxKeepAlive;
  const keepAlive =
    max !== undefined && (requestedKeepAlive === 0 || requestedKeepAlive > max)
      ? max
      : requestedKeepAlive;

  const sessionPresent = session.accept(connection, {
    clean,
    runtimeSessionPresent,
    expiryInterval,
    will,
  });
  const grant: ConnectionGrant = {
    keepAliveSeconds: keepAlive, // [MQTT-3.2.2-21]
    sendWindow: Math.min(props.receiveMaximum ?? MAX_RECEIVE_MAXIMUM, options.maxInflight), // [MQTT-3.3.4-9]
    // No packet is larger than MAX_PACKET_SIZE, and it is a small integer (no boxed number).
    maxOutgoingPacketSize: Math.min(
      props.maximumPacketSize ?? MAX_PACKET_SIZE,
      options.maxOutgoingPacketSize ?? MAX_PACKET_SIZE,
      MAX_PACKET_SIZE,
    ),
    outboundAliases: v5 && options.outboundTopicAliases ? (props.topicAliasMaximum ?? 0) : 0,
    problemInformation: props.requestProblemInformation !== false,
  };

  const connack: IConnackPacket = { cmd: 'connack', sessionPresent };
  const stored = session.durable();
  if (stored === undefined) {
    establish(session, connection, packet, grant, connack, expiryInterval, runtimeProperties);
    return;
  }
  return Promise.resolve(stored).then(
    () => {
      if (connection.phase === 'closed') return;
      establish(session, connection, packet, grant, connack, expiryInterval, runtimeProperties);
    },
    (error: unknown) => {
      session.reportError(error);
      refuseConnect(session, connection, ReasonCode.ServerUnavailable, 'the session store failed');
    },
  );
}

/** The connection is established: CONNACK, then what waited for the client. */
function establish(
  session: SessionContext,
  connection: ConnectionState,
  packet: IConnectPacket,
  grant: ConnectionGrant,
  connack: IConnackPacket,
  expiryInterval: number,
  runtimeProperties: ConnackProperties | undefined,
): void {
  const v5 = connection.version === 5;
  connection.establish(grant);
  const sessionPresent = connack.sessionPresent;
  if (v5) {
    connack.reasonCode = ReasonCode.Success;
    connack.properties = connackProperties(
      session,
      connection,
      packet,
      expiryInterval,
      grant.keepAliveSeconds,
      runtimeProperties,
    );
  } else {
    connack.returnCode = ReturnCodeV3.Accepted;
  }
  connection.send(connack);
  session.report({
    type: 'connected',
    clientId: session.clientId,
    pool: session.pool,
    protocolVersion: connection.version,
    sessionPresent,
    peerIp: connection.info.peerIp,
  });
  session.resume(connection);
}

/** The CONNACK properties: the runtime's, then every one the server decides. */
function connackProperties(
  session: SessionContext,
  connection: ConnectionState,
  packet: IConnectPacket,
  expiry: number,
  keepAlive: number,
  fromRuntime: ConnackProperties | undefined,
): ConnackProperties {
  const options = session.options;
  const props: ConnackProperties = { ...fromRuntime };
  props.sessionExpiryInterval = expiry;
  props.maximumPacketSize = options.maxIncomingPacketSize;
  if (options.receiveMaximum < MAX_RECEIVE_MAXIMUM) props.receiveMaximum = options.receiveMaximum;
  if (options.maximumQoS < 2) props.maximumQoS = options.maximumQoS; // [MQTT-3.2.2-9]
  if (!options.retainAvailable) props.retainAvailable = false;
  if (options.topicAliasMaximum > 0) props.topicAliasMaximum = options.topicAliasMaximum;
  if (!options.wildcardSubscriptionAvailable) props.wildcardSubscriptionAvailable = false;
  if (!options.subscriptionIdentifiersAvailable) props.subscriptionIdentifiersAvailable = false;
  if (!options.sharedSubscriptionAvailable) props.sharedSubscriptionAvailable = false;
  if (keepAlive !== (packet.keepalive ?? 0)) props.serverKeepAlive = keepAlive;
  if (connection.assignedClientId) props.assignedClientIdentifier = session.clientId; // [MQTT-3.2.2-16]
  if (packet.properties?.requestResponseInformation === true) {
    const info = session.runtime.responseInformation(session.userContext);
    if (info !== undefined) props.responseInformation = info;
  }
  if (connection.authenticationMethod !== undefined) {
    props.authenticationMethod = connection.authenticationMethod;
  }
  return props;
}

/** Checks of a CONNECT that the MQTT 5 codec leaves to the server. */
function checkConnectProperties(
  packet: IConnectPacket,
): { code: number; reason: string } | undefined {
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
  session: SessionContext,
  will: WillMessage,
): { code: number; reason: string } | undefined {
  const options = session.options;
  const limits = { maxLevels: options.maxTopicLevels, maxBytes: options.maxTopicLength };
  if (!validateTopicName(will.topic, limits).ok) {
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
export function refuseConnect(
  session: SessionContext,
  connection: ConnectionState,
  reasonCode: number,
  reason: string,
  properties?: ConnackProperties,
): void {
  const connack: IConnackPacket = { cmd: 'connack', sessionPresent: false };
  if (connection.version === 5) {
    connack.reasonCode = reasonCode;
    if (properties !== undefined) connack.properties = properties;
  } else {
    connack.returnCode = connackReturnCodeV3(reasonCode);
  }
  connection.send(connack);
  reportRefusal(session, connection, reasonCode, reason);
  connection.drop(reason);
}

/** Refuses without a CONNACK: the runtime's `error` result. */
function refuseSilently(
  session: SessionContext,
  connection: ConnectionState,
  reason: string,
): void {
  reportRefusal(session, connection, ReasonCode.NotAuthorized, reason);
  connection.drop(reason);
}

function reportRefusal(
  session: SessionContext,
  connection: ConnectionState,
  reasonCode: number,
  reason: string,
): void {
  session.metrics.refusedConnects++;
  session.report({
    type: 'refused',
    clientId: session.clientId,
    pool: session.pool,
    reasonCode,
    reason,
    peerIp: connection.info.peerIp,
  });
}
