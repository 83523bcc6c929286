import type {
  MaybePromise,
  MessageProperties,
  ProtocolVersion,
  QoS,
} from '@mqtt-sessions/protocol';

/**
 * The session store port. A session that outlives its connections (a Session Expiry Interval
 * above 0) writes its state here as it changes, so that it outlives the process too: a broker
 * that restarts, or another broker of a cluster, loads it back. The session core talks to a store
 * only through these types.
 *
 * Changes come in batches ({@link SessionStore.apply}): a broker gathers the changes of one turn
 * of its event loop and applies them together, and acknowledges what they record (PUBACK, SUBACK,
 * CONNACK) only once the batch is stored.
 */

/** The key of a stored session: a client id is unique per pool. */
export interface SessionKey {
  readonly pool: string;
  readonly clientId: string;
}

/** The Will of a stored session (MQTT 5 section 3.1.3.2). */
export interface StoredWill {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: QoS;
  readonly retain: boolean;
  readonly properties: MessageProperties;
  /** The properties as the client encoded them, when known (see `RoutedMessage.propertyBytes`). */
  readonly propertyBytes?: Buffer | undefined;
  /** The Will Delay Interval in seconds. */
  readonly delayInterval: number;
  /**
   * When the Will is due (ms since the epoch), once its connection is gone; undefined while the
   * client is connected.
   */
  readonly dueAt: number | undefined;
}

/** The session record itself. */
export interface StoredSession extends SessionKey {
  readonly protocolVersion: ProtocolVersion;
  /** The Session Expiry Interval in seconds; 0xFFFFFFFF never expires. */
  readonly expiryInterval: number;
  /**
   * When the session expires (ms since the epoch) now that no connection is attached; undefined
   * while a client is connected, and for a session that never expires.
   */
  readonly expiresAt: number | undefined;
  /** What the runtime keeps of its user context across restarts (JSON). */
  readonly userData: unknown;
  /** The packet identifier the session last used for an outgoing QoS 1 or 2 message. */
  readonly lastPacketId: number;
  readonly will: StoredWill | undefined;
}

/** A subscription of a stored session, with every MQTT 5 option (section 3.8.3.1). */
export interface StoredSubscription {
  /** The filter as subscribed, `$share/{group}/{filter}` included. */
  readonly filter: string;
  readonly qos: QoS;
  readonly noLocal: boolean;
  readonly retainAsPublished: boolean;
  readonly retainHandling: 0 | 1 | 2;
  readonly subscriptionIdentifier: number | undefined;
}

/** Where an outgoing QoS 1 or 2 message stands. */
export type MessageStage = 'queued' | 'await-puback' | 'await-pubrec' | 'await-pubcomp';

/** An outgoing QoS 1 or 2 message of a stored session, queued or in flight. */
export interface StoredMessage {
  /** Its place in the session's order: messages come back sorted by it. */
  readonly seq: number;
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: 1 | 2;
  /** The RETAIN flag to send. */
  readonly retain: boolean;
  readonly properties: MessageProperties;
  readonly propertyBytes?: Buffer | undefined;
  /** When it expires (ms since the epoch), from its Message Expiry Interval. */
  readonly expiresAt: number | undefined;
  readonly subscriptionIds: readonly number[] | undefined;
  /** The shared subscription group it came through, if any. */
  readonly shared: { readonly group: string; readonly filter: string } | undefined;
  readonly stage: MessageStage;
  /** Its packet identifier once sent; 0 while queued. */
  readonly packetId: number;
  /** Whether a PUBLISH went out before, so that a resend sets DUP [MQTT-3.3.1-1]. */
  readonly sent: boolean;
}

/**
 * What a restart needs of a session at once: all but its messages, which a broker loads when
 * the client comes back ({@link SessionStore.load}). So a restart reads no payloads.
 */
export interface SessionOutline {
  readonly session: StoredSession;
  readonly subscriptions: readonly StoredSubscription[];
  /** Incoming QoS 2 packet identifiers waiting for PUBREL. */
  readonly awaitingRelease: readonly number[];
  /** The highest `seq` of the session's stored messages; 0 when it has none. */
  readonly lastSeq: number;
}

/** All a store holds of one session. */
export interface SessionState extends SessionOutline {
  /** In `seq` order. */
  readonly messages: readonly StoredMessage[];
}

/** One change to a stored session. Changes apply in the order given. */
export type SessionChange =
  /** Creates or replaces the session record (not its subscriptions, messages or ids). */
  | { readonly type: 'session'; readonly session: StoredSession }
  /** Deletes the session and all that belongs to it. */
  | { readonly type: 'delete'; readonly key: SessionKey }
  /** Adds or replaces a subscription. */
  | {
      readonly type: 'subscribe';
      readonly key: SessionKey;
      readonly subscription: StoredSubscription;
    }
  | { readonly type: 'unsubscribe'; readonly key: SessionKey; readonly filter: string }
  /** Adds or replaces a message (by `seq`). */
  | { readonly type: 'message'; readonly key: SessionKey; readonly message: StoredMessage }
  /** Removes a message: acknowledged, expired, dropped or handed to another group member. */
  | { readonly type: 'message-done'; readonly key: SessionKey; readonly seq: number }
  | { readonly type: 'release-add'; readonly key: SessionKey; readonly packetId: number }
  | { readonly type: 'release-remove'; readonly key: SessionKey; readonly packetId: number };

/** A page of stored sessions: their outlines, and where to go on (null after the last page). */
export interface SessionPage {
  readonly sessions: readonly SessionOutline[];
  readonly cursor: string | null;
}

/** Where sessions live between connections, and across restarts. */
export interface SessionStore {
  /**
   * Applies a batch of changes atomically: all or none, also when the process dies meanwhile.
   * Resolves (or returns) once the batch is stored as durably as the store promises. A change to
   * a session that is not stored (other than `session`) is ignored.
   */
  apply(changes: readonly SessionChange[]): MaybePromise<void>;
  /** One session with everything that belongs to it, or undefined. */
  load(key: SessionKey): MaybePromise<SessionState | undefined>;
  /**
   * The stored sessions of a pool without their messages, a page at a time, in no particular
   * order. Pass back the
   * cursor for the next page. A session changed while paging is seen once, in either state.
   */
  list(pool: string, cursor: string | null, limit: number): MaybePromise<SessionPage>;
  /** The number of stored sessions of a pool. */
  count(pool: string): MaybePromise<number>;
  /** Releases the store's resources; it is not used afterwards. Idempotent. */
  close(): MaybePromise<void>;
}
