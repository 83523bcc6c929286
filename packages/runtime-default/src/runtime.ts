import type { MaybePromise, ReasonCode } from '@mqtt-sessions/protocol';
import type {
  IAuthPacket,
  IConnackPacket,
  IConnectPacket,
  IPublishPacket,
  ISubscription,
  Packet,
} from 'mqtt-packet';

/**
 * What the transport knows about a connection before CONNECT, handed to the runtime. The default
 * runtime reads `origin` (`'websocket'` marks browser sessions) and `isCrawler`.
 */
export interface ContextPrefs {
  /** Where the connection comes from, such as `'tcp'`, `'tls'` or `'websocket'`. */
  readonly origin?: string;
  /** True when the transport recognised a crawler (a bot) on the other end. */
  readonly isCrawler?: boolean;
  readonly [key: string]: unknown;
}

/** Facts about a new session, given to {@link Runtime.newUserContext}. */
export interface SessionInfo {
  /** The pool the session lives in. */
  readonly pool: string;
  /** The session's client identifier (possibly assigned by the server). */
  readonly clientId: string;
  /** A random `r:` + 20 character id, unique per session; see `@mqtt-sessions/registry`. */
  readonly routingId: string;
  /** The remote address of the connection that created the session, when known. */
  readonly peerIp: string | undefined;
  /** What the transport knew about the connection. */
  readonly contextPrefs: ContextPrefs;
}

/** Facts about the connection a CONNECT (or AUTH) arrived on. */
export interface ConnectionInfo {
  /** The remote address, when known. */
  readonly peerIp: string | undefined;
  /** What the transport knew about the connection. */
  readonly contextPrefs: ContextPrefs;
}

/** CONNACK properties a runtime may set; the session adds the ones the server decides. */
export type ConnackProperties = NonNullable<IConnackPacket['properties']>;

/** AUTH properties of an enhanced-authentication step. */
export type AuthProperties = NonNullable<IAuthPacket['properties']>;

/**
 * The answer to a CONNECT or to an AUTH packet.
 *
 * - `connack`: finish the handshake. Reason code 0 accepts; a code of 0x80 or above refuses (for
 *   MQTT 3.1.1 clients the session maps it to the nearest return code). `sessionPresent`, when
 *   given, overrides the session's own answer.
 * - `auth`: continue enhanced authentication (reason 0x18) by sending an AUTH packet with these
 *   properties; or, during re-authentication, finish it (reason 0x00).
 * - `error`: refuse without telling the client why; the connection is closed with no CONNACK
 *   (for a live connection: DISCONNECT 0x87 Not authorized).
 */
export type ConnectResult<UC> =
  | {
      readonly type: 'connack';
      readonly reasonCode: number;
      readonly sessionPresent?: boolean;
      readonly properties?: ConnackProperties;
      readonly userContext: UC;
    }
  | {
      readonly type: 'auth';
      readonly reasonCode: typeof ReasonCode.Success | typeof ReasonCode.ContinueAuthentication;
      readonly properties: AuthProperties;
      readonly userContext: UC;
    }
  | { readonly type: 'error'; readonly reason: string };

/** The outcome of choosing a pool for a vhost. */
export type PoolChoice = { ok: true; pool: string } | { ok: false; reason: string };

/** The message a publish check is about: a client's PUBLISH, a server-side publish or a Will. */
export type PublishRequest = Pick<IPublishPacket, 'topic' | 'payload' | 'qos' | 'retain'> & {
  readonly properties?: IPublishPacket['properties'];
};

/**
 * What {@link Runtime.isAllowed} is asked about.
 *
 * - `publish`: may this user publish this message to `topic`?
 * - `subscribe`: may this user subscribe to the filter `topic`? `subscription` is the SUBSCRIBE
 *   entry (absent for server-side subscriptions).
 * - `deliver-retained`: may this subscriber receive the retained message stored under `topic`?
 *   Asked once per retained message on subscribe, so a runtime can hide some topics that a
 *   wildcard filter would match.
 */
export type AccessRequest =
  | { readonly action: 'publish'; readonly topic: string; readonly message: PublishRequest }
  | {
      readonly action: 'subscribe';
      readonly topic: string;
      readonly subscription: ISubscription | undefined;
    }
  | {
      readonly action: 'deliver-retained';
      readonly topic: string;
      readonly message: PublishRequest;
    };

/**
 * A refusal by {@link Runtime.isAllowed} that tells the client why. An MQTT 5 client gets the
 * reason code on its PUBACK, PUBREC or SUBACK entry, and the reason string and user properties
 * on that packet unless it set Request Problem Information to 0 [MQTT-3.1.2-29] or they would
 * make the packet larger than its Maximum Packet Size [MQTT-3.4.2-2] [MQTT-3.9.2-1]. An MQTT
 * 3.1.1 client gets what 3.1.1 can say: nothing on PUBACK and PUBREC, 0x80 in a SUBACK. A plain
 * `false` is the same as `{ allowed: false }`.
 *
 * @example
 * ```ts
 * isAllowed(request, uc) {
 *   if (request.topic.startsWith('admin/') && uc.user !== 'admin') {
 *     return { allowed: false, reasonString: 'admin/ is for admins', userProperties: { see: 'docs/acl' } };
 *   }
 *   return true;
 * }
 * ```
 */
