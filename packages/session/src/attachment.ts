import {
  deadlinesOf,
  isPromiseLike,
  MAX_PACKET_SIZE,
  type MaybePromise,
  type ProtocolVersion,
  ReasonCode,
  type Scheduled,
  type Timers,
} from '@mqtt-sessions/protocol';
import type { ConnectionInfo } from '@mqtt-sessions/runtime-default';
import type { IDisconnectPacket, Packet } from 'mqtt-packet';
import type {
  ConnectionGrant,
  ConnectionPhase,
  ConnectionState,
  DisconnectProperties,
  PendingConnect,
  SessionContext,
} from './context.js';
import { dispatch } from './dispatch.js';
import { type AckType, encode, encodeAck } from './encode.js';
import { encodeForClient } from './encode-for-client.js';
import type { OutboxLink } from './outbox.js';
import { OutboundAliases } from './topic-alias.js';

/** The transport side of a connection: how a session sends bytes and hangs up. */
export interface SessionLink {
  /**
   * Sends bytes to the client. Returns false when the transport's buffer is full; the session then
   * holds further messages until {@link SessionConnection.drained} is called.
   */
  send(bytes: Buffer): boolean;
  /** Closes the connection. Called once. */
  close(): void;
}

/**
 * A connection attached to a session, as the transport side (a pool) drives it: packets in,
 * buffer drained, transport closed, or a disconnect for a reason the transport found (a packet
 * too large, malformed bytes).
 */
export interface SessionConnection {
  /** True while the connection is established and not closed. */
  readonly live: boolean;
  /**
   * Hands the session a packet from the client. Packets are handled one at a time, in order;
   * when the runtime answers with a Promise, later packets wait for it.
   */
  receive(packet: Packet): void;
  /** The transport's buffer has room again. */
  drained(): void;
  /** The transport closed (or failed) without the session asking. */
  closed(): void;
  /** Ends the connection for a reason; an established MQTT 5 client hears DISCONNECT first. */
  disconnect(reasonCode: number, reason: string, properties?: DisconnectProperties): void;
}

/** The session side of an {@link Attachment}: the handlers' context and the connection's fate. */
export interface AttachmentOwner extends SessionContext, PacketCounters {
  /** The session's clock, for keep-alive. */
  readonly timers: Timers;
  /** The connection ended; `publishWill` is false only after a client's DISCONNECT 0x00. */
  detached(
    connection: Attachment,
    reason: string,
    reasonCode: number | undefined,
    publishWill: boolean,
  ): void;
  /** The connection's transport can take bytes again. */
  drained(connection: Attachment): void;
  /** A connection whose CONNECT was not accepted ended. */
  handshakeEnded(): void;
}

/** Packets received from and sent to one session's client, kept across its connections. */
export interface PacketCounters {
  packetsReceived: number;
  packetsSent: number;
}

/**
 * One network connection attached to a session. A session outlives its connections; the
 * attachment holds what lives and dies with one connection: protocol version, keep-alive, topic
 * aliases, the client's limits, flow-control state and the packets that wait while the runtime
 * answers asynchronously.
 */
export class Attachment implements ConnectionState, SessionConnection, OutboxLink, Scheduled {
  readonly info: ConnectionInfo;
  readonly version: ProtocolVersion;
  readonly assignedClientId: boolean;
  pendingConnect: PendingConnect | undefined = undefined;
  authenticationMethod: string | undefined = undefined;
  reauthenticating = false;
  inboundUnacked = 0;
  private state: ConnectionPhase = 'connecting';
  private canWrite = true;
  private window = 65535;
  private maxPacketSize = MAX_PACKET_SIZE;
  private problemInfo = true;
  private aliasesIn: Map<number, string> | undefined = undefined;
  private aliasesOut: OutboundAliases | undefined = undefined;
  private keepAliveMs = 0;
  private lastActivity: number;
  /** The keep-alive check's place in the clock's deadline queue (see {@link Scheduled}). */
  deadlineSlot = -1;
  // Packets that arrived while an earlier one waits for the runtime.
  private inbox: Packet[] | undefined = undefined;
  private busy = false;
  private handshaking = true;
  /** Acknowledgements waiting for the store, and the last of them: the next goes after it. */
  private acksWaiting = 0;
  private ackTail: Promise<void> | undefined = undefined;
  private readonly owner: AttachmentOwner;
  private readonly link: SessionLink;

  constructor(
    owner: AttachmentOwner,
    link: SessionLink,
    info: ConnectionInfo,
    version: ProtocolVersion,
    assignedClientId: boolean,
  ) {
    this.owner = owner;
    this.link = link;
    this.info = info;
    this.version = version;
    this.assignedClientId = assignedClientId;
    this.lastActivity = owner.timers.now();
  }

  get phase(): ConnectionPhase {
    return this.state;
  }

  get live(): boolean {
    return this.state === 'connected';
  }

  get writable(): boolean {
    return this.canWrite;
  }

  get sendWindow(): number {
    return this.window;
  }

  get maxOutgoingPacketSize(): number {
    return this.maxPacketSize;
  }

