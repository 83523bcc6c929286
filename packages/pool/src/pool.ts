import {
  after,
  isPromiseLike,
  type MaybePromise,
  type MessageProperties,
  ReasonCode,
  secondsLeft,
  systemTimers,
  type Timers,
} from '@mqtt-sessions/protocol';
import {
  createClientId,
  createMemoryRegistry,
  createRoutingId,
  type SessionRegistry,
  validateClientId,
} from '@mqtt-sessions/registry';
import {
  createMemoryRetainStore,
  type RetainCursor,
  type RetainPage,
  type RetainStore,
} from '@mqtt-sessions/retain';
import {
  type PublishResult,
  type RoutedMessage,
  Router,
  type RouterOptions,
  type RouterStats,
  type SharedRoute,
  type SubscribeResult,
  type Subscriber,
  type SubscriptionOptions,
} from '@mqtt-sessions/router';
import { createDefaultRuntime, type Runtime } from '@mqtt-sessions/runtime-default';
import {
  createSessionMetrics,
  resolveSessionOptions,
  Session,
  type SessionConnection,
  type SessionEvent,
  type SessionHost,
  type SessionMetrics,
  type SessionOptions,
  type SessionStats,
} from '@mqtt-sessions/session';
import { isSharedFilter, parseSharedSubscription } from '@mqtt-sessions/topic-trie';
import type { IConnectPacket } from 'mqtt-packet';
import {
  Connection,
  type ConnectionOptions,
  type ConnectTarget,
  type Transport,
} from './connection.js';
import { ResponseTopics } from './response-topics.js';
import {
  type DeliveredMessage,
  type PublishOptions,
  type PublishOutcome,
  publishFromServer,
  type ServerSubscription,
  type SubscribeOptions,
  type SubscribeOutcome,
  subscribeFromServer,
} from './server-api.js';

/** Options of {@link createPool}. */
export interface PoolOptions<UC> {
  /** The pool's name; default: the runtime's default pool. */
  name?: string;
  /** Auth, ACL and policy; default: `createDefaultRuntime()` (permissive, for development). */
  runtime?: Runtime<UC>;
  /** Where retained messages live; default: an in-memory store with a 500 MiB cap, on `timers`. */
  retain?: RetainStore;
  /** Client id -> session lookup; default: an in-memory registry. */
  registry?: SessionRegistry<Session<UC>>;
  /** Session limits and MQTT 5 feature switches. */
  session?: Partial<SessionOptions>;
  /** Routing options: delivery mode, shared subscription strategy, fan-out slicing. */
  router?: RouterOptions;
  /** Clock and timers; the system's by default (inject fake ones in tests). */
  timers?: Timers;
  /** Told about connects, disconnects, refusals, drops and session ends. */
  observe?: (event: SessionEvent & { readonly pool: string }) => void;
  /** Called when something fails unexpectedly inside a session. Default: console.error. */
  onError?: (error: unknown) => void;
}

/** Counters and sizes of a pool. */
export interface PoolStats extends SessionMetrics {
  readonly sessions: number;
  readonly connected: number;
  readonly subscriptions: number;
  readonly retainedCount: number;
  readonly retainedBytes: number;
}

/**
 * A pool of MQTT sessions: one namespace of client ids, subscriptions and retained messages. It
 * wires the topic trie, router, retain store, registry, will watchdogs and runtime together,
 * connects transports to sessions, and gives server code its own publish/subscribe API.
 *
 * @example
 * ```ts
 * const pool = createPool();
 * const connection = pool.connect({ send: (bytes) => socket.write(bytes), close: () => socket.end() });
 * socket.on('data', (chunk) => connection.receive(chunk));
 * socket.on('close', () => connection.end());
 * ```
 */
export class Pool<UC = unknown> implements SessionHost, ConnectTarget {
  readonly name: string;
  readonly runtime: Runtime<UC>;
  readonly router: Router;
  readonly retain: RetainStore;
  readonly registry: SessionRegistry<Session<UC>>;
  readonly sessionOptions: SessionOptions;
  readonly timers: Timers;
  readonly metrics: SessionMetrics = createSessionMetrics();
  readonly observe: ((event: SessionEvent) => void) | undefined;
  /** The pool that owns `$SYS` topics: the default pool of a set, or this one. */
  sysPool: Pool<UC> = this;
  private readonly sessions = new Set<Session<UC>>();
  private readonly responses: ResponseTopics<UC>;
  private readonly onError: ((error: unknown) => void) | undefined;
  private closing = false;

