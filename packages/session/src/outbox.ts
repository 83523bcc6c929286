import {
  isExpired,
  isFailure,
  type ProtocolVersion,
  type QoS,
  ReasonCode,
  secondsLeft,
  type Timers,
} from '@mqtt-sessions/protocol';
import type { RoutedMessage, SharedRoute } from '@mqtt-sessions/router';
import type { StoredMessage } from '@mqtt-sessions/session-store';
import { type AckType, encodePublish, type PublishShape } from './encode.js';
import { countDrop, type DropReason, type SessionHost } from './host.js';
import { OutboxEntry, Stage } from './outbox-entry.js';
import { type OutboxJournal, routedFromStored, stageOf } from './persistence.js';
import type { OutboundAliases } from './topic-alias.js';
import { forwardedBytes, sharedForm, withPacketId } from './wire-cache.js';

/** The shared, always empty in-flight map of outboxes that have never had one. Never written. */
const NOTHING_IN_FLIGHT: Map<number, never> = new Map<number, never>();

/** The live connection an outbox sends on. */
export interface OutboxLink {
  readonly live: boolean;
  /** False while the transport's buffer is full. */
  readonly writable: boolean;
  readonly version: ProtocolVersion;
  /** Outgoing QoS 1/2 messages in flight at most. */
  readonly sendWindow: number;
  readonly maxOutgoingPacketSize: number;
  /** The topic aliases the server assigns, when the client allows them. */
  readonly outboundAliases: OutboundAliases | undefined;
  sendAck(type: AckType, packetId: number, reasonCode: number): void;
  sendPublishBytes(bytes: Buffer): void;
}

/** How much an outbox may queue: messages, and bytes (see {@link queuedSize}). */
export interface OutboxLimits {
  readonly maxQueued: number;
  readonly maxQueuedBytes: number;
}

/** The session an outbox belongs to: whose messages they are, and its clock. */
export interface OutboxOwner {
  readonly clientId: string;
  readonly pool: string;
  readonly timers: Timers;
}

/**
 * What became of an acknowledgement from the client: it ended an exchange, named no message in
 * flight, moved a QoS 2 exchange on to PUBREL, or did not fit the exchange of its message (a
 * PUBREC or PUBCOMP for QoS 1, a PUBACK for QoS 2, a PUBCOMP before PUBREC), which is a Protocol
 * Error [MQTT-4.3.2-4] [MQTT-4.3.3-8] [MQTT-4.3.3-11].
 */
export type AckOutcome = 'done' | 'unknown' | 'pubrel-sent' | 'wrong-type';

/**
 * The outgoing half of a session: the queue of messages waiting to be sent, the QoS 1 and 2
 * messages in flight, packet identifiers, and the rules for sending: Receive Maximum, Maximum
 * Packet Size, message expiry, topic aliases and transport backpressure. It outlives connections;
 * unacknowledged messages are sent again, with DUP, when the client comes back [MQTT-4.4.0-1].
 */
export class Outbox {
  private readonly queue: OutboxEntry[] = [];
  private queueHead = 0;
  // Most sessions never have a QoS 1/2 message in flight: they share one empty map until then.
  private inflight: Map<number, OutboxEntry> = NOTHING_IN_FLIGHT;
  private lastPacketId = 0;
  /** In-flight messages waiting to be resent on the current connection. */
  private held = 0;
  /** QoS 0 messages in the queue, so a full queue knows at once whether it can drop one. */
  private queuedQoS0 = 0;
  /** No queued message expires before this (ms); it may be stale-early, never late. */
  private earliestExpiry = Number.POSITIVE_INFINITY;
  private readonly host: SessionHost;
  private readonly maxQueued: number;
  private readonly maxQueuedBytes: number;
  /** Bytes of the queued messages, against `maxQueuedBytes`. */
  private queuedBytes = 0;
  private readonly owner: OutboxOwner;
  /** Set while the session is persistent: QoS 1 and 2 messages are recorded as they change. */
  journal: OutboxJournal | undefined = undefined;
  /** The `seq` of the last message recorded. */
  private lastSeq = 0;
  /** Messages dropped since the last report, for a rate-limited log event. */
  private unreportedDrops = 0;
  private unreportedReason: DropReason = 'queue-full';
  dropped = 0;