  get problemInformation(): boolean {
    return this.problemInfo;
  }

  get outboundAliases(): OutboundAliases | undefined {
    return this.aliasesOut;
  }

  inboundAlias(alias: number): string | undefined {
    return this.aliasesIn?.get(alias);
  }

  setInboundAlias(alias: number, topic: string): void {
    this.aliasesIn ??= new Map();
    this.aliasesIn.set(alias, topic);
  }

  receive(packet: Packet): void {
    if (this.state === 'closed') return;
    this.lastActivity = this.owner.timers.now();
    if (this.busy) {
      this.inbox ??= [];
      const inbox = this.inbox;
      if (inbox.length >= this.owner.options.maxPendingPackets) {
        this.disconnect(ReasonCode.ServerBusy, 'too many packets while waiting for the runtime');
        return;
      }
      inbox.push(packet);
      return;
    }
    this.run(packet);
  }

  drained(): void {
    if (this.state === 'closed' || this.canWrite) return;
    this.canWrite = true;
    this.owner.drained(this);
  }

  beginAuthentication(): void {
    this.state = 'authenticating';
  }

  establish(grant: ConnectionGrant): void {
    this.startKeepAlive(grant.keepAliveSeconds);
    this.window = grant.sendWindow;
    this.maxPacketSize = grant.maxOutgoingPacketSize;
    if (grant.outboundAliases > 0) this.aliasesOut = new OutboundAliases(grant.outboundAliases);
    this.problemInfo = grant.problemInformation;
    this.state = 'connected';
    this.pendingConnect = undefined;
  }

  // --- Ending the connection (see ConnectionState for the vocabulary) -------------------------

  closed(): void {
    this.end('connection lost', undefined, true);
  }

  disconnect(reasonCode: number, reason: string, properties?: DisconnectProperties): void {
    if (this.state === 'closed') return;
    this.sendDisconnect(reasonCode, reason, properties);
    this.end(reason, reasonCode, true);
  }

  drop(reason: string): void {
    this.end(reason, undefined, true);
  }

  clientDisconnected(reasonCode: number): void {
    // Reason 0x00 discards the Will; any other keeps it [MQTT-3.14.4-3].
    this.end('client disconnected', reasonCode, reasonCode !== ReasonCode.Success);
  }

  /**
   * Ends the connection for the session itself (a takeover, a kill, a shutdown), which looks after
   * its own state: an established MQTT 5 client hears DISCONNECT, and the session is not told.
   */
  release(reasonCode: number, reason: string, properties?: DisconnectProperties): void {
    if (this.state === 'closed') return;
    this.sendDisconnect(reasonCode, reason, properties);
    this.shutDown();
  }

  /** Closes the connection without a word and without telling the session. Idempotent. */
  shutDown(): void {
    if (this.state === 'closed') return;
    this.endHandshake();
    this.state = 'closed';
    this.stopKeepAlive();
    this.inbox = undefined;
    this.link.close();
  }

  private end(reason: string, reasonCode: number | undefined, publishWill: boolean): void {
    if (this.state === 'closed') return;
    this.shutDown();
    this.owner.detached(this, reason, reasonCode, publishWill);
  }

  /**
   * DISCONNECT to an established v5 connection: the Server Reference always; the reason string
   * (the given one, else `reason`) and user properties unless the client asked for no problem
   * information [MQTT-3.1.2-29].
   */
  private sendDisconnect(
    reasonCode: number,
    reason: string,
    properties: DisconnectProperties | undefined,
  ): void {
    if (this.version !== 5 || this.state !== 'connected') return;
    const packet: IDisconnectPacket = { cmd: 'disconnect', reasonCode };
    if (properties === undefined) {
      if (this.problemInfo) packet.properties = { reasonString: reason };
    } else {
      const { serverReference, reasonString, userProperties } = properties;
      const out: DisconnectProperties = {};
      if (serverReference !== undefined) out.serverReference = serverReference;
      if (this.problemInfo) {
        out.reasonString = reasonString ?? reason;
        if (userProperties !== undefined) out.userProperties = userProperties;
      }
      packet.properties = out;
    }
    this.send(packet);
  }

  // --- Sending ------------------------------------------------------------------------------

  /**
   * Encodes and sends a control packet; to a v5 client within its limits (see
   * {@link encodeForClient}). A packet that cannot be made small enough is not sent
   * [MQTT-3.1.2-24], and the connection closes unless that packet was a DISCONNECT.
   */
  send(packet: Packet): void {
    if (this.state === 'closed') return;
    if (this.version !== 5) {
      this.write(encode(packet, this.version));
      return;
    }
    const connecting = this.state !== 'connected';
    const requested = this.pendingConnect?.packet.properties;
    const bytes = encodeForClient(packet, {
      // Until the connection is accepted, what the CONNECT asked for.
      problemInformation: connecting
        ? requested?.requestProblemInformation !== false
        : this.problemInfo,
      enhancedAuthentication: this.authenticationMethod !== undefined,
      maxPacketSize: connecting
        ? (requested?.maximumPacketSize ?? Number.MAX_SAFE_INTEGER)
        : this.maxPacketSize,
    });
    if (bytes !== undefined) this.write(bytes);
    else if (packet.cmd !== 'disconnect') this.drop('a packet too large for the client');
  }

