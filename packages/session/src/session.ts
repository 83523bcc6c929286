import {
  type QoS,
  ReasonCode,
  SESSION_NEVER_EXPIRES,
  systemTimers,
  type Timers,
} from '@mqtt-sessions/protocol';
import type {
  RoutedMessage,
  SharedRoute,
  Subscriber,
  SubscriptionOptions,
} from '@mqtt-sessions/router';
import type { ConnectionInfo, Runtime } from '@mqtt-sessions/runtime-default';
import { WillWatchdog } from '@mqtt-sessions/will';
import type { IConnectPacket } from 'mqtt-packet';
import { Attachment, type DisconnectProperties, type SessionLink } from './attachment.js';
import type { SessionHost } from './host.js';
import { LazyIdSet } from './lazy-id-set.js';
import { resolveSessionOptions, type SessionOptions } from './options.js';
import { Outbox } from './outbox.js';
import { TokenBucket } from './rate-limit.js';
import { RetainedDelivery } from './retained.js';
import { WatchdogLink } from './watchdog-link.js';

/** What a session is created with. */
export interface SessionParams<UC> {
  /** The client identifier: given by the client, or assigned by the server. */
  readonly clientId: string;
  /** The session's routing id (see `@mqtt-sessions/registry`). */
  readonly routingId: string;
  /** The pool the session lives in, for the runtime's user context. */
  readonly pool: string;
  readonly host: SessionHost;
  readonly runtime: Runtime<UC>;
  /** Limits and feature switches; defaults fill the rest. */
  readonly options?: Partial<SessionOptions> | SessionOptions;
  /** Clock and timers; the system's by default. */
  readonly timers?: Timers;
  /** The connection that creates the session: its peer address and transport facts. */
  readonly connection: ConnectionInfo;
  /** Called when something inside the session fails unexpectedly. Default: console.error. */
  readonly onError?: (error: unknown) => void;
}

/** A snapshot of one session for introspection and metrics. */
export interface SessionStats {
  readonly clientId: string;
  readonly connected: boolean;
  readonly protocolVersion: number | undefined;
  /** Messages waiting to be sent. */
  readonly queued: number;
  /** QoS 1/2 messages sent and not yet acknowledged. */
  readonly inflight: number;
  /** Messages dropped for this client since the session began. */
  readonly dropped: number;
  readonly packetsReceived: number;
  readonly packetsSent: number;
  /** Incoming QoS 2 messages waiting for PUBREL. */
  readonly awaitingRelease: number;
}

/**
 * One MQTT session: the state that outlives network connections (subscriptions, queued and
 * unacknowledged messages, incoming QoS 2 state, the Will) plus the connection currently attached,
 * if any. It speaks MQTT 5 and 3.1.1.
 *
 * A session is a {@link Subscriber} of the router. It is created by a pool (or any embedder) when a
 * CONNECT arrives for an unknown client id, and ends when its expiry passes after a disconnect,
 * when a clean start replaces it, or when it is killed.
 */
export class Session<UC = unknown> implements Subscriber {
  readonly clientId: string;
  readonly routingId: string;
  readonly pool: string;
  readonly host: SessionHost;
  readonly runtime: Runtime<UC>;
  readonly options: SessionOptions;
  readonly timers: Timers;
  readonly outbox: Outbox;
  watchdog: WillWatchdog<UC>;
  /** Incoming QoS 2 packet ids waiting for PUBREL (MQTT 5 section 4.3.3). */
  readonly awaitingRelease = new LazyIdSet();
  /** The live connection, if any. */
  attachment: Attachment | undefined = undefined;
  /** The protocol version of the last accepted CONNECT. */
  protocolVersion: 4 | 5 | undefined = undefined;
  /** True once a CONNECT was accepted: the session then exists for `session present`. */
  everConnected = false;
  /** The Session Expiry Interval in force, in seconds. */
  expiryInterval = 0;
  /** The connect-time Session Expiry Interval, for the DISCONNECT rule (MQTT 5 section 3.14.2.2.2). */
  connectExpiryInterval = 0;
  ended = false;
  rateLimit: TokenBucket;
  /** Retained deliveries of new subscriptions that wait for room in the outbox. */
  private retainedJobs: RetainedDelivery[] = [];
  packetsReceived = 0;
  packetsSent = 0;
  private context: UC;
  private readonly onError: ((error: unknown) => void) | undefined;

  constructor(params: SessionParams<UC>) {
    this.clientId = params.clientId;
    this.routingId = params.routingId;
    this.pool = params.pool;
    this.host = params.host;
    this.runtime = params.runtime;
    // A pool resolves its options once (frozen) and hands the same object to every session.
    const options = params.options;
    this.options =
      options !== undefined && Object.isFrozen(options)
        ? (options as SessionOptions)
        : resolveSessionOptions(options);
    this.timers = params.timers ?? systemTimers;
    this.onError = params.onError;
    this.context = params.runtime.newUserContext({
      pool: params.pool,
      clientId: params.clientId,
      routingId: params.routingId,
      peerIp: params.connection.peerIp,
      contextPrefs: params.connection.contextPrefs,
    });
    this.outbox = new Outbox(params.host, this.options.maxQueued, this);
    this.rateLimit = new TokenBucket(
      this.options.incomingRate,
      this.options.incomingBurst,
      this.timers.now(),
    );
    this.watchdog = this.createWatchdog();
    this.watchdog.start();
  }

