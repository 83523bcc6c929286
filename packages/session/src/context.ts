import type { MaybePromise, ProtocolVersion } from '@mqtt-sessions/protocol';
import type {
  PublishResult,
  RoutedMessage,
  SubscribeResult,
  SubscriptionOptions,
} from '@mqtt-sessions/router';
import type { ConnectionInfo, Runtime } from '@mqtt-sessions/runtime-default';
import type { WillMessage } from '@mqtt-sessions/will';
import type { IConnectPacket, IDisconnectPacket, Packet } from 'mqtt-packet';
import type { AckType } from './encode.js';
import type { SessionEvent, SessionMetrics } from './host.js';
import type { SessionOptions } from './options.js';
import type { AckOutcome } from './outbox.js';

/**
 * The two sides a packet handler works with. A handler gets the session (what outlives the
 * connection) and the connection the packet came on, each through the narrow interface below:
 * the `Session` and its connection class implement them, and the handler tests in `test/`
 * implement them with small fakes.
 */

/**
 * What a strict decoder adds to a PUBLISH, and to the Will of a CONNECT: the properties that travel
 * with the message, as the client encoded them, so that they are forwarded byte for byte and User
 * Properties keep their order [MQTT-3.3.2-18] [MQTT-3.1.3-10].
 */
export interface ForwardedBytes {
  readonly forwardedBytes?: Buffer | undefined;
}

/** Where a connection stands in its session. */
export type ConnectionPhase = 'connecting' | 'authenticating' | 'connected' | 'closed';

/** A CONNECT that waits for the runtime, or for enhanced authentication to finish. */
export interface PendingConnect {
  readonly packet: IConnectPacket;
  readonly will: WillMessage | undefined;
}

/**
 * What a server-sent DISCONNECT may carry besides its reason code: a Server Reference for
 * redirection (MQTT 5 section 4.11), and a reason string and user properties, which go only to a
 * client that did not set Request Problem Information to 0.
 */
export type DisconnectProperties = Pick<
  NonNullable<IDisconnectPacket['properties']>,
  'serverReference' | 'reasonString' | 'userProperties'
>;

/** What the server grants a connection when it accepts its CONNECT. */
export interface ConnectionGrant {
  /** The keep-alive in force, in seconds; 0 switches it off [MQTT-3.2.2-21]. */
  readonly keepAliveSeconds: number;
  /** Outgoing QoS 1/2 messages in flight at most: the client's Receive Maximum, capped. */
  readonly sendWindow: number;
  /** The largest packet the client accepts. */
  readonly maxOutgoingPacketSize: number;
  /** Topic aliases the server may assign towards the client; 0 for none. */
  readonly outboundAliases: number;
  /** False when the client asked for no reason strings and user properties [MQTT-3.1.2-29]. */
  readonly problemInformation: boolean;
}

/**
 * The connection a packet came on, as the handlers see it.
 *
 * Ending a connection has one vocabulary, named by who ends it and how:
 * - `disconnect(code, reason)`: the server ends it for a reason; an established MQTT 5 client
 *   hears DISCONNECT with the reason code first [MQTT-4.13.1-1].
 * - `drop(reason)`: the server ends it without a word, where the spec wants silence.
 * - `clientDisconnected(code)`: the client ended it with DISCONNECT [MQTT-3.14.4-1].
 * In each case the session keeps its state and the Will goes by its rules.
 */
export interface ConnectionState {
  readonly version: ProtocolVersion;
  readonly phase: ConnectionPhase;
  /** True while the connection is established and not closed. */
  readonly live: boolean;
  /** The peer address and transport facts, for the runtime. */
  readonly info: ConnectionInfo;
  /** True when the server chose the client id (the client sent an empty one). */
  readonly assignedClientId: boolean;
  /** Whether reason strings and user properties may go to this client [MQTT-3.1.2-29]. */
  readonly problemInformation: boolean;
  /** The largest packet the client accepts. */
  readonly maxOutgoingPacketSize: number;
  /** The CONNECT being authenticated, until it is accepted or refused. */
  pendingConnect: PendingConnect | undefined;
  /** The Authentication Method of enhanced authentication, if the CONNECT named one. */
  authenticationMethod: string | undefined;
  /** True between a client's AUTH 0x19 and the end of re-authentication. */
  reauthenticating: boolean;
  /** Incoming QoS 1 and 2 PUBLISH not yet acknowledged, against the server's Receive Maximum. */
  inboundUnacked: number;
  /** The topic a client's Topic Alias stands for, if it set one. */
  inboundAlias(alias: number): string | undefined;
  /** Records the topic of a client's Topic Alias [MQTT-3.3.2-12]. */
  setInboundAlias(alias: number, topic: string): void;
  /** Enhanced authentication continues: only AUTH and DISCONNECT may come until it ends. */
  beginAuthentication(): void;
  /** The CONNECT is accepted: the connection is established with what the server granted. */
  establish(grant: ConnectionGrant): void;
  /** Encodes and sends a control packet within the client's limits. */
  send(packet: Packet): void;
  /**
   * Sends PUBACK, PUBREC, PUBREL or PUBCOMP without properties; after the acknowledgements still
   * waiting for the store, in order.
   */
  sendAck(type: AckType, packetId: number, reasonCode: number): void;
  /**
   * Sends an acknowledgement once `stored` settles (see {@link SessionContext.durable}), in the
   * order the acknowledgements were asked for [MQTT-4.6.0-2]; the connection is not held up
   * meanwhile. When the store fails, the acknowledgement never goes and the connection ends with
   * 0x80.
   */
  sendAckWhenStored(
    stored: MaybePromise<void>,
    type: AckType,
    packetId: number,
    reasonCode: number,
  ): void;
  disconnect(reasonCode: number, reason: string, properties?: DisconnectProperties): void;
  drop(reason: string): void;
  clientDisconnected(reasonCode: number): void;
}

