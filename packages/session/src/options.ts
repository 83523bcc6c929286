import type { QoS } from '@mqtt-sessions/protocol';
import { DEFAULT_CONNECT_TIMEOUT_MS } from '@mqtt-sessions/will';

/**
 * Limits and feature switches of a session. Every field has a default; see
 * {@link DEFAULT_SESSION_OPTIONS}. Features that are switched off are advertised as unavailable in
 * CONNACK, and clients that use them anyway get the reason code MQTT 5 gives for the case.
 */
export interface SessionOptions {
  /** The largest packet accepted from a client, in bytes; advertised in CONNACK. Default 20 MiB. */
  maxIncomingPacketSize: number;
  /** The largest packet sent to any client, in bytes; `undefined` = only the client's own limit. */
  maxOutgoingPacketSize: number | undefined;
  /** PUBLISH packets a client may send per second on average (token bucket rate). Default 1000. */
  incomingRate: number;
  /** Extra PUBLISH packets a client may send in a burst on top of the rate. Default 5000. */
  incomingBurst: number;
  /**
   * Messages a session keeps waiting while it is offline, its inflight window is full or its
   * transport is not draining. QoS 0 messages are dropped first when it is full. Default 1000.
   */
  maxQueued: number;
  /**
   * Bytes a session keeps waiting (payloads and topics, see `queuedSize`), with the same rules as
   * `maxQueued`. Default 16 MiB.
   */
  maxQueuedBytes: number;
  /** The most outgoing QoS 1 and 2 messages in flight per client (also capped by its Receive Maximum). Default 500. */
  maxInflight: number;
  /** The Receive Maximum the server advertises: unacknowledged incoming QoS 1/2 PUBLISH per client. Default 65535. */
  receiveMaximum: number;
  /** Topic aliases a client may use towards the server (advertised Topic Alias Maximum). Default 64; 0 disables. */
  topicAliasMaximum: number;
  /** Assign outbound topic aliases when the client allows them. Default true. */
  outboundTopicAliases: boolean;
  /** The highest QoS the server supports. Default 2. */
  maximumQoS: QoS;
  /** Whether retained messages are supported. Default true. */
  retainAvailable: boolean;
  /** Whether wildcard subscriptions are supported. Default true. */
  wildcardSubscriptionAvailable: boolean;
  /** Whether Subscription Identifiers are supported. Default true. */
  subscriptionIdentifiersAvailable: boolean;
  /** Whether shared subscriptions are supported. Default true. */
  sharedSubscriptionAvailable: boolean;
  /**
   * The longest keep-alive the server allows, in seconds; a client asking for more (or for 0) is
   * told this value in CONNACK (Server Keep Alive) and held to it. `undefined` = no limit.
   */
  maxKeepAlive: number | undefined;
  /**
   * The Session Expiry Interval used when a v5 CONNECT has none. MQTT 5 says 0 (the default); the
   * original library used 900.
   */
  defaultSessionExpiry: number;
  /** The largest Session Expiry Interval granted, in seconds. Default: no cap (the original used 3600). */
  maxSessionExpiry: number;
  /** Session expiry of an anonymous WebSocket session after it disconnects, in seconds. Default 30. */
  anonymousWebsocketExpiry: number;
  /** Session expiry of an anonymous WebSocket session of a crawler, in seconds. Default 10. */
  crawlerWebsocketExpiry: number;
  /** A CONNECT must complete within this many milliseconds of session start. Default 20,000. */
  connectTimeoutMs: number;
  /** The most levels a topic or filter may have. Default 128. */
  maxTopicLevels: number;
  /**
   * The longest topic or filter accepted, in UTF-8 bytes: a longer topic name is refused like an
   * invalid one (0x90), a longer filter gets SUBACK 0x8F. Default 1024.
   */
  maxTopicLength: number;
  /** Subscriptions one session may hold; SUBACK 0x97 (Quota exceeded) beyond. Default 1000. */
  maxSubscriptions: number;
  /**
   * Incoming QoS 2 messages of one session waiting for PUBREL (their packet ids; the messages
   * are routed at once). Past it the client is disconnected with 0x93. Default 1000.
   */
  maxAwaitingRelease: number;
  /** Packets that may wait while the runtime answers asynchronously; past it the client is disconnected (0x89). Default 1000. */
  maxPendingPackets: number;
  /** Retained messages fetched per page while delivering them on subscribe. Default 200. */
  retainedPageSize: number;
  /**
   * Whether MQTT 3.1 clients (protocol name `MQIsdp`, level 3) are accepted, with the rules of
   * 3.1: a client id of 1 to 23 characters. When false they get CONNACK 0x01. Default true.
   */
  acceptMqtt31: boolean;
  /**
   * Refuse PUBLISH from clients to `$SYS/...` topics, which belong to the server (MQTT 5 section
   * 4.7.2): QoS 1 and 2 get 0x87 (Not authorized), QoS 0 is dropped. Server code still publishes
   * there. Default false in the library; the broker switches it on.
   */
  refuseSysPublish: boolean;
  /** `$SYS/` topics that clients may still publish to, such as a server's request topic. */
  sysPublishAllowed: readonly string[];
  /**
   * Packets of one connection handled in one turn of the event loop before it checks the time
   * (see `turnTimeMs`); the rest wait for the next turn, so that one client's burst never makes
   * the others wait. Default 64.
   */
  packetsPerTurn: number;
  /**
   * How long one connection's packets may run in one turn of the event loop, in milliseconds.
   * After every `packetsPerTurn` packets the connection yields if the turn has taken this long,
   * and goes on with the next block if not: cheap packets (acknowledgements) run in large blocks,
   * costly ones (SUBSCRIBE with many retained messages) in small ones. 0 makes `packetsPerTurn`
   * a hard limit. Default 1.
   */
  turnTimeMs: number;
  /**
   * How long a client may leave its replies unread (its transport's buffer above the high-water
   * mark) before it is disconnected, in milliseconds. Meanwhile its connection is not read and its
   * messages wait in its session queue. Default 60,000.
   */
  slowClientTimeoutMs: number;
}

