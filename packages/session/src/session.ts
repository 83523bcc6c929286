import {
  type MaybePromise,
  type ProtocolVersion,
  type QoS,
  ReasonCode,
  SESSION_NEVER_EXPIRES,
  systemTimers,
  type Timers,
} from '@mqtt-sessions/protocol';
import type { RetainCursor, RetainPage } from '@mqtt-sessions/retain';
import type {
  PublishResult,
  RoutedMessage,
  SharedRoute,
  Subscriber,
  SubscriptionOptions,
} from '@mqtt-sessions/router';
import type { ConnectionInfo, Runtime } from '@mqtt-sessions/runtime-default';
import type {
  SessionChange,
  SessionKey,
  SessionOutline,
  StoredSession,
} from '@mqtt-sessions/session-store';
import { type WillMessage, WillWatchdog } from '@mqtt-sessions/will';
import type { IConnectPacket } from 'mqtt-packet';
import {
  Attachment,
  type AttachmentOwner,
  type SessionConnection,
  type SessionLink,
} from './attachment.js';
import type {
  AcceptRequest,
  ConnectionState,
  DisconnectProperties,
  SessionContext,
  SessionSubscribeResult,
} from './context.js';
import type { AckType } from './encode.js';
import type { SessionEvent, SessionHost, SessionMetrics } from './host.js';
import { resolveSessionOptions, type SessionOptions } from './options.js';
import { type AckOutcome, Outbox } from './outbox.js';
import type { OutboxEntry } from './outbox-entry.js';
import {
  type OutboxJournal,
  optionsOf,
  storedMessageOf,
  storedSubscriptionOf,
  storedWillOf,
  willFromStored,
} from './persistence.js';
import { TokenBucket } from './rate-limit.js';
import { RetainedDelivery, type RetainedReceiver } from './retained.js';
import { WatchdogLink, type WatchdogOwner } from './watchdog-link.js';
import { publishWill } from './will-publish.js';

/** What the sessions of one pool have in common. */
export interface SessionSettings<UC> {
  /** The pool the session lives in, for the runtime's user context. */
  readonly pool: string;
  readonly host: SessionHost;
  readonly runtime: Runtime<UC>;
  /** Limits and feature switches; defaults fill the rest. */
  readonly options?: Partial<SessionOptions> | SessionOptions;
  /** Clock and timers; the system's by default. */
  readonly timers?: Timers;
  /**
   * Called when something inside the session fails unexpectedly, with the session's client id.
   * Default: console.error.
   */
  readonly onError?: (error: unknown, clientId: string) => void;
}

/**
 * {@link SessionSettings} resolved once, for many sessions to share: each session then holds one
 * reference instead of six fields.
 */
export interface SharedSessionSettings<UC> {
  readonly pool: string;
  readonly host: SessionHost;
  readonly runtime: Runtime<UC>;
  readonly options: SessionOptions;
  readonly timers: Timers;
  readonly onError: ((error: unknown, clientId: string) => void) | undefined;
}

/**
 * Resolves settings for many sessions: pass the result as `shared` to each {@link Session}.
 *
 * @example
 * ```ts
 * const shared = shareSessionSettings({ pool: 'default', host, runtime });
 * const session = new Session({ clientId: 'a', routingId: 'r:a', connection: {}, shared });
 * ```
 */
export function shareSessionSettings<UC>(settings: SessionSettings<UC>): SharedSessionSettings<UC> {
  const options = settings.options;
  return Object.freeze({
    pool: settings.pool,
    host: settings.host,
    runtime: settings.runtime,
    // A pool resolves its options once (frozen) and hands the same object on.
    options:
      options !== undefined && Object.isFrozen(options)
        ? (options as SessionOptions)
        : resolveSessionOptions(options),
    timers: settings.timers ?? systemTimers,
    onError: settings.onError,
  });
}