  constructor(host: SessionHost, limits: OutboxLimits, owner: OutboxOwner) {
    this.host = host;
    this.maxQueued = limits.maxQueued;
    this.maxQueuedBytes = limits.maxQueuedBytes;
    this.owner = owner;
  }

  /** Counts bytes an entry adds to (or, negative, takes from) what the sessions hold. */
  private hold(bytes: number): void {
    const budget = this.host.queueBudget;
    if (budget !== undefined) budget.used += bytes;
  }

  private now(): number {
    return this.owner.timers.now();
  }

  /** The packet identifier used last, for a store. */
  get lastUsedPacketId(): number {
    return this.lastPacketId;
  }

  /**
   * Where a restored session's numbering goes on: new messages get a `seq` after `lastSeq`, new
   * packet identifiers follow `lastPacketId`.
   */
  continueFrom(lastSeq: number, lastPacketId: number): void {
    this.lastSeq = Math.max(this.lastSeq, lastSeq);
    this.lastPacketId = lastPacketId;
  }

  /**
   * Takes back the stored messages of a restored session, in `seq` order, ahead of any queued
   * since: queued ones into the queue, the others in flight, to be sent again (with DUP, or as
   * PUBREL) when the client is back.
   */
  restore(messages: readonly StoredMessage[]): void {
    const queued: OutboxEntry[] = [];
    for (const stored of messages) {
      const entry = new OutboxEntry(
        routedFromStored(stored),
        stored.qos,
        stored.retain,
        stored.subscriptionIds,
        stored.shared,
      );
      entry.seq = stored.seq;
      entry.sent = stored.sent;
      this.lastSeq = Math.max(this.lastSeq, stored.seq);
      this.hold(entry.size);
      if (stored.stage === 'queued') {
        queued.push(entry);
        this.queuedBytes += entry.size;
        const expiresAt = stored.expiresAt;
        if (expiresAt !== undefined && expiresAt < this.earliestExpiry) {
          this.earliestExpiry = expiresAt;
        }
        continue;
      }
      entry.stage = stageOf(stored);
      entry.packetId = stored.packetId;
      if (this.inflight === NOTHING_IN_FLIGHT) this.inflight = new Map();
      this.inflight.set(entry.packetId, entry);
    }
    if (queued.length === 0) return;
    const since = this.queue.slice(this.queueHead);
    this.queue.length = 0;
    this.queueHead = 0;
    for (const entry of queued) this.queue.push(entry);
    for (const entry of since) this.queue.push(entry);
  }

  /** Messages waiting in the queue. */
  get queued(): number {
    return this.queue.length - this.queueHead;
  }

  /** QoS 1 and 2 messages sent and not yet fully acknowledged. */
  get inflightCount(): number {
    return this.inflight.size;
  }

  /**
   * Sends a message to the client now if it can go now, or queues it. `link` is the live
   * connection, if any.
   */
  deliver(
    link: OutboxLink | undefined,
    message: RoutedMessage,
    qos: QoS,
    retain: boolean,
    subscriptionIds: readonly number[] | undefined,
    shared: SharedRoute | undefined,
  ): void {
    // The clock is read only for a message that can expire: most cannot, and this runs per delivery.
    if (message.expiresAt !== undefined && isExpired(message.expiresAt, this.now())) {
      this.drop('expired', 1); // [MQTT-3.3.2-5]
      return;
    }
    if (link?.writable && this.queued === 0 && this.held === 0) {
      if (qos === 0) {
        this.sendQoS0(link, message, retain, subscriptionIds);
        return;
      }
      if (this.inflight.size < link.sendWindow) {
        const entry = new OutboxEntry(message, qos, retain, subscriptionIds, shared);
        this.startFlight(link, entry);
        return;
      }
    }
    this.enqueue(new OutboxEntry(message, qos, retain, subscriptionIds, shared));
  }