  sendAck(type: AckType, packetId: number, reasonCode: number): void {
    if (this.state === 'closed') return;
    if (this.acksWaiting > 0) {
      this.sendAckWhenStored(undefined, type, packetId, reasonCode);
      return;
    }
    this.write(encodeAck(type, packetId, reasonCode, this.version));
  }

  sendAckWhenStored(
    stored: MaybePromise<void>,
    type: AckType,
    packetId: number,
    reasonCode: number,
  ): void {
    if (this.state === 'closed') return;
    if (this.acksWaiting === 0 && !isPromiseLike(stored)) {
      this.write(encodeAck(type, packetId, reasonCode, this.version));
      return;
    }
    // Behind every acknowledgement still waiting: they go out in the order they were asked for.
    this.acksWaiting++;
    const before = this.ackTail;
    const ready =
      before === undefined
        ? Promise.resolve(stored)
        : isPromiseLike(stored)
          ? Promise.all([before, stored])
          : before;
    const tail: Promise<void> = ready.then(
      () => {
        this.ackSettled(tail);
        if (this.state !== 'closed') {
          this.write(encodeAck(type, packetId, reasonCode, this.version));
        }
      },
      (error: unknown) => {
        this.ackSettled(tail);
        if (this.state === 'closed') return;
        // Not stored, so not acknowledged: the client sends it again on its next connection.
        this.owner.reportError(error);
        this.disconnect(ReasonCode.UnspecifiedError, 'the session store failed');
      },
    );
    this.ackTail = tail;
  }

  private ackSettled(tail: Promise<void>): void {
    this.acksWaiting--;
    if (this.ackTail === tail) this.ackTail = undefined;
  }

  /**
   * Ends the handshake count of the session once: when the CONNECT is accepted, or when the
   * connection closes before.
   */
  endHandshake(): void {
    if (!this.handshaking) return;
    this.handshaking = false;
    this.owner.handshakeEnded();
  }

  sendPublishBytes(bytes: Buffer): void {
    if (this.state === 'closed') return;
    this.owner.metrics.publishSent++;
    this.write(bytes);
  }

  private write(bytes: Buffer): void {
    const metrics = this.owner.metrics;
    metrics.packetsSent++;
    this.owner.packetsSent++;
    metrics.bytesSent += bytes.length;
    if (!this.link.send(bytes)) this.canWrite = false;
  }

  // --- Handling packets in order ------------------------------------------------------------

  private run(packet: Packet): void {
    this.owner.metrics.packetsReceived++;
    this.owner.packetsReceived++;
    let result: MaybePromise<void>;
    try {
      result = dispatch(this.owner, this, packet);
    } catch (error) {
      this.fail(error);
      return;
    }
    if (isPromiseLike(result)) {
      this.busy = true;
      result.then(
        () => this.resume(),
        (error: unknown) => this.fail(error),
      );
    }
  }

  private resume(): void {
    this.busy = false;
    const inbox = this.inbox;
    while (!this.busy && inbox !== undefined && inbox.length > 0 && this.state !== 'closed') {
      this.run(inbox.shift() as Packet);
    }
  }

  /** A bug or a failing runtime callback: this connection ends, the process and others go on. */
  private fail(error: unknown): void {
    this.busy = false;
    this.owner.reportError(error);
    this.disconnect(ReasonCode.UnspecifiedError, 'internal error');
  }

  // --- Keep-alive ---------------------------------------------------------------------------

  /** Starts watching keep-alive: 1.5 times the interval without a packet ends the connection. */
  private startKeepAlive(seconds: number): void {
    this.stopKeepAlive();
    this.keepAliveMs = seconds * 1500; // [MQTT-3.1.2-22]
    if (seconds === 0) return; // 0 switches the mechanism off (MQTT 5 section 3.1.2.10)
    this.checkKeepAliveAt(this.owner.timers.now() + this.keepAliveMs);
  }

  /**
   * One deadline per interval, not per packet: a packet only notes the time, and the check
   * schedules the next one for the interval after the last packet.
   */
  private checkKeepAliveAt(at: number): void {
    deadlinesOf(this.owner.timers).schedule(this, at);
  }

  /** The keep-alive deadline has come (from the deadline queue): end the connection, or go on. */
  onDue(now: number): void {
    if (this.state === 'closed') return;
    if (now - this.lastActivity < this.keepAliveMs) {
      this.checkKeepAliveAt(this.lastActivity + this.keepAliveMs);
      return;
    }
    try {
      this.disconnect(ReasonCode.KeepAliveTimeout, 'keep-alive timeout');
    } catch (error) {
      this.owner.reportError(error);
    }
  }

  private stopKeepAlive(): void {
    if (this.deadlineSlot >= 0) deadlinesOf(this.owner.timers).cancel(this);
  }
}