  constructor(options: PoolOptions<UC> = {}) {
    this.runtime = options.runtime ?? (createDefaultRuntime() as unknown as Runtime<UC>);
    this.name = options.name ?? this.runtime.defaultPool();
    this.router = new Router(options.router);
    this.timers = options.timers ?? systemTimers;
    // The default store keeps time by the pool's clock, so retained expiry follows injected timers.
    this.retain = options.retain ?? createMemoryRetainStore({ clock: this.timers });
    this.registry = options.registry ?? createMemoryRegistry<Session<UC>>();
    this.sessionOptions = resolveSessionOptions(options.session);
    this.onError = options.onError;
    const observe = options.observe;
    this.observe =
      observe === undefined
        ? undefined
        : (event) => {
            // A throwing log callback must not break the session that reports.
            try {
              observe({ ...event, pool: this.name });
            } catch (error) {
              this.reportError(error);
            }
          };
    this.responses = new ResponseTopics(this);
  }

  get maxIncomingPacketSize(): number {
    return this.sessionOptions.maxIncomingPacketSize;
  }

  get connectTimeoutMs(): number {
    return this.sessionOptions.connectTimeoutMs;
  }

  get maxPendingPackets(): number {
    return this.sessionOptions.maxPendingPackets;
  }

  // --- Connections -------------------------------------------------------------------------

  /**
   * Connects a transport. Feed the returned connection the bytes the transport receives; it
   * answers through `transport.send`.
   */
  connect(transport: Transport, options: ConnectionOptions = {}): Connection {
    return new Connection(transport, this, options);
  }

  /** Places a CONNECT that names this pool (or no pool); see {@link ConnectTarget.attach}. */
  attach(
    connection: Connection,
    packet: IConnectPacket,
  ): MaybePromise<SessionConnection | { refuse: number; reason: string }> {
    const vhost = vhostOf(packet.username);
    if (vhost === undefined) return this.place(connection, packet);
    return after(this.runtime.vhostPool(vhost), (choice) => {
      if (!choice.ok) return { refuse: ReasonCode.ServerUnavailable, reason: choice.reason };
      if (choice.pool !== this.name) {
        return { refuse: ReasonCode.ServerUnavailable, reason: 'the vhost names another pool' };
      }
      return this.place(connection, packet);
    });
  }

  /**
   * Finds or creates the session of a CONNECT's client id and attaches the connection: an empty
   * id gets one assigned [MQTT-3.1.3-6], except under MQTT 3.1.1 without clean session
   * [MQTT-3.1.3-8]; an invalid one is refused with 0x85 (3.1.1: 0x02) [MQTT-3.1.3-9].
   */
  place(
    connection: Connection,
    packet: IConnectPacket,
  ): MaybePromise<SessionConnection | { refuse: number; reason: string }> {
    if (this.closing) return { refuse: ReasonCode.ServerUnavailable, reason: 'pool is closing' };
    let clientId = packet.clientId;
    let assigned = false;
    if (clientId.length === 0) {
      if (packet.protocolVersion !== 5 && packet.clean === false) {
        return {
          refuse: ReasonCode.ClientIdentifierNotValid,
          reason: 'empty client id without clean session',
        };
      }
      clientId = createClientId();
      assigned = true;
    } else {
      const valid = validateClientId(clientId);
      if (!valid.ok) return { refuse: ReasonCode.ClientIdentifierNotValid, reason: valid.message };
    }
    const info = connection; // it carries peerIp and contextPrefs
    // The connection itself is the session's link: no wrapper object per connection.
    const link = connection;
    return after(this.registry.find(clientId), (existing) => {
      if (existing !== undefined && !existing.ended)
        return existing.connect(link, packet, info, assigned);
      const session = new Session<UC>({
        clientId,
        routingId: createRoutingId(),
        pool: this.name,
        host: this,
        runtime: this.runtime,
        options: this.sessionOptions,
        timers: this.timers,
        connection: info,
        ...(this.onError === undefined ? {} : { onError: this.onError }),
      });
      return after(this.registry.register(clientId, session), (registered) => {
        if (!registered.ok) {
          session.end('client id taken');
          if (registered.reason === 'remote') {
            return after(registered.takeover(), () => this.place(connection, packet));
          }
          const holder = registered.existing;
          if (holder.ended) {
            // The registry still names a session that ended (its unregister is on the way).
            return after(this.registry.unregister(clientId, holder), () =>
              this.place(connection, packet),
            );
          }
          return holder.connect(link, packet, info, assigned);
        }
        this.sessions.add(session);
        return session.connect(link, packet, info, assigned);
      });
    });
  }

  // --- SessionHost: what sessions need from the pool ----------------------------------------