export interface AccessDenied {
  readonly allowed: false;
  /**
   * The reason code, 0x87 (Not authorized) when absent. It must be one the packet allows for a
   * failure: for PUBACK/PUBREC 0x80, 0x83, 0x87, 0x90, 0x97 or 0x99; for SUBACK 0x80, 0x83,
   * 0x87, 0x8F, 0x97, 0x9E, 0xA1 or 0xA2 (MQTT 5 sections 3.4.2.1 and 3.9.3). Any other code
   * becomes 0x87, so a refusal can never read as a success.
   */
  readonly reasonCode?: number;
  /** A human-readable reason for the client's diagnostics (not for it to parse). */
  readonly reasonString?: string;
  /** User properties to put on the acknowledgement: name to value, or to several values. */
  readonly userProperties?: Readonly<Record<string, string | string[]>>;
}

/**
 * The answer of {@link Runtime.isAllowed}: `true` allows, `false` or an {@link AccessDenied}
 * refuses. Anything but `true` refuses.
 */
export type AccessDecision = boolean | AccessDenied;

/**
 * The runtime: the policy half of an MQTT server. It authenticates, authorises, chooses pools and
 * classifies sessions, and owns one opaque *user context* per session. Every callback may return a
 * value or a Promise; the session keeps packet order while it waits. Callbacks on the message path
 * (`isAllowed`, `isValidMessage`) should answer synchronously when they can, for speed.
 *
 * @typeParam UC The user context type: whatever the runtime wants to remember per session.
 */
export interface Runtime<UC> {
  /**
   * The pool for a virtual host: a CONNECT username `vhost:user` names vhost `vhost`.
   * The username handed to {@link connect} keeps its prefix.
   */
  vhostPool(vhost: string): MaybePromise<PoolChoice>;

  /** The pool for connections that name no vhost. */
  defaultPool(): string;

  /** A fresh user context for a new session, before its first CONNECT is authenticated. */
  newUserContext(session: SessionInfo): UC;

  /**
   * What of a session's user context outlives a restart, as a JSON value: a persistent session
   * records it in its store. Optional; without it nothing is kept, and a restored session starts
   * from {@link newUserContext}.
   */
  persistentUserData?(userContext: UC): unknown;

  /**
   * The user context of a session restored from a store: `data` is what
   * {@link persistentUserData} returned. Optional; without it a restored session starts from
   * {@link newUserContext}.
   */
  restoreUserContext?(session: SessionInfo, data: unknown): UC;

  /**
   * Authenticates a CONNECT. `sessionPresent` tells whether the session already existed and had
   * been connected before. Return a CONNACK (accept or refuse), an AUTH to continue enhanced
   * authentication, or an error to refuse silently.
   */
  connect(
    packet: IConnectPacket,
    sessionPresent: boolean,
    connection: ConnectionInfo,
    userContext: UC,
  ): MaybePromise<ConnectResult<UC>>;

  /**
   * Answers an AUTH packet: the next step of enhanced authentication during CONNECT
   * (`phase: 'connect'`, finish with a CONNACK) or of re-authentication on a live connection
   * (`phase: 'reauthenticate'`, finish with AUTH reason 0x00, or refuse with a CONNACK result whose
   * reason code becomes the DISCONNECT reason).
   */
  reauth(
    packet: IAuthPacket,
    phase: 'connect' | 'reauthenticate',
    userContext: UC,
  ): MaybePromise<ConnectResult<UC>>;

  /**
   * Authorises a publish, a subscribe, or the delivery of a retained message. Return `true` to
   * allow (the fast path: answer synchronously when you can), `false` to refuse with 0x87 (Not
   * authorized), or an {@link AccessDenied} to refuse with your own reason code, reason string and
   * user properties on the client's PUBACK, PUBREC or SUBACK. Only `true` allows.
   */
  isAllowed(request: AccessRequest, userContext: UC): MaybePromise<AccessDecision>;

  /**
   * A last check of every packet from a client, before the session acts on it. `connection` is
   * given for CONNECT only. Returning false closes the connection (v5: DISCONNECT 0x81 or a
   * CONNACK 0x81 Malformed Packet).
   */
  isValidMessage(packet: Packet, connection: ConnectionInfo | undefined, userContext: UC): boolean;

  /**
   * A QoS 0 PUBLISH to `$client/{own client id}/...`: a message from the client to the server
   * itself. It is not routed and not checked by {@link isAllowed}. `levels` are the topic levels
   * after the client id. Returns the (possibly updated) user context.
   */
  controlMessage(levels: string[], packet: IPublishPacket, userContext: UC): MaybePromise<UC>;

  /** A PINGREQ arrived. Returns the (possibly updated) user context. */
  ping(userContext: UC): MaybePromise<UC>;

  /** True when the session came over a WebSocket (see {@link ContextPrefs.origin}). */
  isWebsocketOrigin(userContext: UC): boolean;

  /** True when the session belongs to a crawler. */
  isCrawler(userContext: UC): boolean;

  /** True when no user has authenticated on the session. */
  isAnonymousUser(userContext: UC): boolean;

  /**
   * The Response Information for a client that asked for it with Request Response Information
   * (MQTT 5 section 3.1.2.11.7): usually a topic prefix under which the client may receive
   * responses. Return `undefined` to send none.
   */
  responseInformation(userContext: UC): string | undefined;
}