/** The router's answer to a subscription, or the session's own refusal past its quota. */
export type SessionSubscribeResult =
  | SubscribeResult
  | { readonly ok: false; readonly reason: 'quota-exceeded'; readonly message: string };

/** How a session takes a connection whose CONNECT the runtime accepted. */
export interface AcceptRequest {
  /** The CONNECT's Clean Start (Clean Session in 3.1.1). */
  readonly clean: boolean;
  /** The runtime's word on Session Present, when it gave one. */
  readonly runtimeSessionPresent: boolean | undefined;
  /** The Session Expiry Interval granted, in seconds. */
  readonly expiryInterval: number;
  readonly will: WillMessage | undefined;
}

/** The session a packet is for, as the handlers see it. */
export interface SessionContext {
  readonly clientId: string;
  /** The name of the pool the session belongs to. */
  readonly pool: string;
  readonly options: SessionOptions;
  readonly runtime: Runtime<unknown>;
  /** Counters shared by every session of a pool. */
  readonly metrics: SessionMetrics;
  /** The runtime's user context; the runtime's answers replace it. */
  userContext: unknown;
  /** True once the session has ended for good. */
  readonly ended: boolean;
  /** The session's clock, in ms. */
  now(): number;
  /** Tells the host about a connect, a refusal or a disconnect, for logs. */
  report(event: SessionEvent): void;
  /** Reports an unexpected failure. */
  reportError(error: unknown): void;
  /**
   * Settles once every change recorded so far (by any session of the pool) is stored: at once,
   * with nothing, when there is no store or nothing waits. Acknowledgements of what a change
   * records (CONNACK, SUBACK, PUBACK, PUBREC, PUBCOMP) wait for it. Rejects when the store failed.
   */
  durable(since?: number): MaybePromise<void>;
  /**
   * How many changes have been recorded so far; given back to {@link durable}, it lets an
   * acknowledgement that recorded nothing go out without waiting on other sessions' writes.
   */
  journalMark(): number;

  // CONNECT and AUTH
  /** True when a CONNECT was accepted before: there is state that Clean Start 0 resumes. */
  readonly hasState: boolean;
  /** The protocol version of the last accepted CONNECT. */
  readonly protocolVersion: ProtocolVersion | undefined;
  /**
   * Loads what a session restored from its store has not brought into memory yet (its messages),
   * before a CONNECT uses it. At once when there is nothing to load.
   */
  loadStored(): MaybePromise<void>;
  /** A step of enhanced authentication began: the connect deadline starts again. */
  authenticating(): void;
  /**
   * Takes a connection whose CONNECT is accepted: takes over an older connection, resumes or
   * clears the state, and starts the Will and expiry rules. Returns Session Present.
   */
  accept(connection: ConnectionState, request: AcceptRequest): boolean;
  /** After CONNACK: sends again what was in flight, then what is queued [MQTT-4.4.0-1]. */
  resume(connection: ConnectionState): void;

  // PUBLISH from the client
  /**
   * True while the sessions hold more bytes than their budget: new QoS 1 and 2 messages are
   * refused (0x97) rather than accepted and then dropped.
   */
  readonly overloaded: boolean;
  /** Takes a token of the incoming PUBLISH rate limit; false when there is none. */
  takePublishToken(): boolean;
  /** Whether an incoming QoS 2 packet id waits for PUBREL (MQTT 5 section 4.3.3). */
  isAwaitingRelease(packetId: number): boolean;
  awaitRelease(packetId: number): void;
  /** Incoming QoS 2 packet ids waiting for PUBREL. */
  readonly awaitingReleaseCount: number;
  /** Ends an incoming QoS 2 exchange; false when the packet id was not waiting. */
  release(packetId: number): boolean;
  /**
   * Routes a message this session's client published. Its `sender` is the session context
   * itself: the subscriber the router compares for No Local.
   */
  publish(message: RoutedMessage): MaybePromise<PublishResult>;

  // Acknowledgements of messages the session sent
  /**
   * PUBACK, PUBREC or PUBCOMP from the client for an outgoing QoS 1 or 2 message; see
   * {@link AckOutcome} for what the answer means.
   */
  acknowledged(
    connection: ConnectionState,
    type: Exclude<AckType, 'pubrel'>,
    packetId: number,
    reasonCode: number,
  ): AckOutcome;

  // SUBSCRIBE and UNSUBSCRIBE
  /** Adds or replaces a subscription; refused when it would pass `maxSubscriptions`. */
  subscribe(filter: string, options: SubscriptionOptions): SessionSubscribeResult;
  unsubscribe(filter: string): boolean;
  /** Starts sending the retained messages that match a new subscription. */
  sendRetained(filter: string, options: SubscriptionOptions): void;

  // DISCONNECT from the client
  /**
   * Sets the Session Expiry Interval a DISCONNECT asks for; false when the session had 0 at
   * CONNECT and may not set another (MQTT 5 section 3.14.2.2.2).
   */
  changeExpiryInterval(seconds: number): boolean;
}