/** The defaults: the MQTT 5 specification's where it has one, else the original library's. */
export const DEFAULT_SESSION_OPTIONS: Readonly<SessionOptions> = Object.freeze({
  maxIncomingPacketSize: 20 * 1024 * 1024,
  maxOutgoingPacketSize: undefined,
  incomingRate: 1000,
  incomingBurst: 5000,
  maxQueued: 1000,
  maxQueuedBytes: 16 * 1024 * 1024,
  maxInflight: 500,
  receiveMaximum: 65535,
  topicAliasMaximum: 64,
  outboundTopicAliases: true,
  maximumQoS: 2,
  retainAvailable: true,
  wildcardSubscriptionAvailable: true,
  subscriptionIdentifiersAvailable: true,
  sharedSubscriptionAvailable: true,
  maxKeepAlive: undefined,
  defaultSessionExpiry: 0,
  maxSessionExpiry: 0xffffffff,
  anonymousWebsocketExpiry: 30,
  crawlerWebsocketExpiry: 10,
  connectTimeoutMs: DEFAULT_CONNECT_TIMEOUT_MS,
  maxTopicLevels: 128,
  maxTopicLength: 1024,
  maxSubscriptions: 1000,
  maxAwaitingRelease: 1000,
  maxPendingPackets: 1000,
  retainedPageSize: 200,
  acceptMqtt31: true,
  refuseSysPublish: false,
  sysPublishAllowed: Object.freeze([]) as readonly string[],
  packetsPerTurn: 64,
  turnTimeMs: 1,
  slowClientTimeoutMs: 60_000,
});

/** Fills in the defaults for the options not given. */
export function resolveSessionOptions(
  options: Partial<SessionOptions> = {},
): Readonly<SessionOptions> {
  const resolved = { ...DEFAULT_SESSION_OPTIONS };
  for (const key of Object.keys(options) as (keyof SessionOptions)[]) {
    if (options[key] !== undefined) (resolved as Record<string, unknown>)[key] = options[key];
  }
  // Frozen, so that a session can tell resolved options and share them instead of copying.
  return Object.freeze(resolved);
}
