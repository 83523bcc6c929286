import type { Socket } from 'node:net';
import {
  after,
  isPromiseLike,
  type MaybePromise,
  ReasonCode,
  systemTimers,
  type Timers,
} from '@mqtt-sessions/protocol';
import {
  createMemoryRegistry,
  createRoutingId,
  type SessionRegistry,
} from '@mqtt-sessions/registry';
import { createMemoryRetainStore, type RetainStore } from '@mqtt-sessions/retain';
import { Router, type RouterOptions, type RouterStats } from '@mqtt-sessions/router';
import {
  type ConnectionInfo,
  createDefaultRuntime,
  type Runtime,
} from '@mqtt-sessions/runtime-default';
import {
  QueueBudget,
  resolveSessionOptions,
  Session,
  type SessionEvent,
  type SessionMetrics,
  type SessionOptions,
  type SessionStats,
  type SharedSessionSettings,
  shareSessionSettings,
} from '@mqtt-sessions/session';
import type { SessionOutline, SessionPage, SessionStore } from '@mqtt-sessions/session-store';
import type { IConnectPacket } from 'mqtt-packet';
import {
  Connection,
  type ConnectionOptions,
  type ConnectTarget,
  type Placement,
  type Transport,
} from './connection.js';
import { type PlacementSite, placeByVhost, placeConnect } from './placement.js';
import { PoolHost, type Topics } from './pool-host.js';
import { ResponseTopics } from './response-topics.js';
import {
  type DeliveredMessage,
  type PublishOptions,
  type PublishOutcome,
  publishFromServer,
  type ServerSide,
  type SubscribeOptions,
  type SubscribeOutcome,
  subscribeFromServer,
} from './server-api.js';
import { StoreJournal } from './store-journal.js';
import { attachSocket } from './transports.js';

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
  /**
   * Where persistent sessions (Session Expiry Interval above 0) live, so that they outlive the
   * process; call {@link Pool.restore} at start to take them back. Default: none, sessions live in
   * memory only. The pool closes the store when it closes.
   */
  store?: SessionStore;
  /** Routing options: delivery mode, shared subscription strategy, fan-out slicing. */
  router?: RouterOptions;
  /** Clock and timers; the system's by default (inject fake ones in tests). */
  timers?: Timers;
  /**
   * Bytes that all sessions together may hold, queued or in flight; past it, QoS 0 messages are
   * not queued and new QoS 1 and 2 PUBLISH are refused with 0x97. A number (default 1 GiB), or a
   * `QueueBudget` shared with other pools (a pool set shares one).
   */
  queueBudget?: number | QueueBudget;
  /**
   * The store is shared with the other brokers of a cluster, which own sessions of it (see
   * `@mqtt-sessions/cluster`): a session is loaded from it when its client connects here, and
   * {@link Pool.restore} takes back none at start. Default false.
   */
  sharedStore?: boolean;
  /** Told about connects, disconnects, refusals, drops and session ends. */
  observe?: (event: SessionEvent & { readonly pool: string }) => void;
  /**
   * Called when something fails unexpectedly inside a session (with its client id) or the pool.
   * Default: console.error.
   */
  onError?: (error: unknown, clientId?: string) => void;
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
 * wires the router, retain store, registry, will watchdogs and runtime together behind the port
 * its sessions use ({@link PoolHost}), places CONNECTs ({@link placeConnect}), connects transports,
 * and gives server code its own publish/subscribe API (`server-api.ts`).
 *
 * @example
 * ```ts
 * const pool = createPool();
 * net.createServer(pool.handle).listen(1883);
 * ```
 */
