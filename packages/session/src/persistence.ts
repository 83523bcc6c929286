import type { MaybePromise, QoS } from '@mqtt-sessions/protocol';
import type { RoutedMessage, SubscriptionOptions } from '@mqtt-sessions/router';
import type {
  MessageStage,
  SessionChange,
  SessionKey,
  SessionState,
  StoredMessage,
  StoredSubscription,
  StoredWill,
} from '@mqtt-sessions/session-store';
import type { WillMessage } from '@mqtt-sessions/will';
import { type OutboxEntry, Stage } from './outbox-entry.js';

/**
 * Where a session writes the changes that make it outlive the process: the pool gathers the
 * changes of one turn of the event loop and applies them to its `SessionStore` together.
 */
export interface SessionJournal {
  /** Records a change, applied with the others of this turn. */
  record(change: SessionChange): void;
  /** How many changes have been recorded since the journal was made. */
  readonly recorded: number;
  /**
   * Settles once every change recorded so far is stored: nothing (at once) when none is pending.
   * Rejects when the store failed.
   */
  durable(): MaybePromise<void>;
  /** Everything the store holds of one session, for a restored session's messages. */
  load(key: SessionKey): MaybePromise<SessionState | undefined>;
}

/** What the outbox tells its session, so that a persistent session can record it. */
export interface OutboxJournal {
  /** A QoS 1 or 2 message was queued, sent, or moved on to PUBREL. */
  messageChanged(entry: OutboxEntry): void;
  /** A QoS 1 or 2 message left the outbox: acknowledged, expired or dropped. */
  messageDone(entry: OutboxEntry): void;
}

const STAGES: readonly MessageStage[] = ['queued', 'await-puback', 'await-pubrec', 'await-pubcomp'];

/** An outbox entry as a store keeps it. */
export function storedMessageOf(entry: OutboxEntry): StoredMessage {
  const message = entry.message;
  return {
    seq: entry.seq,
    topic: message.topic,
    payload: message.payload,
    qos: entry.qos as 1 | 2,
    retain: entry.retain,
    properties: message.properties,
    propertyBytes: message.propertyBytes,
    expiresAt: message.expiresAt,
    subscriptionIds: entry.subscriptionIds,
    shared: entry.shared,
    stage: STAGES[entry.stage] as MessageStage,
    packetId: entry.packetId,
    sent: entry.sent,
  };
}

/** A stored message as the router's message again. */
export function routedFromStored(stored: StoredMessage): RoutedMessage {
  return {
    topic: stored.topic,
    payload: stored.payload,
    qos: stored.qos,
    retain: stored.retain,
    properties: stored.properties,
    propertyBytes: stored.propertyBytes,
    expiresAt: stored.expiresAt,
    sender: undefined,
    senderContext: undefined,
    wireCache: undefined,
  };
}

/** The stage of a stored message, as the outbox counts. */
export function stageOf(stored: StoredMessage): Stage {
  return STAGES.indexOf(stored.stage) as Stage;
}

/** A subscription as a store keeps it. */
export function storedSubscriptionOf(
  filter: string,
  options: SubscriptionOptions,
): StoredSubscription {
  return {
    filter,
    qos: options.qos,
    noLocal: options.noLocal,
    retainAsPublished: options.retainAsPublished,
    retainHandling: options.retainHandling,
    subscriptionIdentifier: options.subscriptionIdentifier,
  };
}

/** The options of a stored subscription. */
export function optionsOf(stored: StoredSubscription): SubscriptionOptions {
  return {
    qos: stored.qos as QoS,
    noLocal: stored.noLocal,
    retainAsPublished: stored.retainAsPublished,
    retainHandling: stored.retainHandling,
    subscriptionIdentifier: stored.subscriptionIdentifier,
  };
}

/** A Will as a store keeps it; `dueAt` once its connection is gone. */
export function storedWillOf(will: WillMessage, dueAt: number | undefined): StoredWill {
  return {
    topic: will.topic,
    payload: will.payload,
    qos: will.qos,
    retain: will.retain,
    properties: will.properties,
    propertyBytes: will.propertyBytes,
    delayInterval: will.delayInterval,
    dueAt,
  };
}

/**
 * A stored Will as the watchdog takes it back: its delay is what is left of it at `now` (a Will
 * due during the downtime has none left).
 */
export function willFromStored(stored: StoredWill, now: number): WillMessage {
  const left =
    stored.dueAt === undefined
      ? stored.delayInterval
      : Math.max(0, Math.ceil((stored.dueAt - now) / 1000));
  return {
    topic: stored.topic,
    payload: stored.payload,
    qos: stored.qos,
    retain: stored.retain,
    properties: stored.properties,
    propertyBytes: stored.propertyBytes,
    delayInterval: Math.min(left, stored.delayInterval),
  };
}

export { Stage };