  /** Routes a message, in the `$SYS` pool for `$SYS` topics, and stores it when retained. */
  publish(message: RoutedMessage, senderKey: string | undefined): MaybePromise<PublishResult> {
    const pool = this.poolFor(message.topic);
    const result = pool.router.publish(message, senderKey);
    if (!result.ok || !message.retain) return result;
    let stored: MaybePromise<void>;
    try {
      stored = pool.retain.set({
        topic: message.topic,
        payload: message.payload,
        qos: message.qos,
        properties: retainedProperties(message, this.timers.now()),
      });
    } catch (error) {
      this.reportError(error);
      return result;
    }
    if (!isPromiseLike(stored)) return result;
    return stored.then(
      () => result,
      (error: unknown) => {
        // The message reached its subscribers; only keeping it failed. Report, do not fail them.
        this.reportError(error);
        return result;
      },
    );
  }

  subscribe(subscriber: Subscriber, filter: string, options: SubscriptionOptions): SubscribeResult {
    return this.poolFor(innerFilter(filter)).router.subscribe(subscriber, filter, options);
  }

  unsubscribe(subscriber: Subscriber, filter: string): boolean {
    return this.poolFor(innerFilter(filter)).router.unsubscribe(subscriber, filter);
  }

  /** Removes a subscriber's subscriptions here and in the `$SYS` pool (fixes defect 19). */
  unsubscribeAll(subscriber: Subscriber): void {
    this.router.unsubscribeAll(subscriber);
    if (this.sysPool !== this) this.sysPool.router.unsubscribeAll(subscriber);
  }

  matchRetained(
    filter: string,
    cursor: RetainCursor | null,
    limit: number,
  ): MaybePromise<RetainPage> {
    return this.poolFor(innerFilter(filter)).retain.match(filter, { cursor, limit });
  }

  routeShared(route: SharedRoute, message: RoutedMessage, exclude: Subscriber): boolean {
    return this.poolFor(route.filter).router.routeShared(route, message, exclude);
  }

  sessionEnded(session: object): void {
    const ended = session as Session<UC>;
    this.sessions.delete(ended);
    const done = this.registry.unregister(ended.clientId, ended);
    if (isPromiseLike(done)) done.catch((error: unknown) => this.reportError(error));
  }

  // --- Server-side API -----------------------------------------------------------------------

  /**
   * Publishes a message from server code: the topic is validated and the runtime asked whether
   * `userContext` may publish it. `payload` may be bytes, a string, or any value the payload
   * helpers can encode (the content type is then set from the value).
   */
  serverPublish(
    topic: string,
    payload: unknown,
    options: PublishOptions<UC> = {},
  ): MaybePromise<PublishOutcome> {
    return publishFromServer(this, topic, payload, options);
  }

  /**
   * Subscribes server code to a filter: `callback` gets every matching message with the wildcard
   * bindings and the publisher's user context. Retained messages are delivered at once.
   */
  serverSubscribe(
    filter: string,
    callback: (message: DeliveredMessage) => void,
    options: SubscribeOptions<UC> = {},
  ): MaybePromise<SubscribeOutcome> {
    return subscribeFromServer(this, filter, callback, options);
  }

  /**
   * A fresh topic for one response (`reply/call-{key}/{n}`), for request/response between server
   * code and clients: publish a request with it as Response Topic, then {@link awaitResponse}.
   */
  tempResponseTopic(
    userContext?: UC,
  ): MaybePromise<{ ok: true; topic: string } | { ok: false; reason: string }> {
    return this.responses.next(userContext);
  }

  /** Waits for the message published to a topic from {@link tempResponseTopic}. */
  awaitResponse(topic: string, timeoutMs = 5000): Promise<DeliveredMessage> {
    return this.responses.wait(topic, timeoutMs);
  }

  /** The session of a client id, if it lives in this pool. */
  findSession(clientId: string): MaybePromise<Session<UC> | undefined> {
    return this.registry.find(clientId);
  }

  /** The user context of a client's session. */
  getUserContext(clientId: string): MaybePromise<UC | undefined> {
    return after(this.registry.find(clientId), (session) => session?.userContext);
  }

  /** Replaces the user context of a client's session; false when there is no such session. */
  setUserContext(clientId: string, context: UC): MaybePromise<boolean> {
    return after(this.registry.find(clientId), (session) => {
      if (session === undefined) return false;
      session.userContext = context;
      return true;
    });
  }

  /** Updates the user context of a client's session with a function of the current one. */
  updateUserContext(clientId: string, update: (context: UC) => UC): MaybePromise<boolean> {
    return after(this.registry.find(clientId), (session) => {
      if (session === undefined) return false;
      session.updateUserContext(update);
      return true;
    });
  }