  /** The runtime's user context of this session. */
  get userContext(): UC {
    return this.context;
  }

  /** Replaces the user context; the Will is published with the latest one. */
  set userContext(context: UC) {
    this.context = context;
    this.watchdog.setUserContext(context);
  }

  /** Updates the user context with a function of the current one. */
  updateUserContext(update: (context: UC) => UC): void {
    this.userContext = update(this.context);
  }

  /** True while a connection is attached and established. */
  get connected(): boolean {
    return this.attachment?.live === true;
  }

  /** Shared subscriptions prefer members that are online. */
  get online(): boolean {
    return this.connected;
  }

  /**
   * Attaches a connection whose first packet is this CONNECT, and handles it. The returned
   * attachment takes the connection's later packets; the session answers through `link`.
   *
   * @param assignedClientId True when the server chose the client id because the CONNECT had an
   *   empty one; the CONNACK then tells the client its id [MQTT-3.2.2-16].
   */
  connect(
    link: SessionLink,
    packet: IConnectPacket,
    connection: ConnectionInfo,
    assignedClientId = false,
  ): Attachment {
    const attachment = new Attachment(this as Session<unknown>, link, connection, this.timers);
    attachment.version = packet.protocolVersion === 5 ? 5 : 4;
    attachment.assignedClientId = assignedClientId;
    this.handshakes++;
    attachment.receive(packet);
    return attachment;
  }

  /** Router delivery: send the message now or queue it (see {@link Outbox.deliver}). */
  deliver(
    message: RoutedMessage,
    qos: QoS,
    retain: boolean,
    subscriptionIdentifiers: readonly number[] | undefined,
    shared: SharedRoute | undefined,
  ): void {
    if (this.ended) return;
    const attachment = this.attachment;
    this.outbox.deliver(
      attachment?.live === true ? attachment : undefined,
      message,
      qos,
      retain,
      subscriptionIdentifiers,
      shared,
    );
  }

  /**
   * Ends the session now: a kill from the server. A v5 client gets DISCONNECT with `reasonCode`
   * and `properties` (a Server Reference, say; see {@link DisconnectProperties}).
   */
  kill(
    reasonCode: number = ReasonCode.AdministrativeAction,
    reason = 'killed',
    properties?: DisconnectProperties,
  ): void {
    if (this.ended) return;
    const attachment = this.attachment;
    if (attachment !== undefined) {
      attachment.disconnectQuietly(reasonCode, reason, properties);
    }
    this.end(reason);
  }

  /**
   * Ends the live connection but keeps the session, as any server-side DISCONNECT does: a v5
   * client gets DISCONNECT with `reasonCode` and `properties`; the session then lives for its
   * Session Expiry Interval (so the client may come back to it), and its Will goes by the usual
   * rules (after the Will Delay Interval, unless the client is back by then) [MQTT-3.1.2-8].
   *
   * @returns false when no connection was established (nothing to disconnect).
   */
  disconnect(reasonCode: number, reason: string, properties?: DisconnectProperties): boolean {
    const attachment = this.attachment;
    if (this.ended || attachment === undefined || !attachment.live) return false;
    attachment.disconnect(reasonCode, reason, properties);
    return true;
  }

  /** Milliseconds until the session expires, while disconnected; undefined otherwise. */
  remainingExpiryMs(): number | undefined {
    return this.watchdog.remainingSessionExpiryMs();
  }

  /** A snapshot for metrics. */
  stats(): SessionStats {
    return {
      clientId: this.clientId,
      connected: this.connected,
      protocolVersion: this.protocolVersion,
      queued: this.outbox.queued,
      inflight: this.outbox.inflightCount,
      dropped: this.outbox.dropped,
      packetsReceived: this.packetsReceived,
      packetsSent: this.packetsSent,
      awaitingRelease: this.awaitingRelease.size,
    };
  }

  /**
   * Makes `attachment` the session's connection after its CONNECT was accepted; a different live
   * connection is taken over: a v5 client gets DISCONNECT 0x8E and is closed [MQTT-3.1.4-3].
   */
  takeOver(attachment: Attachment): void {
    const old = this.attachment;
    if (old !== undefined && old !== attachment) {
      this.attachment = undefined;
      old.disconnectQuietly(ReasonCode.SessionTakenOver, 'session taken over');
      this.host.observe?.({
        type: 'disconnected',
        clientId: this.clientId,
        reasonCode: ReasonCode.SessionTakenOver,
        reason: 'session taken over',
      });
      if (this.expiryInterval === 0) {
        // A session with expiry 0 ends with its connection (section 3.1.2.11.2): its Will goes now and
        // the new connection starts afresh.
        this.restart();
      } else {
        // The old connection's Will goes by its own rules: at once without a delay; a delayed one
        // is cancelled when the new connection is accepted [MQTT-3.1.2-8] [MQTT-3.1.3-9].
        this.watchdog.disconnected({
          publishWill: true,
          sessionExpirySeconds: this.expiryInterval,
        });
      }
    }
    this.attachment = attachment;
  }