  /**
   * Sends what the queue holds while the link can take it: after an acknowledgement freed a slot
   * of the window, after the transport drained, and after a reconnect.
   */
  pump(link: OutboxLink): void {
    if (this.held > 0) {
      this.resendHeld(link);
      if (this.held > 0) return; // resends go first, in order
    }
    while (this.queueHead < this.queue.length && link.writable && link.live) {
      const entry = this.queue[this.queueHead] as OutboxEntry;
      const expiresAt = entry.message.expiresAt;
      if (expiresAt !== undefined && isExpired(expiresAt, this.now())) {
        this.shift();
        if (entry.qos > 0) this.journal?.messageDone(entry);
        this.drop('expired', 1);
        continue;
      }
      if (entry.qos === 0) {
        this.shift();
        this.sendQoS0(link, entry.message, entry.retain, entry.subscriptionIds);
        continue;
      }
      if (this.inflight.size >= link.sendWindow) return;
      this.shift(true);
      this.startFlight(link, entry, true);
    }
  }

  /**
   * Sends every unacknowledged message again, in its original order, on a new connection: PUBLISH
   * with DUP set, or PUBREL for messages the client already received [MQTT-4.4.0-1] [MQTT-4.4.0-2].
   * PUBLISH resends respect the client's current Receive Maximum [MQTT-3.3.4-9]: those past the
   * window wait, and go as acknowledgements make room.
   */
  resend(link: OutboxLink): void {
    for (const entry of this.inflight.values()) entry.held = true;
    this.held = this.inflight.size;
    this.resendHeld(link);
  }

  private resendHeld(link: OutboxLink): void {
    for (const entry of this.inflight.values()) {
      if (this.held === 0 || !link.live || !link.writable) return;
      if (!entry.held) continue;
      if (entry.stage === Stage.AwaitPubcomp) {
        entry.held = false;
        this.held--;
        link.sendAck('pubrel', entry.packetId, ReasonCode.Success);
        continue;
      }
      // Messages not yet resent do not count: the client forgot them with the old connection.
      if (this.inflight.size - this.held >= link.sendWindow) return;
      entry.held = false;
      this.held--;
      if (!this.sendPublish(link, entry, true)) {
        // Too large for this client now: behave as if it had been delivered [MQTT-3.1.2-25].
        this.inflight.delete(entry.packetId);
        this.hold(-entry.size);
        this.journal?.messageDone(entry);
      }
    }
  }

  /** PUBACK ends a QoS 1 exchange and frees its packet identifier. */
  puback(packetId: number): AckOutcome {
    const entry = this.inflight.get(packetId);
    if (entry === undefined) return 'unknown';
    if (entry.stage !== Stage.AwaitPuback) return 'wrong-type';
    this.finish(entry);
    return 'done';
  }

  /**
   * PUBREC for a QoS 2 message: on success the next step is PUBREL; a reason code of 0x80 or
   * more ends the exchange (MQTT 5 section 4.3.3).
   */
  pubrec(link: OutboxLink, packetId: number, reasonCode: number): AckOutcome {
    const entry = this.inflight.get(packetId);
    if (entry === undefined) {
      link.sendAck('pubrel', packetId, ReasonCode.PacketIdentifierNotFound);
      return 'unknown';
    }
    if (entry.stage === Stage.AwaitPuback) return 'wrong-type';
    if (isFailure(reasonCode)) {
      this.finish(entry);
      return 'done';
    }
    if (entry.held) {
      entry.held = false;
      this.held--;
    }
    entry.stage = Stage.AwaitPubcomp;
    this.record(entry);
    link.sendAck('pubrel', packetId, ReasonCode.Success);
    return 'pubrel-sent';
  }

  /** PUBCOMP ends a QoS 2 exchange and frees its packet identifier. */
  pubcomp(packetId: number): AckOutcome {
    const entry = this.inflight.get(packetId);
    if (entry === undefined) return 'unknown';
    if (entry.stage !== Stage.AwaitPubcomp) return 'wrong-type';
    this.finish(entry);
    return 'done';
  }