/** What one session is created with beside its settings. */
interface SessionIdentity {
  /** The client identifier: given by the client, or assigned by the server. */
  readonly clientId: string;
  /** The session's routing id (see `@mqtt-sessions/registry`). */
  readonly routingId: string;
  /** The connection that creates the session: its peer address and transport facts. */
  readonly connection: ConnectionInfo;
}

/**
 * What a session is created with: its identity, and its settings, either given here or shared
 * with other sessions (see {@link shareSessionSettings}).
 */
export type SessionParams<UC> = SessionIdentity &
  (SessionSettings<UC> | { readonly shared: SharedSessionSettings<UC> });

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
  /** When the live connection was accepted (the session clock, ms); undefined when offline. */
  readonly connectedSince: number | undefined;
  /** The remote address of the live connection, when known. */
  readonly peerIp: string | undefined;
}

/**
 * One MQTT session: the state that outlives network connections (subscriptions, queued and
 * unacknowledged messages, incoming QoS 2 state, the Will) plus the connection currently attached,
 * if any. It speaks MQTT 5 and 3.1.1.
 *
 * A session is a {@link Subscriber} of the router. It is created by a pool (or any embedder) when a
 * CONNECT arrives for an unknown client id, and ends when its expiry passes after a disconnect,
 * when a clean start replaces it, or when it is killed. Its packet handlers see it through the
 * narrow {@link SessionContext}; its state stays private.
 */
