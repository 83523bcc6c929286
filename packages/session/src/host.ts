import type { MaybePromise } from '@mqtt-sessions/protocol';
import type { RetainCursor, RetainPage } from '@mqtt-sessions/retain';
import type {
  PublishResult,
  RoutedMessage,
  SharedRoute,
  SubscribeResult,
  Subscriber,
  SubscriptionOptions,
} from '@mqtt-sessions/router';
import type { WillMessage } from '@mqtt-sessions/will';
import type { SessionJournal } from './persistence.js';
import type { QueueBudget } from './queue-budget.js';

/**
 * What a session needs from the server around it: routing, subscriptions, retained messages and
 * bookkeeping. `@mqtt-sessions/pool` implements it over a router, a retain store and a registry
 * (and maps `$SYS` topics to the default pool); a custom broker can implement it its own way.
 */
export interface SessionHost {
  /**
   * Routes a message to its subscribers and, when its RETAIN flag is set, stores it as the
   * retained message of its topic (an empty payload deletes). Resolves once both are done.
   */
  publish(message: RoutedMessage, senderKey: string | undefined): MaybePromise<PublishResult>;
  /** Adds or replaces a subscription; see `Router.subscribe`. */
  subscribe(subscriber: Subscriber, filter: string, options: SubscriptionOptions): SubscribeResult;
  /** Removes a subscription; false when there was none. */
  unsubscribe(subscriber: Subscriber, filter: string): boolean;
  /** Removes every subscription of a subscriber. */
  unsubscribeAll(subscriber: Subscriber): void;
  /** One page of the retained messages a filter matches. */
  matchRetained(
    filter: string,
    cursor: RetainCursor | null,
    limit: number,
  ): MaybePromise<RetainPage>;
  /** Sends a message that came through a shared group to another member; false if none. */
  routeShared(route: SharedRoute, message: RoutedMessage, exclude: Subscriber): boolean;
  /** The session has ended for good: forget it (registry). */
  sessionEnded(session: object): void;
  /** Counters the session adds to; shared by every session of a pool. */
  readonly metrics: SessionMetrics;
  /**
   * The bytes that sessions may hold, queued or in flight, shared by the sessions of a pool (or of
   * a set of pools). Optional: without it, only each session's own limits apply.
   */
  readonly queueBudget?: QueueBudget | undefined;
  /**
   * Where persistent sessions (a Session Expiry Interval above 0) record their changes, so that
   * they outlive the process. Optional: without it, sessions live in memory only.
   */
  readonly journal?: SessionJournal | undefined;
  /** Told about connects, disconnects, refusals and limits, for logs. Optional. */
  readonly observe?: ((event: SessionEvent) => void) | undefined;
  /**
   * Told the Will of a connection that no store keeps (its session has expiry 0, or there is no
   * store) when the connection is accepted, and `undefined` when that session ends: a cluster
   * keeps it where another broker finds it if this process dies. Optional.
   */
  volatileWill?(clientId: string, will: WillMessage | undefined): void;
}

/** Counters of one pool's sessions, added to on the message path (plain number fields, for speed). */
export interface SessionMetrics {
  packetsReceived: number;
  packetsSent: number;
  bytesReceived: number;
  bytesSent: number;
  publishReceived: number;
  publishSent: number;
  /** Messages dropped: queue full, too large for the client, expired, or refused by rate limit. */
  messagesDropped: number;
  /** The same drops by reason; they add up to {@link SessionMetrics.messagesDropped}. */
  readonly droppedByReason: Record<DropReason, number>;
  connects: number;
  refusedConnects: number;
  /** Connections cut off because their client left its replies unread for too long. */
  slowClientDisconnects: number;
  /** Unexpected failures inside sessions (bugs, throwing runtimes), each reported with its client. */
  internalErrors: number;
}

/** A fresh set of zeroed counters. */
export function createSessionMetrics(): SessionMetrics {
  return {
    packetsReceived: 0,
    packetsSent: 0,
    bytesReceived: 0,
    bytesSent: 0,
    publishReceived: 0,
    publishSent: 0,
    messagesDropped: 0,
    droppedByReason: {
      'queue-full': 0,
      'too-large': 0,
      expired: 0,
      'rate-limited': 0,
      overload: 0,
    },
    connects: 0,
    refusedConnects: 0,
    slowClientDisconnects: 0,
    internalErrors: 0,
  };
}

/** Why a message was dropped for one client. */
export type DropReason = 'queue-full' | 'too-large' | 'expired' | 'rate-limited' | 'overload';

/** Counts `count` dropped messages with their reason. */
export function countDrop(metrics: SessionMetrics, reason: DropReason, count = 1): void {
  metrics.messagesDropped += count;
  metrics.droppedByReason[reason] += count;
}

/** Things worth a log line, each with the client id and the pool of its session. */
export type SessionEvent =
  | {
      readonly type: 'connected';
      readonly clientId: string;
      readonly pool: string;
      readonly protocolVersion: number;
      readonly sessionPresent: boolean;
      readonly peerIp: string | undefined;
    }
  | {
      readonly type: 'refused';
      readonly clientId: string;
      readonly pool: string;
      readonly reasonCode: number;
      readonly reason: string;
      readonly peerIp: string | undefined;
    }
  | {
      readonly type: 'disconnected';
      readonly clientId: string;
      readonly pool: string;
      /** The reason code sent or received, if any. */
      readonly reasonCode: number | undefined;
      readonly reason: string;
    }
  | {
      readonly type: 'dropped';
      readonly clientId: string;
      readonly pool: string;
      readonly reason: DropReason;
      readonly count: number;
    }
  | {
      readonly type: 'session-ended';
      readonly clientId: string;
      readonly pool: string;
      readonly reason: string;
    };