  /** Ends an exchange: the packet identifier is free again. */
  private finish(entry: OutboxEntry): void {
    if (entry.held) {
      entry.held = false;
      this.held--;
    }
    this.inflight.delete(entry.packetId);
    this.hold(-entry.size);
    this.journal?.messageDone(entry);
  }

  /** Forgets queued QoS 0 messages (at disconnect, as the original does). */
  dropQueuedQoS0(): void {
    if (this.queuedQoS0 === 0) return;
    let kept = 0;
    let freed = 0;
    const queue = this.queue;
    for (let i = this.queueHead; i < queue.length; i++) {
      const entry = queue[i] as OutboxEntry;
      if (entry.qos > 0) queue[kept++] = entry;
      else freed += entry.size;
    }
    queue.length = kept;
    this.queueHead = 0;
    this.queuedQoS0 = 0;
    this.queuedBytes -= freed;
    this.hold(-freed);
  }

  /**
   * Empties the outbox and hands every QoS 1 or 2 message that came through a shared subscription
   * to another member of its group (MQTT 5 section 4.8.2); the rest are discarded.
   */
  clear(owner: object, reroute: boolean): void {
    if (reroute) {
      for (const entry of this.inflight.values()) this.reroute(owner, entry);
      for (let i = this.queueHead; i < this.queue.length; i++) {
        this.reroute(owner, this.queue[i] as OutboxEntry);
      }
    }
    let freed = this.queuedBytes;
    for (const entry of this.inflight.values()) freed += entry.size;
    this.hold(-freed);
    this.inflight = NOTHING_IN_FLIGHT;
    this.held = 0;
    this.queue.length = 0;
    this.queueHead = 0;
    this.queuedQoS0 = 0;
    this.queuedBytes = 0;
    this.earliestExpiry = Number.POSITIVE_INFINITY;
  }

  /** Emits a 'dropped' event for drops not yet reported; called at most every few seconds. */
  reportDrops(): void {
    if (this.unreportedDrops === 0 || this.host.observe === undefined) return;
    this.host.observe({
      type: 'dropped',
      clientId: this.owner.clientId,
      pool: this.owner.pool,
      reason: this.unreportedReason,
      count: this.unreportedDrops,
    });
    this.unreportedDrops = 0;
  }

  private reroute(owner: object, entry: OutboxEntry): void {
    if (entry.shared === undefined || entry.qos === 0 || entry.stage === Stage.AwaitPubcomp) return;
    // A QoS 2 message this client may already have received goes to no other member [MQTT-4.8.2-5].
    if (entry.qos === 2 && entry.sent) return;
    this.host.routeShared(entry.shared, entry.message, owner as never);
  }

  /**
   * Queues a message. A queue is full at `maxQueued` messages or `maxQueuedBytes` bytes; then
   * expired messages go first, as they can never be sent [MQTT-3.3.2-5], then the oldest QoS 0
   * messages, to make room for a QoS 1 or 2 one; a QoS 0 message that finds no room is dropped.
   * While the sessions together hold more than their budget, a QoS 0 message is not queued at
   * all (`overload`). Every drop is counted with its reason.
   */
  private enqueue(entry: OutboxEntry): void {
    const size = entry.size;
    if (entry.qos === 0 && this.host.queueBudget?.exceeded === true) {
      this.drop('overload', 1);
      return;
    }
    // The expiry scan runs only when something queued can have expired, so a full queue costs
    // O(1) per refused message.
    if (this.isFull(size) && this.earliestExpiry <= this.now()) this.dropExpired();
    while (this.isFull(size)) {
      if (entry.qos === 0 || this.queuedQoS0 === 0) {
        this.drop('queue-full', 1);
        return;
      }
      const at = this.oldestQoS0();
      const oldest = this.queue[at] as OutboxEntry;
      this.queue.splice(at, 1);
      this.queuedQoS0--;
      this.queuedBytes -= oldest.size;
      this.hold(-oldest.size);
      this.drop('queue-full', 1);
    }
    this.queue.push(entry);
    this.queuedBytes += size;
    this.hold(size);
    if (entry.qos === 0) this.queuedQoS0++;
    else this.record(entry);
    const expiresAt = entry.message.expiresAt;
    if (expiresAt !== undefined && expiresAt < this.earliestExpiry) this.earliestExpiry = expiresAt;
  }

