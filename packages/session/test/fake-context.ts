import type { MaybePromise, ProtocolVersion } from '@mqtt-sessions/protocol';
import type {
  PublishResult,
  RoutedMessage,
  SubscribeResult,
  SubscriptionOptions,
} from '@mqtt-sessions/router';
import { createDefaultRuntime, type Runtime } from '@mqtt-sessions/runtime-default';
import { parseSharedSubscription, validateTopicFilter } from '@mqtt-sessions/topic-trie';
import type { Packet } from 'mqtt-packet';
import type {
  AcceptRequest,
  ConnectionGrant,
  ConnectionPhase,
  ConnectionState,
  DisconnectProperties,
  PendingConnect,
  SessionContext,
} from '../src/context.js';
import type { AckType } from '../src/encode.js';
import { createSessionMetrics, type SessionEvent } from '../src/host.js';
import { resolveSessionOptions, type SessionOptions } from '../src/options.js';
import type { AckOutcome } from '../src/outbox.js';

/**
 * A session context that records what the handlers ask of it, with answers the test sets. It has
 * no router, store or watchdog: a handler test sees exactly the handler's decisions.
 */
export class FakeSession implements SessionContext {
  readonly clientId: string;
  readonly pool = 'default';
  readonly options: SessionOptions;
  runtime: Runtime<unknown>;
  readonly metrics = createSessionMetrics();
  userContext: unknown;
  ended = false;
  time = 1_000_000;
  hasState = false;
  protocolVersion: ProtocolVersion | undefined = undefined;
  /** What the next `accept` answers for Session Present. */
  sessionPresent = false;
  /** Whether the budget of queued bytes is spent. */
  overloaded = false;
  /** Tokens left in the rate limit. */
  tokens = Number.POSITIVE_INFINITY;
  /** The router's answer to the next publishes. */
  publishResult: MaybePromise<PublishResult> = { ok: true, deliveries: 1 };
  /** The router's answer to the next subscribes. */
  subscribeResult: SubscribeResult = { ok: true, isNew: true };
  expiryInterval = 0;
  connectExpiryInterval = 0;
  readonly awaiting = new Set<number>();
  readonly published: RoutedMessage[] = [];
  readonly subscribed: { filter: string; options: SubscriptionOptions }[] = [];
  readonly unsubscribed: string[] = [];
  readonly retainedRequests: string[] = [];
  readonly acks: { type: string; packetId: number; reasonCode: number }[] = [];
  readonly accepted: AcceptRequest[] = [];
  readonly events: SessionEvent[] = [];
  readonly errors: unknown[] = [];
  /** Steps taken, in order, for tests of sequencing. */
  readonly steps: string[] = [];
  /** What the outbox answers to acknowledgements. */
  ackOutcome: AckOutcome = 'done';
  /** Filters the fake router knows, for UNSUBSCRIBE. */
  readonly known = new Set<string>();
  /** What `durable` answers: at once by default, or a promise the test settles. */
  stored: MaybePromise<void> = undefined;
  /** What `loadStored` answers. */
  loaded: MaybePromise<void> = undefined;

  constructor(options: Partial<SessionOptions> = {}, runtime?: Runtime<unknown>) {
    this.clientId = 'client-1';
    this.options = resolveSessionOptions(options);
    this.runtime = runtime ?? (createDefaultRuntime() as Runtime<unknown>);
    this.userContext = this.runtime.newUserContext({
      pool: 'test',
      clientId: this.clientId,
      routingId: 'r:test',
      peerIp: undefined,
      contextPrefs: {},
    });
  }

  now(): number {
    return this.time;
  }

  report(event: SessionEvent): void {
    this.events.push(event);
  }

  reportError(error: unknown): void {
    this.errors.push(error);
  }

  durable(_since?: number): MaybePromise<void> {
    return this.stored;
  }

  /** A mark that never matches, so acknowledgements always wait on {@link stored}. */
  journalMark(): number {
    return -1;
  }

  loadStored(): MaybePromise<void> {
    return this.loaded;
  }

  authenticating(): void {
    this.steps.push('authenticating');
  }

  accept(connection: ConnectionState, request: AcceptRequest): boolean {
    this.steps.push('accept');
    this.accepted.push(request);
    this.hasState = true;
    this.protocolVersion = connection.version;
    this.expiryInterval = request.expiryInterval;
    this.connectExpiryInterval = request.expiryInterval;
    return this.sessionPresent;
  }

  resume(): void {
    this.steps.push('resume');
  }

  takePublishToken(): boolean {
    if (this.tokens < 1) return false;
    this.tokens--;
    return true;
  }

  get awaitingReleaseCount(): number {
    return this.awaiting.size;
  }

  isAwaitingRelease(packetId: number): boolean {
    return this.awaiting.has(packetId);
  }