  /** Ends a client's session now (a v5 client gets DISCONNECT 0x98); false when there is none. */
  killSession(clientId: string): MaybePromise<boolean> {
    return after(this.registry.find(clientId), (session) => {
      if (session === undefined) return false;
      session.kill();
      return true;
    });
  }

  /**
   * Sends a connected client to another server (MQTT 5 section 4.11): DISCONNECT 0x9C (Use
   * another server), or 0x9D (Server moved) with `permanent`, carrying `serverReference` (one or
   * more `host[:port]`, separated by spaces), then closes the connection. The session stays, as
   * after any server-side DISCONNECT: it lives for its Session Expiry Interval, so a client that
   * cannot reach the other server may come back to it; its Will goes by the usual rules. An MQTT
   * 3.1.1 client has no DISCONNECT to read: its connection is just closed.
   *
   * @returns false when the client has no session here or is not connected.
   */
  redirect(
    clientId: string,
    serverReference: string,
    options: { readonly permanent?: boolean; readonly reasonString?: string } = {},
  ): MaybePromise<boolean> {
    const reasonCode =
      options.permanent === true ? ReasonCode.ServerMoved : ReasonCode.UseAnotherServer;
    const reason = options.permanent === true ? 'server moved' : 'use another server';
    const properties =
      options.reasonString === undefined
        ? { serverReference }
        : { serverReference, reasonString: options.reasonString };
    return after(
      this.registry.find(clientId),
      (session) => session?.disconnect(reasonCode, reason, properties) ?? false,
    );
  }

  /** Sessions in this pool, connected or not. */
  sessionCount(): number {
    return this.sessions.size;
  }

  /** Sessions with a live connection. */
  connectedCount(): number {
    let count = 0;
    for (const session of this.sessions) if (session.connected) count++;
    return count;
  }

  /** Every session, for introspection (biggest queues, most packets). */
  sessionStats(): SessionStats[] {
    return [...this.sessions].map((session) => session.stats());
  }

  /** Router counts: filters, subscriptions, subscribers, wildcard filters, trie nodes. */
  routerInfo(): RouterStats {
    return this.router.stats();
  }

  /** Counters, session counts and retained-store sizes. */
  stats(): MaybePromise<PoolStats> {
    return after(this.retain.count(), (retainedCount) =>
      after(this.retain.bytes(), (retainedBytes) => ({
        ...this.metrics,
        sessions: this.sessions.size,
        connected: this.connectedCount(),
        subscriptions: this.router.stats().subscriptions,
        retainedCount,
        retainedBytes,
      })),
    );
  }

  /**
   * Shuts the pool down: every v5 client gets DISCONNECT 0x8B (Server shutting down) and its
   * connection closes; then the sessions end, which publishes the Wills they still hold
   * [MQTT-3.1.2-8]; then the retain store closes.
   */
  async close(): Promise<void> {
    this.closing = true;
    for (const session of [...this.sessions]) {
      session.kill(ReasonCode.ServerShuttingDown, 'server shutting down');
    }
    this.responses.close();
    await this.retain.close();
  }

  /** The pool that handles a topic or filter: `$SYS/...` belongs to the `$SYS` pool. */
  poolFor(topic: string): Pool<UC> {
    return isSysTopic(topic) ? this.sysPool : this;
  }

  reportError(error: unknown): void {
    if (this.onError !== undefined) this.onError(error);
    else console.error('mqtt-sessions pool:', error);
  }
}

/** Creates a {@link Pool}. */
export function createPool<UC = unknown>(options: PoolOptions<UC> = {}): Pool<UC> {
  return new Pool<UC>(options);
}

/** The vhost of a `vhost:user` username, if it has one. */
export function vhostOf(username: string | undefined): string | undefined {
  if (username === undefined) return undefined;
  const colon = username.indexOf(':');
  return colon === -1 ? undefined : username.slice(0, colon);
}

function isSysTopic(topic: string): boolean {
  return topic.startsWith('$SYS') && (topic.length === 4 || topic.charCodeAt(4) === 0x2f);
}

function innerFilter(filter: string): string {
  if (!isSharedFilter(filter)) return filter;
  const parsed = parseSharedSubscription(filter);
  return parsed.ok && parsed.shared !== null ? parsed.shared.filter : filter;
}

function retainedProperties(message: RoutedMessage, now: number): MessageProperties {
  const deadline = message.expiresAt;
  if (deadline === undefined) return message.properties;
  return { ...message.properties, messageExpiryInterval: secondsLeft(deadline, now) };
}

export type { ServerSubscription };