  private isFull(adding: number): boolean {
    return (
      this.queued >= this.maxQueued ||
      (this.queued > 0 && this.queuedBytes + adding > this.maxQueuedBytes)
    );
  }

  /** Removes the queued messages whose Message Expiry Interval has passed. */
  private dropExpired(): void {
    const now = this.now();
    const queue = this.queue;
    let kept = 0;
    let qos0 = 0;
    let freed = 0;
    let earliest = Number.POSITIVE_INFINITY;
    for (let i = this.queueHead; i < queue.length; i++) {
      const entry = queue[i] as OutboxEntry;
      const expiresAt = entry.message.expiresAt;
      if (expiresAt !== undefined && expiresAt <= now) {
        freed += entry.size;
        if (entry.qos > 0) this.journal?.messageDone(entry);
        continue;
      }
      queue[kept++] = entry;
      if (entry.qos === 0) qos0++;
      if (expiresAt !== undefined && expiresAt < earliest) earliest = expiresAt;
    }
    const expired = queue.length - this.queueHead - kept;
    queue.length = kept;
    this.queueHead = 0;
    this.queuedQoS0 = qos0;
    this.earliestExpiry = earliest;
    this.queuedBytes -= freed;
    this.hold(-freed);
    if (expired > 0) this.drop('expired', expired);
  }

  private oldestQoS0(): number {
    for (let i = this.queueHead; i < this.queue.length; i++) {
      if ((this.queue[i] as OutboxEntry).qos === 0) return i;
    }
    return -1;
  }