  /**
   * Ends the session that was and begins a new one under the same client id, as a clean start
   * does [MQTT-3.1.2-4]: the state goes, and a Will still pending goes out now, because its
   * session ended [MQTT-3.1.2-8].
   */
  restart(): void {
    this.discardState();
    this.watchdog.sessionEnded();
    this.watchdog = this.createWatchdog();
  }

  /**
   * Throws away the session state for a clean start [MQTT-3.1.2-4]: subscriptions, queued and
   * unacknowledged messages (those from shared subscriptions go to another member), QoS 2 state.
   */
  discardState(): void {
    this.retainedJobs = [];
    this.host.unsubscribeAll(this);
    this.outbox.clear(this, true);
    this.awaitingRelease.clear();
    this.everConnected = false;
  }

  /** Called by an attachment whose connection ended. */
  detached(
    attachment: Attachment,
    reason: string,
    reasonCode: number | undefined,
    publishWill: boolean,
  ): void {
    if (this.attachment !== attachment) {
      // A connection that never got established: a failed CONNECT. A session that was never
      // connected, and that no other CONNECT is still trying to use, has nothing to keep.
      if (
        this.attachment === undefined &&
        !this.everConnected &&
        !this.ended &&
        this.handshakes === 0
      ) {
        this.end('connect refused');
      }
      return;
    }
    this.attachment = undefined;
    this.outbox.dropQueuedQoS0();
    // The expiry timer first: whatever a callback below does, the session must end some day.
    // An expiry of 0 makes the watchdog end the session at once.
    this.watchdog.disconnected({ publishWill, sessionExpirySeconds: this.disconnectExpiry() });
    this.host.observe?.({ type: 'disconnected', clientId: this.clientId, reasonCode, reason });
    this.outbox.reportDrops();
  }

  /** CONNECTs on this session still waiting for the runtime's answer. */
  handshakes = 0;

  /** The transport of the live connection drained. */
  drained(attachment: Attachment): void {
    if (attachment === this.attachment && attachment.live) this.flush(attachment);
  }

  /** Sends what waits: queued messages, then more retained messages if there is room. */
  flush(attachment: Attachment): void {
    if (attachment !== this.attachment || !attachment.live) return;
    this.outbox.pump(attachment);
    if (this.retainedJobs.length > 0) this.runRetainedJobs();
  }

  /** Starts sending the retained messages that match a new subscription. */
  sendRetained(filter: string, options: SubscriptionOptions): void {
    this.retainedJobs.push(new RetainedDelivery(this as Session<unknown>, filter, options));
    this.runRetainedJobs();
  }

  /** True while the outbox can take another page of retained messages without dropping any. */
  hasRoomForRetained(): boolean {
    return this.retainedPageRoom() > 0;
  }

  /** How many retained messages the next page may hold without overflowing the outbox. */
  retainedPageRoom(): number {
    const attachment = this.attachment;
    if (this.ended || attachment === undefined || !attachment.live || !attachment.writable)
      return 0;
    return Math.min(this.options.retainedPageSize, this.options.maxQueued - this.outbox.queued);
  }

  private runRetainedJobs(): void {
    for (const job of this.retainedJobs) job.run();
    this.retainedJobs = this.retainedJobs.filter((job) => !job.done);
  }

  /**
   * Ends the session for good: its subscriptions go, messages from shared subscriptions move to
   * another member, a kept Will is published, and the host forgets it.
   */
  end(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.retainedJobs = [];
    const attachment = this.attachment;
    this.attachment = undefined;
    attachment?.shutDown();
    this.host.unsubscribeAll(this);
    this.outbox.clear(this, true);
    this.awaitingRelease.clear();
    this.watchdog.sessionEnded();
    this.host.sessionEnded(this);
    this.host.observe?.({ type: 'session-ended', clientId: this.clientId, reason });
  }

  /** Reports an unexpected failure. */
  reportError(error: unknown): void {
    if (this.onError !== undefined) this.onError(error);
    else console.error('mqtt-sessions session:', error);
  }

  /**
   * The expiry to apply after a disconnect: anonymous WebSocket sessions (often browser tabs) get
   * a short one, as in the original library, unless the client asked for less.
   */
  private disconnectExpiry(): number {
    const runtime = this.runtime;
    const context = this.context;
    let expiry = this.expiryInterval;
    try {
      if (runtime.isWebsocketOrigin(context) && runtime.isAnonymousUser(context)) {
        const short = runtime.isCrawler(context)
          ? this.options.crawlerWebsocketExpiry
          : this.options.anonymousWebsocketExpiry;
        if (expiry === SESSION_NEVER_EXPIRES || expiry > short) expiry = short;
      }
    } catch (error) {
      // A failing runtime must not keep the session alive for ever: use the session's own expiry.
      this.reportError(error);
    }
    return expiry;
  }

  private createWatchdog(): WillWatchdog<UC> {
    return new WillWatchdog<UC>(new WatchdogLink<UC>(this));
  }
}