export class Session<UC = unknown>
  implements
    Subscriber,
    SessionContext,
    AttachmentOwner,
    RetainedReceiver,
    WatchdogOwner,
    OutboxJournal
{
  readonly clientId: string;
  readonly routingId: string;
  // The session is its own packet counter: one object less per session.
  packetsReceived = 0;
  packetsSent = 0;
  private readonly shared: SharedSessionSettings<UC>;
  /** Made at the first message (see {@link outbox}): most idle sessions never get one. */
  private box: Outbox | undefined = undefined;
  /**
   * Ends a session whose CONNECT does not complete, publishes its Will and ends it when it
   * expires. None while a connection is live: it would wait for nothing, and the Will and expiry
   * it needs are the session's own (`will`, `expiryInterval`); one is made when the connection
   * goes (see `watchdogNow`).
   */
  private watchdog: WillWatchdog<UC> | undefined;
  /**
   * Incoming QoS 2 packet ids waiting for PUBREL (MQTT 5 section 4.3.3); made at the first one,
   * as most sessions never hold one.
   */
  private awaitingRelease: Set<number> | undefined = undefined;
  /** The live connection, or the one whose CONNECT is being accepted. */
  private attachment: Attachment | undefined = undefined;
  /** The protocol version of the last accepted CONNECT. */
  private version: ProtocolVersion | undefined = undefined;
  /** True once a CONNECT was accepted: the session then exists for Session Present. */
  private everConnected = false;
  /** The Session Expiry Interval in force, in seconds. */
  private expiryInterval = 0;
  /** The connect-time Session Expiry Interval, for the DISCONNECT rule (section 3.14.2.2.2). */
  private connectExpiryInterval = 0;
  private isEnded = false;
  /** When the live connection was accepted, on the session clock. */
  private connectedSince: number | undefined = undefined;
  /** CONNECTs on this session still waiting for the runtime's answer. */
  private handshakes = 0;
  /** Subscriptions this session holds, against `maxSubscriptions`. */
  private subscriptionCount = 0;
  /** The incoming PUBLISH rate limit, made on the first PUBLISH: most idle clients never send one. */
  private rateLimit: TokenBucket | undefined = undefined;
  /**
   * Retained deliveries of new subscriptions, in order; the first one runs while the outbox has
   * room, the others wait behind it.
   */
  private retainedJobs: RetainedDelivery[] | undefined = undefined;
  private retainedHead = 0;
  private runningJobs = false;
  private context: UC;
  /** The Will of the last accepted CONNECT, until it is published or discarded. */
  private will: WillMessage | undefined = undefined;
  /**
   * True while the session records its changes in the host's journal: there is one, and the
   * session outlives its connection (a Session Expiry Interval above 0).
   */
  private recording = false;
  /** When the session expires, while no connection is attached (ms); for its store record. */
  private expiresAtMs: number | undefined = undefined;
  /** When the pending Will is due, while no connection is attached (ms). */
  private willDueAtMs: number | undefined = undefined;
  /** For a session restored from a store: its messages up to this `seq` are not loaded yet. */
  private unloadedUpTo: number | undefined = undefined;
  private loading: Promise<void> | undefined = undefined;

  constructor(params: SessionParams<UC>) {
    this.clientId = params.clientId;
    this.routingId = params.routingId;
    this.shared = 'shared' in params ? params.shared : shareSessionSettings(params);
    this.context = this.runtime.newUserContext({
      pool: this.pool,
      clientId: params.clientId,
      routingId: params.routingId,
      peerIp: params.connection.peerIp,
      contextPrefs: params.connection.contextPrefs,
    });
    this.watchdog = this.createWatchdog();
    this.watchdog.start();
  }

  // --- What embedders use -------------------------------------------------------------------

  /** The pool the session lives in. */
  get pool(): string {
    return this.shared.pool;
  }

  get runtime(): Runtime<UC> {
    return this.shared.runtime;
  }

  /** The session's limits and feature switches. */
  get options(): SessionOptions {
    return this.shared.options;
  }

  get timers(): Timers {
    return this.shared.timers;
  }

  private get host(): SessionHost {
    return this.shared.host;
  }

  /** The runtime's user context of this session. */
  get userContext(): UC {
    return this.context;
  }

  /** Replaces the user context; the Will is published with the latest one. */
  set userContext(context: UC) {
    this.context = context;
    this.watchdog?.setUserContext(context);
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

  /** True once the session has ended for good. */
  get ended(): boolean {
    return this.isEnded;
  }

  /**
   * Attaches a connection whose first packet is this CONNECT, and handles it. The returned
   * connection takes the later packets; the session answers through `link`.
   *
   * @param assignedClientId True when the server chose the client id because the CONNECT had an
   *   empty one; the CONNACK then tells the client its id [MQTT-3.2.2-16].
   */
  connect(
    link: SessionLink,
    packet: IConnectPacket,
    connection: ConnectionInfo,
    assignedClientId = false,
  ): SessionConnection {
    const version = packet.protocolVersion === 5 ? 5 : 4;
    const attachment = new Attachment(this, link, connection, version, assignedClientId);
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
    if (this.isEnded) return;
    const attachment = this.attachment;
    try {
      this.outbox.deliver(
        attachment?.live === true ? attachment : undefined,
        message,
        qos,
        retain,
        subscriptionIdentifiers,
        shared,
      );
    } catch (error) {
      // A bug on the way out: this client's connection ends, so that it is not left connected
      // and silent; the other receivers of the message and the process go on.
      this.reportError(error);
      attachment?.disconnect(ReasonCode.UnspecifiedError, 'internal error');
    }
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
    if (this.isEnded) return;
    this.attachment?.release(reasonCode, reason, properties);
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
    if (this.isEnded || attachment === undefined || !attachment.live) return false;
    attachment.disconnect(reasonCode, reason, properties);
    return true;
  }

  /** Milliseconds until the session expires, while disconnected; undefined otherwise. */
  remainingExpiryMs(): number | undefined {
    return this.watchdog?.remainingSessionExpiryMs();
  }

  /** A snapshot for metrics. */
  stats(): SessionStats {
    return {
      clientId: this.clientId,
      connected: this.connected,
      protocolVersion: this.version,
      queued: this.box?.queued ?? 0,
      inflight: this.box?.inflightCount ?? 0,
      dropped: this.box?.dropped ?? 0,
      packetsReceived: this.packetsReceived,
      packetsSent: this.packetsSent,
      awaitingRelease: this.awaitingRelease?.size ?? 0,
      connectedSince: this.connected ? this.connectedSince : undefined,
      peerIp: this.connected ? this.attachment?.info.peerIp : undefined,
    };
  }

  /**
   * Ends the session for good: its subscriptions go, messages from shared subscriptions move to
   * another member, a kept Will is published, and the host forgets it.
   */
  end(reason: string): void {
    if (this.isEnded) return;
    this.isEnded = true;
    this.retainedJobs = undefined;
    this.retainedHead = 0;
    const attachment = this.attachment;
    this.attachment = undefined;
    attachment?.shutDown();
    this.host.unsubscribeAll(this);
    this.subscriptionCount = 0;
    this.box?.clear(this, true);
    this.awaitingRelease = undefined;
    this.watchdogNow().sessionEnded();
    this.host.volatileWill?.(this.clientId, undefined);
    this.stopRecording();
    this.host.sessionEnded(this);
    this.report({ type: 'session-ended', clientId: this.clientId, pool: this.pool, reason });
  }

  /**
   * Stops the session without ending it, for a server that shuts down: its connection closes (a
   * v5 client hears `reasonCode`), its timers stop, and its state stays where its store keeps it,
   * as if the connection had been lost now: a restart finds it, and its Will then goes by the
   * usual rules. A session that is not stored ends, as {@link kill} does.
   */
  suspend(
    reasonCode: number = ReasonCode.ServerShuttingDown,
    reason = 'server shutting down',
  ): void {
    if (this.isEnded) return;
    if (!this.recording) {
      this.kill(reasonCode, reason);
      return;
    }
    const attachment = this.attachment;
    this.attachment = undefined;
    const wasLive = attachment?.live === true;
    attachment?.release(reasonCode, reason);
    // A detached session was recorded when its connection went.
    if (wasLive) this.recordDetached(true);
    this.isEnded = true;
    this.retainedJobs = undefined;
    this.watchdog?.stop();
    this.host.unsubscribeAll(this);
    this.setRecording(false);
    this.box?.clear(this, false);
    this.host.sessionEnded(this);
  }

  /**
   * Gives the session up to another broker of a cluster, which takes its client over and loads
   * it from the store. The live connection's Will goes as a takeover here would send it: at once
   * when it has no delay or the session has expiry 0 (it ends now); a delayed one of a session
   * that goes on is dropped, since the new connection comes at once [MQTT-3.1.2-8]
   * [MQTT-3.1.3-9]. Then the session stops as in {@link suspend}: a v5 client
   * hears DISCONNECT 0x8E.
   */
  handOver(): void {
    if (this.isEnded) return;
    const will = this.will;
    if (will !== undefined && this.attachment?.live === true) {
      // A session with expiry 0 ends here, and its Will with it, whatever the delay.
      if (will.delayInterval === 0 || this.expiryInterval === 0) {
        publishWill(this, will, this.userContext);
      }
      this.willGone();
    }
    this.suspend(ReasonCode.SessionTakenOver, 'session taken over');
  }

  /**
   * Takes back a session from its store's outline, without starting its timers (see
   * {@link resumeTimers}): its subscriptions, the incoming QoS 2 ids, and where its messages
   * stand; the messages themselves load when its client comes back ({@link loadStored}).
   */
  restore(outline: SessionOutline): void {
    const stored = outline.session;
    this.version = stored.protocolVersion;
    this.everConnected = true;
    this.expiryInterval = stored.expiryInterval;
    this.connectExpiryInterval = stored.expiryInterval;
    const restoreContext = this.runtime.restoreUserContext;
    if (restoreContext !== undefined && stored.userData !== undefined) {
      this.userContext = restoreContext.call(
        this.runtime,
        {
          pool: this.pool,
          clientId: this.clientId,
          routingId: this.routingId,
          peerIp: undefined,
          contextPrefs: {},
        },
        stored.userData,
      );
    }
    for (const subscription of outline.subscriptions) {
      const result = this.host.subscribe(this, subscription.filter, optionsOf(subscription));
      if (result.ok) this.subscriptionCount++;
    }
    if (outline.awaitingRelease.length > 0) this.awaitingRelease = new Set(outline.awaitingRelease);
    if (outline.lastSeq > 0 || stored.lastPacketId > 0) {
      this.outbox.continueFrom(outline.lastSeq, stored.lastPacketId);
    }
    this.unloadedUpTo = outline.lastSeq > 0 ? outline.lastSeq : undefined;
    this.will = stored.will === undefined ? undefined : willFromStored(stored.will, this.now());
    this.expiresAtMs = stored.expiresAt;
    this.willDueAtMs = stored.will?.dueAt;
    this.setRecording(true);
  }

  /**
   * Starts the timers of a restored session with the time that remains: it expires when its
   * deadline passed during the downtime, and a Will that came due is published now.
   */
  resumeTimers(stored: StoredSession): void {
    if (this.isEnded) return;
    const now = this.now();
    const expiry =
      stored.expiryInterval === SESSION_NEVER_EXPIRES || stored.expiresAt === undefined
        ? stored.expiryInterval
        : Math.max(0, Math.ceil((stored.expiresAt - now) / 1000));
    const watchdog = this.watchdogNow();
    watchdog.connected(this.will, stored.expiryInterval);
    watchdog.disconnected({ publishWill: true, sessionExpirySeconds: expiry });
  }

  // --- SessionContext: what the packet handlers use -----------------------------------------

  get metrics(): SessionMetrics {
    return this.host.metrics;
  }

  now(): number {
    return this.timers.now();
  }

  report(event: SessionEvent): void {
    this.host.observe?.(event);
  }

  reportError(error: unknown): void {
    this.host.metrics.internalErrors++;
    const onError = this.shared.onError;
    if (onError !== undefined) onError(error, this.clientId);
    else console.error(`mqtt-sessions session ${this.clientId}:`, error);
  }

  durable(since?: number): MaybePromise<void> {
    const journal = this.host.journal;
    if (journal === undefined || journal.recorded === since) return undefined;
    return journal.durable();
  }

  journalMark(): number {
    return this.host.journal?.recorded ?? 0;
  }

  loadStored(): MaybePromise<void> {
    const upTo = this.unloadedUpTo;
    const journal = this.host.journal;
    if (upTo === undefined || journal === undefined) return;
    this.loading ??= Promise.resolve(journal.load(this.storeKey)).then((state) => {
      this.loading = undefined;
      if (this.unloadedUpTo === undefined) return;
      this.unloadedUpTo = undefined;
      if (state === undefined || this.isEnded) return;
      // Messages recorded since the restart are in memory already.
      this.outbox.restore(state.messages.filter((message) => message.seq <= upTo));
    });
    return this.loading;
  }

  get overloaded(): boolean {
    return this.host.queueBudget?.exceeded === true;
  }

  get hasState(): boolean {
    return this.everConnected;
  }

  get protocolVersion(): ProtocolVersion | undefined {
    return this.version;
  }

  authenticating(): void {
    this.watchdog?.authenticating();
  }

  accept(connection: ConnectionState, request: AcceptRequest): boolean {
    this.takeOver(connection as Attachment);
    // Session Present is 0 after a clean start [MQTT-3.2.2-2], else whether a session existed
    // [MQTT-3.2.2-3]. A runtime may say there is none, and then the old state goes too.
    let present = !request.clean && this.everConnected;
    if (present && request.runtimeSessionPresent === false) present = false;
    // Without a session to resume, the old one (if any) ends here, with its pending Will.
    if (!present) {
      if (this.everConnected) this.restart();
      else this.discardState();
    }
    this.version = connection.version;
    this.expiryInterval = request.expiryInterval;
    this.connectExpiryInterval = request.expiryInterval;
    (connection as Attachment).endHandshake();
    this.everConnected = true;
    this.host.metrics.connects++;
    this.will = request.will;
    this.expiresAtMs = undefined;
    this.willDueAtMs = undefined;
    // Connected: a pending Will of the last connection is cancelled [MQTT-3.1.3-9], and no
    // watchdog is kept while the connection lives.
    this.watchdog?.stop();
    this.watchdog = undefined;
    this.recordAccepted(present);
    // A Will that the store keeps with the session needs no other keeper.
    this.host.volatileWill?.(this.clientId, this.recording ? undefined : this.will);
    return present;
  }

  resume(connection: ConnectionState): void {
    const attachment = connection as Attachment;
    this.connectedSince = this.timers.now();
    const outbox = this.box;
    if (outbox === undefined) return;
    outbox.resend(attachment);
    outbox.pump(attachment);
  }

  takePublishToken(): boolean {
    const now = this.timers.now();
    // A bucket starts full, so one made now holds what one made with the session would.
    this.rateLimit ??= new TokenBucket(this.options.incomingRate, this.options.incomingBurst, now);
    return this.rateLimit.take(now);
  }

  isAwaitingRelease(packetId: number): boolean {
    return this.awaitingRelease?.has(packetId) === true;
  }

  awaitRelease(packetId: number): void {
    if (this.awaitingRelease === undefined) this.awaitingRelease = new Set();
    this.awaitingRelease.add(packetId);
    if (this.recording) this.record({ type: 'release-add', key: this.storeKey, packetId });
  }

  release(packetId: number): boolean {
    if (this.awaitingRelease?.delete(packetId) !== true) return false;
    if (this.recording) this.record({ type: 'release-remove', key: this.storeKey, packetId });
    return true;
  }

  publish(message: RoutedMessage): MaybePromise<PublishResult> {
    return this.host.publish(message, this.clientId);
  }

  acknowledged(
    connection: ConnectionState,
    type: Exclude<AckType, 'pubrel'>,
    packetId: number,
    reasonCode: number,
  ): AckOutcome {
    const attachment = connection as Attachment;
    const outbox = this.outbox;
    const outcome =
      type === 'puback'
        ? outbox.puback(packetId)
        : type === 'pubrec'
          ? outbox.pubrec(attachment, packetId, reasonCode)
          : outbox.pubcomp(packetId);
    if (outcome === 'done') this.flush(attachment);
    return outcome;
  }

  subscribe(filter: string, options: SubscriptionOptions): SessionSubscribeResult {
    const result = this.host.subscribe(this, filter, options);
    if (!result.ok) return result;
    if (!result.isNew) {
      this.recordSubscription(filter, options);
      return result;
    }
    if (this.subscriptionCount >= this.options.maxSubscriptions) {
      // One too many: take the new one back (a replaced one would not have counted).
      this.host.unsubscribe(this, filter);
      return { ok: false, reason: 'quota-exceeded', message: 'too many subscriptions' };
    }
    this.subscriptionCount++;
    this.recordSubscription(filter, options);
    return result;
  }

  unsubscribe(filter: string): boolean {
    const found = this.host.unsubscribe(this, filter);
    if (found) {
      this.subscriptionCount--;
      if (this.recording) this.record({ type: 'unsubscribe', key: this.storeKey, filter });
    }
    return found;
  }

  get awaitingReleaseCount(): number {
    return this.awaitingRelease?.size ?? 0;
  }

  sendRetained(filter: string, options: SubscriptionOptions): void {
    this.retainedJobs ??= [];
    this.retainedJobs.push(
      new RetainedDelivery(this, filter, options, this.options.retainedPageSize, () =>
        this.runRetainedJobs(),
      ),
    );
    this.runRetainedJobs();
  }

  changeExpiryInterval(seconds: number): boolean {
    if (this.connectExpiryInterval === 0 && seconds > 0) return false;
    this.expiryInterval = Math.min(seconds, this.options.maxSessionExpiry);
    return true;
  }

  // --- AttachmentOwner: what its connections tell the session -------------------------------

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
        !this.isEnded &&
        this.handshakes === 0
      ) {
        this.end('connect refused');
      }
      return;
    }
    this.attachment = undefined;
    this.box?.dropQueuedQoS0();
    const expiry = this.disconnectExpiry();
    if (!publishWill) this.will = undefined;
    if (expiry > 0) this.recordDetached(publishWill, expiry);
    // The expiry timer first: whatever a callback below does, the session must end some day.
    // An expiry of 0 makes the watchdog end the session at once.
    this.watchdogNow().disconnected({ publishWill, sessionExpirySeconds: expiry });
    this.report({
      type: 'disconnected',
      clientId: this.clientId,
      pool: this.pool,
      reasonCode,
      reason,
    });
    this.box?.reportDrops();
  }

  drained(attachment: Attachment): void {
    if (attachment === this.attachment && attachment.live) this.flush(attachment);
  }

  handshakeEnded(): void {
    this.handshakes--;
  }

  // --- WatchdogOwner -----------------------------------------------------------------------

  willGone(): void {
    if (this.will === undefined) return;
    this.will = undefined;
    this.willDueAtMs = undefined;
    if (this.recording && !this.isEnded) this.recordSession();
  }

  // --- OutboxJournal: the outbox's QoS 1 and 2 messages, while the session is persistent ----

  messageChanged(entry: OutboxEntry): void {
    this.record({ type: 'message', key: this.storeKey, message: storedMessageOf(entry) });
  }

  messageDone(entry: OutboxEntry): void {
    if (entry.seq === 0) return; // never recorded
    this.record({ type: 'message-done', key: this.storeKey, seq: entry.seq });
  }

  // --- RetainedReceiver ---------------------------------------------------------------------

  hasRoomForRetained(): boolean {
    const attachment = this.attachment;
    if (this.isEnded || attachment === undefined || !attachment.live || !attachment.writable) {
      return false;
    }
    return (this.box?.queued ?? 0) < this.options.maxQueued;
  }

  matchRetained(
    filter: string,
    cursor: RetainCursor | null,
    limit: number,
  ): MaybePromise<RetainPage> {
    return this.host.matchRetained(filter, cursor, limit);
  }

  // --- Inside -------------------------------------------------------------------------------

  /** The outbox, made when the session first needs one; it then stays for the session's life. */
  private get outbox(): Outbox {
    if (this.box === undefined) {
      this.box = new Outbox(this.host, this.options, this);
      if (this.recording) this.box.journal = this;
    }
    return this.box;
  }

  /**
   * Makes `attachment` the session's connection after its CONNECT was accepted; a different live
   * connection is taken over: a v5 client gets DISCONNECT 0x8E and is closed [MQTT-3.1.4-3].
   */
  private takeOver(attachment: Attachment): void {
    const old = this.attachment;
    if (old !== undefined && old !== attachment) {
      this.attachment = undefined;
      old.release(ReasonCode.SessionTakenOver, 'session taken over');
      this.report({
        type: 'disconnected',
        clientId: this.clientId,
        pool: this.pool,
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
        this.watchdogNow().disconnected({
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
  private restart(): void {
    this.discardState();
    this.watchdogNow().sessionEnded();
    this.watchdog = this.createWatchdog();
  }

  /**
   * Throws away the session state for a clean start [MQTT-3.1.2-4]: subscriptions, queued and
   * unacknowledged messages (those from shared subscriptions go to another member), QoS 2 state.
   */
  private discardState(): void {
    this.retainedJobs = undefined;
    this.retainedHead = 0;
    this.host.unsubscribeAll(this);
    this.subscriptionCount = 0;
    this.box?.clear(this, true);
    this.awaitingRelease = undefined;
    this.everConnected = false;
  }

  /** Sends what waits: queued messages, then more retained messages if there is room. */
  private flush(attachment: Attachment): void {
    if (attachment !== this.attachment || !attachment.live) return;
    this.box?.pump(attachment);
    if (this.retainedJobs !== undefined) this.runRetainedJobs();
  }

  /**
   * Runs the first retained delivery until it waits (for room, or for a page on its way) or ends,
   * then the next. The cost does not grow with the deliveries waiting behind it: a client that
   * subscribes a thousand times without reading pays for one, not a thousand, per turn.
   */
  private runRetainedJobs(): void {
    if (this.runningJobs) return; // a delivery finished inside run(): the loop below goes on
    this.runningJobs = true;
    try {
      for (;;) {
        const jobs = this.retainedJobs;
        const job = jobs?.[this.retainedHead];
        if (jobs === undefined || job === undefined) break;
        job.run();
        // run() may end the session or start a clean one, which drops the list.
        if (!job.done || this.retainedJobs !== jobs) break;
        this.retainedHead++;
        if (this.retainedHead === jobs.length) {
          this.retainedJobs = undefined;
          this.retainedHead = 0;
        } else if (this.retainedHead > 64 && this.retainedHead * 2 > jobs.length) {
          jobs.splice(0, this.retainedHead);
          this.retainedHead = 0;
        }
      }
    } finally {
      this.runningJobs = false;
    }
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

  // --- Persistence -------------------------------------------------------------------------

  private get storeKey(): SessionKey {
    return { pool: this.pool, clientId: this.clientId };
  }

  private record(change: SessionChange): void {
    this.host.journal?.record(change);
  }

  /**
   * After a CONNECT is accepted: a session that outlives its connection is stored from here on
   * (a new one from an empty record, a resumed one updated); one that no longer does is deleted.
   */
  private recordAccepted(present: boolean): void {
    const persistent = this.host.journal !== undefined && this.expiryInterval > 0;
    if (!persistent) {
      this.stopRecording();
      return;
    }
    if (!present || !this.recording) {
      // A session resumed while not recorded cannot happen: one with expiry 0 ends with its
      // connection, and a takeover of it starts afresh. So a new record starts empty.
      this.record({ type: 'delete', key: this.storeKey });
    }
    this.setRecording(true);
    this.recordSession();
  }

  /** After the connection is gone: the record says when the session expires and the Will is due. */
  private recordDetached(publishWill: boolean, expiry = this.disconnectExpiry()): void {
    if (!this.recording) return;
    const now = this.now();
    this.expiresAtMs = expiry === SESSION_NEVER_EXPIRES ? undefined : now + expiry * 1000;
    const will = publishWill ? this.will : undefined;
    this.willDueAtMs = will === undefined ? undefined : now + will.delayInterval * 1000;
    this.recordSession(expiry);
  }

  private recordSession(expiryInterval = this.expiryInterval): void {
    const will = this.will;
    this.record({
      type: 'session',
      session: {
        pool: this.pool,
        clientId: this.clientId,
        protocolVersion: this.version ?? 5,
        expiryInterval,
        expiresAt: this.expiresAtMs,
        userData: this.runtime.persistentUserData?.(this.context),
        lastPacketId: this.box?.lastUsedPacketId ?? 0,
        will: will === undefined ? undefined : storedWillOf(will, this.willDueAtMs),
      },
    });
  }

  private recordSubscription(filter: string, options: SubscriptionOptions): void {
    if (!this.recording) return;
    this.record({
      type: 'subscribe',
      key: this.storeKey,
      subscription: storedSubscriptionOf(filter, options),
    });
  }

  /** Starts or stops recording changes, the outbox's included (it journals through the session). */
  private setRecording(on: boolean): void {
    this.recording = on;
    if (this.box !== undefined) this.box.journal = on ? this : undefined;
  }

  /** The session is not stored any more: its record goes. */
  private stopRecording(): void {
    if (!this.recording) return;
    this.setRecording(false);
    this.unloadedUpTo = undefined;
    this.record({ type: 'delete', key: this.storeKey });
  }

  private createWatchdog(): WillWatchdog<UC> {
    return new WillWatchdog<UC>(new WatchdogLink<UC>(this));
  }

  /**
   * The watchdog, made for a live connection's session when it is needed: one that knows the
   * connection's Will and the session's expiry, as if it had watched since CONNACK.
   */
  private watchdogNow(): WillWatchdog<UC> {
    if (this.watchdog === undefined) {
      this.watchdog = this.createWatchdog();
      this.watchdog.connected(this.will, this.expiryInterval);
    }
    return this.watchdog;
  }
}