  /** Takes the first queued entry out of the queue; what it holds is released unless it flies on. */
  private shift(flies = false): void {
    const entry = this.queue[this.queueHead] as OutboxEntry;
    if (entry.qos === 0) this.queuedQoS0--;
    this.queuedBytes -= entry.size;
    if (!flies) this.hold(-entry.size);
    this.queue[this.queueHead] = undefined as unknown as OutboxEntry;
    this.queueHead++;
    if (this.queueHead === this.queue.length) {
      this.queue.length = 0;
      this.queueHead = 0;
      this.earliestExpiry = Number.POSITIVE_INFINITY;
    } else if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      // Compact here, not only when a pump ends: a queue that never empties must not grow.
      this.compact();
    }
  }

  private compact(): void {
    this.queue.splice(0, this.queueHead);
    this.queueHead = 0;
  }

  /** Sends a QoS 1 or 2 message and keeps it until acknowledged; `held` when it was queued. */
  private startFlight(link: OutboxLink, entry: OutboxEntry, held = false): void {
    entry.packetId = this.allocatePacketId();
    entry.stage = entry.qos === 1 ? Stage.AwaitPuback : Stage.AwaitPubrec;
    if (!this.sendPublish(link, entry, false)) {
      if (held) {
        this.hold(-entry.size);
        this.journal?.messageDone(entry);
      }
      return;
    }
    if (!held) this.hold(entry.size);
    if (this.inflight === NOTHING_IN_FLIGHT) this.inflight = new Map();
    this.inflight.set(entry.packetId, entry);
    this.record(entry);
  }

  /** Records a QoS 1 or 2 message of a persistent session as it is now. */
  private record(entry: OutboxEntry): void {
    const journal = this.journal;
    if (journal === undefined) return;
    if (entry.seq === 0) entry.seq = ++this.lastSeq;
    journal.messageChanged(entry);
  }

  /** A free packet identifier: the next after the last one, skipping those in flight. */
  private allocatePacketId(): number {
    let id = this.lastPacketId;
    do {
      id = id === 65535 ? 1 : id + 1;
    } while (this.inflight.has(id));
    this.lastPacketId = id;
    return id;
  }

  private sendQoS0(
    link: OutboxLink,
    message: RoutedMessage,
    retain: boolean,
    subscriptionIds: readonly number[] | undefined,
  ): void {
    // The common case is the same bytes for every receiver: encode once, send to all.
    const shareable =
      subscriptionIds === undefined &&
      message.expiresAt === undefined &&
      link.outboundAliases === undefined;
    if (shareable) {
      const bytes = sharedForm(message, link.version, 0, retain);
      if (bytes.length > link.maxOutgoingPacketSize) {
        this.drop('too-large', 1); // [MQTT-3.1.2-24]
        return;
      }
      link.sendPublishBytes(bytes);
      return;
    }
    const entry = new OutboxEntry(message, 0, retain, subscriptionIds, undefined);
    this.sendPublish(link, entry, false);
  }

  /**
   * Encodes and sends one PUBLISH for an entry. Returns false (and counts a drop) when the packet
   * is too large for the client, or the message expired.
   */
  private sendPublish(link: OutboxLink, entry: OutboxEntry, dup: boolean): boolean {
    const message = entry.message;
    if (
      entry.qos > 0 &&
      entry.subscriptionIds === undefined &&
      message.expiresAt === undefined &&
      link.outboundAliases === undefined
    ) {
      // The shared form with this receiver's packet id: one encoding per fan-out, not per client.
      const form = sharedForm(message, link.version, entry.qos, entry.retain);
      if (form.length > link.maxOutgoingPacketSize) {
        this.drop('too-large', 1); // [MQTT-3.1.2-24] [MQTT-3.1.2-25]
        return false;
      }
      link.sendPublishBytes(withPacketId(form, entry.packetId, dup && entry.sent));
      entry.sent = true;
      return true;
    }
    const v5 = link.version === 5;
    let messageExpiryInterval: number | undefined;
    const deadline = message.expiresAt;
    if (v5 && deadline !== undefined) {
      const now = this.now();
      // Once a PUBLISH went out, delivery has begun: a resend is not expired [MQTT-4.3.3-7].
      if (isExpired(deadline, now) && !entry.sent) {
        this.drop('expired', 1);
        return false;
      }
      messageExpiryInterval = secondsLeft(deadline, now); // [MQTT-3.3.2-6]
    }
    let topic = message.topic;
    let topicAlias: number | undefined;
    const aliases = link.outboundAliases;
    if (aliases !== undefined && v5) {
      const alias = aliases.resolve(topic);
      if (alias !== 0) {
        topicAlias = alias;
        if (!aliases.isNew) topic = '';
      }
    }
    const shape: PublishShape = {
      topic,
      payload: message.payload,
      qos: entry.qos,
      retain: entry.retain,
      dup: dup && entry.sent,
      messageId: entry.qos === 0 ? undefined : entry.packetId,
      propertyBytes: v5 ? forwardedBytes(message) : undefined,
      messageExpiryInterval,
      subscriptionIds: v5 ? entry.subscriptionIds : undefined,
      topicAlias,
    };
    let bytes = encodePublish(shape, link.version);
    if (bytes.length > link.maxOutgoingPacketSize && topicAlias !== undefined && topic !== '') {
      // Announcing a new alias costs three bytes: take the assignment back (the client's aliases
      // and ours stay as they were) and send the topic name alone.
      aliases?.undo();
      shape.topicAlias = undefined;
      bytes = encodePublish(shape, link.version);
    }
    if (bytes.length > link.maxOutgoingPacketSize) {
      this.drop('too-large', 1); // [MQTT-3.1.2-24] [MQTT-3.1.2-25]
      return false;
    }
    entry.sent = true;
    link.sendPublishBytes(bytes);
    return true;
  }

  private drop(reason: DropReason, count: number): void {
    this.dropped += count;
    countDrop(this.host.metrics, reason, count);
    this.unreportedDrops += count;
    this.unreportedReason = reason;
  }
}