  awaitRelease(packetId: number): void {
    this.awaiting.add(packetId);
  }

  release(packetId: number): boolean {
    return this.awaiting.delete(packetId);
  }

  publish(message: RoutedMessage): MaybePromise<PublishResult> {
    this.published.push(message);
    return this.publishResult;
  }

  acknowledged(
    _connection: ConnectionState,
    type: Exclude<AckType, 'pubrel'>,
    packetId: number,
    reasonCode: number,
  ): AckOutcome {
    this.acks.push({ type, packetId, reasonCode });
    return this.ackOutcome;
  }

  /** Validates as the router does, then records the subscription and answers `subscribeResult`. */
  subscribe(filter: string, options: SubscriptionOptions): SubscribeResult {
    const parsed = parseSharedSubscription(filter);
    const valid = parsed.ok ? validateTopicFilter(parsed.shared?.filter ?? filter) : parsed;
    if (!valid.ok) return { ok: false, reason: 'invalid-filter', message: valid.message };
    this.subscribed.push({ filter, options });
    this.known.add(filter);
    return this.subscribeResult;
  }

  unsubscribe(filter: string): boolean {
    this.unsubscribed.push(filter);
    return this.known.delete(filter);
  }

  sendRetained(filter: string): void {
    this.steps.push(`retained ${filter}`);
    this.retainedRequests.push(filter);
  }

  changeExpiryInterval(seconds: number): boolean {
    if (this.connectExpiryInterval === 0 && seconds > 0) return false;
    this.expiryInterval = seconds;
    return true;
  }
}

/** How a fake connection ended, if it did. */
export type Ending =
  | { how: 'disconnect'; reasonCode: number; reason: string; properties?: DisconnectProperties }
  | { how: 'drop'; reason: string }
  | { how: 'client'; reasonCode: number };

/** A connection that records what the handlers send and how it ended. */
export class FakeConnection implements ConnectionState {
  readonly version: ProtocolVersion;
  phase: ConnectionPhase;
  readonly info = { peerIp: '192.0.2.7', contextPrefs: {} };
  assignedClientId = false;
  problemInformation = true;
  maxOutgoingPacketSize = Number.MAX_SAFE_INTEGER;
  pendingConnect: PendingConnect | undefined = undefined;
  authenticationMethod: string | undefined = undefined;
  reauthenticating = false;
  inboundUnacked = 0;
  grant: ConnectionGrant | undefined = undefined;
  ending: Ending | undefined = undefined;
  readonly sent: Packet[] = [];
  readonly aliases = new Map<number, string>();

  constructor(version: ProtocolVersion = 5, phase: ConnectionPhase = 'connected') {
    this.version = version;
    this.phase = phase;
  }

  get live(): boolean {
    return this.phase === 'connected';
  }

  inboundAlias(alias: number): string | undefined {
    return this.aliases.get(alias);
  }

  setInboundAlias(alias: number, topic: string): void {
    this.aliases.set(alias, topic);
  }

  beginAuthentication(): void {
    this.phase = 'authenticating';
  }

  establish(grant: ConnectionGrant): void {
    this.grant = grant;
    this.problemInformation = grant.problemInformation;
    this.maxOutgoingPacketSize = grant.maxOutgoingPacketSize;
    this.phase = 'connected';
    this.pendingConnect = undefined;
  }

  send(packet: Packet): void {
    if (this.phase !== 'closed') this.sent.push(packet);
  }

  sendAck(type: AckType, packetId: number, reasonCode: number): void {
    if (this.phase === 'closed') return;
    this.sent.push({ cmd: type, messageId: packetId, reasonCode } as Packet);
  }

  /** Sends at once, or when `stored` resolves (the real connection also keeps their order). */
  sendAckWhenStored(
    stored: MaybePromise<void>,
    type: AckType,
    packetId: number,
    reasonCode: number,
  ): void {
    if (stored === undefined) this.sendAck(type, packetId, reasonCode);
    else void Promise.resolve(stored).then(() => this.sendAck(type, packetId, reasonCode));
  }

  disconnect(reasonCode: number, reason: string, properties?: DisconnectProperties): void {
    this.end(
      properties === undefined
        ? { how: 'disconnect', reasonCode, reason }
        : { how: 'disconnect', reasonCode, reason, properties },
    );
  }

  drop(reason: string): void {
    this.end({ how: 'drop', reason });
  }

  clientDisconnected(reasonCode: number): void {
    this.end({ how: 'client', reasonCode });
  }

  /** The commands sent, in order. */
  commands(): string[] {
    return this.sent.map((packet) => packet.cmd);
  }

  private end(ending: Ending): void {
    if (this.phase === 'closed') return;
    this.ending = ending;
    this.phase = 'closed';
  }
}