export class Pool<UC = unknown>
  implements ConnectTarget, PlacementSite<UC>, ServerSide<UC>, Topics
{
  readonly name: string;
  readonly runtime: Runtime<UC>;
  readonly router: Router;
  readonly retain: RetainStore;
  readonly registry: SessionRegistry<Session<UC>>;
  readonly sessionOptions: SessionOptions;
  readonly timers: Timers;
  /** The port the pool's sessions (and server code) publish and subscribe through. */
  readonly host: PoolHost<UC>;
  private readonly sessions = new Set<Session<UC>>();
  /** One object for every session of the pool, rather than six fields in each. */
  private readonly sessionSettings: SharedSessionSettings<UC>;
  private readonly responses: ResponseTopics<UC>;
  private readonly onError: ((error: unknown, clientId?: string) => void) | undefined;
  private isClosing = false;
  private readonly store: SessionStore | undefined;
  private readonly journal: StoreJournal | undefined;
  private readonly sharedStore: boolean;

  /**
   * Connects a TCP or TLS socket: hand it to `net.createServer` or `tls.createServer` as it is.
   * Writes are corked per event-loop turn, and a full socket buffer holds messages in the session.
   */
  readonly handle = (socket: Socket): Connection => attachSocket(this, socket);

  constructor(options: PoolOptions<UC> = {}) {
    this.runtime = options.runtime ?? (createDefaultRuntime() as unknown as Runtime<UC>);
    this.name = options.name ?? this.runtime.defaultPool();
    // A subscriber that throws is a bug: reported like any, never only printed.
    this.router = new Router({
      ...options.router,
      onDeliveryError: options.router?.onDeliveryError ?? ((error) => this.reportError(error)),
    });
    this.timers = options.timers ?? systemTimers;
    // The default store keeps time by the pool's clock, so retained expiry follows injected timers.
    this.retain = options.retain ?? createMemoryRetainStore({ clock: this.timers });
    this.registry = options.registry ?? createMemoryRegistry<Session<UC>>();
    this.sessionOptions = resolveSessionOptions(options.session);
    this.onError = options.onError;
    const observe = options.observe;
    const budget = options.queueBudget ?? DEFAULT_QUEUE_BUDGET;
    this.store = options.store;
    this.sharedStore = options.sharedStore === true && options.store !== undefined;
    this.journal =
      options.store === undefined
        ? undefined
        : new StoreJournal(options.store, (error) => this.reportError(error));
    this.host = new PoolHost<UC>({
      journal: this.journal,
      queueBudget: typeof budget === 'number' ? new QueueBudget(budget) : budget,
      router: this.router,
      retain: this.retain,
      registry: this.registry,
      sessions: this.sessions,
      timers: this.timers,
      observe:
        observe === undefined
          ? undefined
          : (event) => {
              // A throwing log callback must not break the session that reports. The event
              // names its pool already: no copy per event.
              try {
                observe(event);
              } catch (error) {
                this.reportError(error);
              }
            },
      reportError: (error) => this.reportError(error),
    });
    this.sessionSettings = shareSessionSettings<UC>({
      pool: this.name,
      host: this.host,
      runtime: this.runtime,
      options: this.sessionOptions,
      timers: this.timers,
      ...(this.onError === undefined ? {} : { onError: this.onError }),
    });
    this.responses = new ResponseTopics(this);
    // Another broker of a cluster takes a client id over: its session moves there through the
    // shared store, or ends when it is not stored (a v5 client hears DISCONNECT 0x8E).
    this.registry.onTakeover?.((_clientId, session) => session.handOver());
  }

  // --- Connections -------------------------------------------------------------------------

  /**
   * Connects a transport. Feed the returned connection the bytes the transport receives; it
   * answers through `transport.send`.
   */
  connect(transport: Transport, options: ConnectionOptions = {}): Connection {
    return new Connection(transport, this, options);
  }

  /** Places a CONNECT that names this pool, or no pool (see {@link placeByVhost}). */
  attach(connection: Connection, packet: IConnectPacket): MaybePromise<Placement> {
    return placeByVhost(
      this.runtime as Runtime<unknown>,
      packet,
      () => placeConnect(this, connection, packet),
      (pool) => (pool === this.name ? placeConnect(this, connection, packet) : undefined),
    );
  }

  /** The pool's own limits apply to its connections from their first byte. */
  get entry(): this {
    return this;
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

  get packetsPerTurn(): number {
    return this.sessionOptions.packetsPerTurn;
  }

  get turnTimeMs(): number {
    return this.sessionOptions.turnTimeMs;
  }

  get slowClientTimeoutMs(): number {
    return this.sessionOptions.slowClientTimeoutMs;
  }

  get acceptMqtt31(): boolean {
    return this.sessionOptions.acceptMqtt31;
  }

  get maxTopicLevels(): number {
    return this.sessionOptions.maxTopicLevels;
  }

  get retainedPageSize(): number {
    return this.sessionOptions.retainedPageSize;
  }

  /** Counters of this pool's sessions. */
  get metrics(): SessionMetrics {
    return this.host.metrics;
  }

  get closing(): boolean {
    return this.isClosing;
  }

  createSession(clientId: string, connection: ConnectionInfo): Session<UC> {
    return new Session<UC>({
      clientId,
      routingId: createRoutingId(),
      connection,
      shared: this.sessionSettings,
    });
  }

  adopt(session: Session<UC>): void {
    this.sessions.add(session);
  }

  /**
   * With a shared store, takes the stored state of a client id that has just been registered
   * here (another broker of the cluster may have held it), so that its client resumes it. A
   * stored session that has expired is not taken.
   */
  recover(session: Session<UC>): MaybePromise<void> {
    const journal = this.journal;
    if (!this.sharedStore || journal === undefined) return;
    return after(journal.load({ pool: this.name, clientId: session.clientId }), (state) => {
      if (state === undefined) return;
      const expiresAt = state.session.expiresAt;
      if (expiresAt !== undefined && expiresAt <= this.timers.now()) return;
      session.restore(state);
    });
  }

  /**
   * Resolves once what the sessions recorded until now is in the store, and rejects when the
   * store failed; later records are not waited for. Nothing to wait for without a store.
   */
  async flushStore(): Promise<void> {
    await this.journal?.recordedSoFar();
  }

  /** Sends `$SYS/...` topics to another pool's router and store: the default pool of a set. */
  useSysTopicsOf(pool: Topics): void {
    this.host.sys = pool;
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

  /**
   * Counters, session counts and retained-store sizes. When the retain store cannot answer (a
   * Redis that is away), `retainedCount` and `retainedBytes` are `NaN` and the rest is still
   * given: figures must not go dark with one store.
   */
  stats(): MaybePromise<PoolStats> {
    const rest = () => ({
      ...this.host.metrics,
      sessions: this.sessions.size,
      connected: this.connectedCount(),
      subscriptions: this.router.stats().subscriptions,
    });
    let sizes: MaybePromise<[number, number]>;
    try {
      sizes = after(this.retain.count(), (count) =>
        after(this.retain.bytes(), (bytes): [number, number] => [count, bytes]),
      );
    } catch {
      sizes = [Number.NaN, Number.NaN];
    }
    const withSizes = ([retainedCount, retainedBytes]: [number, number]): PoolStats => ({
      ...rest(),
      retainedCount,
      retainedBytes,
    });
    if (!isPromiseLike(sizes)) return withSizes(sizes);
    return sizes.then(withSizes, () => withSizes([Number.NaN, Number.NaN]));
  }

  /**
   * Takes back the sessions stored in the pool's store, before the pool takes connections: each
   * with its subscriptions and QoS 2 state (its messages load when its client comes back). Then
   * their timers resume with the time that remains, so sessions that expired during the downtime
   * end now, and Wills that came due are published, once. Does nothing without a store, or with a
   * shared one (its sessions are loaded as their clients connect).
   *
   * @returns The number of sessions restored.
   */
  async restore(options: { readonly pageSize?: number } = {}): Promise<number> {
    const store = this.store;
    if (store === undefined || this.sharedStore) return 0;
    const pageSize = options.pageSize ?? 1000;
    const restored: [Session<UC>, SessionOutline][] = [];
    let cursor: string | null = null;
    do {
      const page: SessionPage = await store.list(this.name, cursor, pageSize);
      for (const outline of page.sessions) {
        const session = await this.restoreOne(outline);
        if (session !== undefined) restored.push([session, outline]);
      }
      cursor = page.cursor;
    } while (cursor !== null);
    // Every subscription is back before any timer runs: a Will published now reaches them all.
    for (const [session, outline] of restored) session.resumeTimers(outline.session);
    return restored.length;
  }

  /**
   * With a shared store, takes the stored session of a client id into this pool as a disconnected
   * session, as {@link restore} does at start: for a cluster node that takes over the sessions of
   * a node that died. Its timers resume with the time that remains (a Will that came due is
   * published now). Resolves to the session, or undefined when the store has none, or the client
   * id is in use here or held by another node (which then has the session).
   */
  async takeStored(clientId: string): Promise<Session<UC> | undefined> {
    const store = this.store;
    if (store === undefined) return undefined;
    const state = await store.load({ pool: this.name, clientId });
    if (state === undefined) return undefined;
    const session = await this.restoreOne(state);
    session?.resumeTimers(state.session);
    return session;
  }

  private async restoreOne(outline: SessionOutline): Promise<Session<UC> | undefined> {
    const clientId = outline.session.clientId;
    const existing = await this.registry.find(clientId);
    if (existing !== undefined && !existing.ended) return undefined; // connected meanwhile
    const session = this.createSession(clientId, { peerIp: undefined, contextPrefs: {} });
    const registered = await this.registry.register(clientId, session);
    if (!registered.ok) {
      session.end('client id taken');
      return undefined;
    }
    this.adopt(session);
    session.restore(outline);
    return session;
  }

  /**
   * Shuts the pool down. A session the store keeps is suspended: its connection closes (a v5
   * client gets DISCONNECT 0x8B, Server shutting down) and it stays stored, to be restored at the
   * next start; its Will goes then, by the usual rules. Every other session is killed: its
   * connection closes the same way and a Will it still holds is published [MQTT-3.1.2-8]. Then
   * what is recorded is stored, and the stores close.
   */
  async close(): Promise<void> {
    this.isClosing = true;
    for (const session of [...this.sessions]) {
      session.suspend(ReasonCode.ServerShuttingDown, 'server shutting down');
    }
    this.responses.close();
    await this.journal?.close();
    await this.store?.close();
    await this.retain.close();
  }

  reportError(error: unknown): void {
    this.host.metrics.internalErrors++;
    if (this.onError !== undefined) this.onError(error);
    else console.error('mqtt-sessions pool:', error);
  }
}

/** The bytes all sessions of a pool (or pool set) may hold by default: 1 GiB. */
export const DEFAULT_QUEUE_BUDGET = 1024 * 1024 * 1024;

/** Creates a {@link Pool}. */
export function createPool<UC = unknown>(options: PoolOptions<UC> = {}): Pool<UC> {
  return new Pool<UC>(options);
}
