import type { QoS } from '@mqtt-sessions/protocol';
import type { RoutedMessage, SharedRoute } from '@mqtt-sessions/router';
import { queuedSize } from './queue-budget.js';

/** Where an outgoing QoS 1 or 2 message stands (MQTT 5 section 4.3). */
export const Stage = {
  /** Waiting in the queue; no packet identifier yet. */
  Queued: 0,
  /** PUBLISH QoS 1 sent; waiting for PUBACK. */
  AwaitPuback: 1,
  /** PUBLISH QoS 2 sent; waiting for PUBREC. */
  AwaitPubrec: 2,
  /** PUBREL sent; waiting for PUBCOMP. */
  AwaitPubcomp: 3,
} as const;
export type Stage = (typeof Stage)[keyof typeof Stage];

/** One delivery to this client that is queued or in flight. */
export class OutboxEntry {
  stage: Stage = Stage.Queued as Stage;
  packetId = 0;
  /** Sent on an earlier connection and not yet sent again on this one. */
  held = false;
  /** Whether a PUBLISH went out before, so a resend carries DUP [MQTT-3.3.1-1]. */
  sent = false;
  /** Its place in the session's order, for a store; 0 until a persistent session records it. */
  seq = 0;
  readonly message: RoutedMessage;
  readonly qos: QoS;
  readonly retain: boolean;
  readonly subscriptionIds: readonly number[] | undefined;
  readonly shared: SharedRoute | undefined;
  /** What the entry holds, for the queue's byte limits (see `queuedSize`). */
  readonly size: number;

  constructor(
    message: RoutedMessage,
    qos: QoS,
    retain: boolean,
    subscriptionIds: readonly number[] | undefined,
    shared: SharedRoute | undefined,
  ) {
    this.message = message;
    this.qos = qos;
    this.retain = retain;
    this.subscriptionIds = subscriptionIds;
    this.shared = shared;
    this.size = queuedSize(message.payload, message.topic);
  }
}
