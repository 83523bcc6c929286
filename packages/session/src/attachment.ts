import {
  isPromiseLike,
  type MaybePromise,
  type ProtocolVersion,
  ReasonCode,
  type Timers,
} from '@mqtt-sessions/protocol';
import type { ConnectionInfo } from '@mqtt-sessions/runtime-default';
import type { IDisconnectPacket, Packet } from 'mqtt-packet';
import { dispatch } from './dispatch.js';
import { type AckType, encode, encodeAck } from './encode.js';
import type { PendingConnect } from './handlers/connect.js';
import { encodeOutgoing } from './outgoing.js';
import type { Session } from './session.js';
import { OutboundAliases } from './topic-alias.js';

/** The transport side of a connection: how a session sends bytes and hangs up. */
export interface SessionLink {
  /**
   * Sends bytes to the client. Returns false when the transport's buffer is full; the session then
   * holds further messages until {@link Attachment.drained} is called.
   */
  send(bytes: Buffer): boolean;
  /** Closes the connection. Called once. */
  close(): void;
}

/**
 * What a server-sent DISCONNECT may carry besides its reason code: a Server Reference for
 * redirection (MQTT 5 section 4.11), and a reason string and user properties, which go only to a
 * client that did not set Request Problem Information to 0.
 */
export type DisconnectProperties = Pick<
  NonNullable<IDisconnectPacket['properties']>,
  'serverReference' | 'reasonString' | 'userProperties'
>;

/** Where a connection stands in its session. */
export type AttachmentState = 'connecting' | 'authenticating' | 'connected' | 'closed';

/**
 * One network connection attached to a session. A session outlives its connections; the
 * attachment holds what lives and dies with one connection: protocol version, keep-alive, topic
 * aliases, the client's limits, flow-control state and the queue of packets waiting while the
 * runtime answers asynchronously.
 */
export class Attachment {
  readonly session: Session<unknown>;
  readonly link: SessionLink;
  readonly info: ConnectionInfo;
  state: AttachmentState = 'connecting';
  version: ProtocolVersion = 4;
  /** False while the transport's buffer is full. */
  writable = true;
  /** Outgoing QoS 1/2 window: min(client Receive Maximum, server maxInflight). */
  sendWindow = 65535;
  /** The largest packet the client accepts (and the server sends). */
  maxOutgoingPacketSize = Number.MAX_SAFE_INTEGER;
  /** Whether reason strings and user properties may go on acks [MQTT-3.1.2-29]. */
  problemInformation = true;
  /** The CONNECT being authenticated, until it is accepted or refused. */
  pendingConnect: PendingConnect | undefined = undefined;
  /** True when the server chose the client id (the client sent an empty one). */
  assignedClientId = false;
  /** True between a client's AUTH 0x19 and the end of re-authentication. */
  reauthenticating = false;
  /** The Authentication Method of enhanced authentication, if the CONNECT named one. */
  authenticationMethod: string | undefined = undefined;
  /** Topic aliases the client set, alias -> topic. */
  /** Topic aliases the client set, alias -> topic (allocated on the first one). */
  inboundAliases: Map<number, string> | undefined = undefined;
  /** The aliases the server assigns, when the client allows them. */
  outboundAliases: OutboundAliases | undefined = undefined;
  usesOutboundAliases = false;
  /** Incoming QoS 1 and 2 PUBLISH not yet acknowledged, against our Receive Maximum. */
  inboundUnacked = 0;
  /** Milliseconds allowed without a packet before the connection is dropped; 0 = no limit. */
  keepAliveMs = 0;
  lastActivity = 0;
  private keepAliveTimer: unknown = undefined;
  private readonly timers: Timers;
  // Packets that arrived while an earlier one waits for the runtime.
  private inbox: Packet[] | undefined = undefined;
  private busy = false;

  constructor(session: Session<unknown>, link: SessionLink, info: ConnectionInfo, timers: Timers) {
    this.session = session;
    this.link = link;
    this.info = info;
    this.timers = timers;
    this.lastActivity = timers.now();
  }

  /** True while the connection is established and not closed. */
  get live(): boolean {
    return this.state === 'connected';
  }

  /**
   * Hands the attachment a packet from the client. Packets are handled one at a time, in order;
   * when the runtime answers with a Promise, later packets wait for it.
   */
  receive(packet: Packet): void {
    if (this.state === 'closed') return;
    this.lastActivity = this.timers.now();
    if (this.busy) {
      this.inbox ??= [];
      const inbox = this.inbox;
      if (inbox.length >= this.session.options.maxPendingPackets) {
        this.disconnect(ReasonCode.ServerBusy, 'too many packets while waiting for the runtime');
        return;
      }
      inbox.push(packet);
      return;
    }
    this.run(packet);
  }

  /** The transport's buffer has room again. */
  drained(): void {
    if (this.state === 'closed' || this.writable) return;
    this.writable = true;
    this.session.drained(this);
  }

  /** The transport closed (or failed) without the session asking. */
  transportClosed(): void {
    if (this.state === 'closed') return;
    this.shutDown();
    this.session.detached(this, 'connection lost', undefined, true);
  }

  /**
   * A malformed packet or a protocol violation: tells a v5 client why with DISCONNECT (when the
   * connection is established) and closes the connection [MQTT-4.13.1-1].
   */
  disconnect(reasonCode: number, reason: string, properties?: DisconnectProperties): void {
    if (this.state === 'closed') return;
    this.sendDisconnect(reasonCode, reason, properties);
    this.shutDown();
    this.session.detached(this, reason, reasonCode, true);
  }

  /**
   * Sends a v5 client DISCONNECT and closes the connection, leaving the session's state to the
   * caller (takeover, kill, shutdown).
   */
  disconnectQuietly(reasonCode: number, reason: string, properties?: DisconnectProperties): void {
    if (this.state === 'closed') return;
    this.sendDisconnect(reasonCode, reason, properties);
    this.shutDown();
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
      if (this.problemInformation) packet.properties = { reasonString: reason };
    } else {
      const { serverReference, reasonString, userProperties } = properties;
      const out: DisconnectProperties = {};
      if (serverReference !== undefined) out.serverReference = serverReference;
      if (this.problemInformation) {
        out.reasonString = reasonString ?? reason;
        if (userProperties !== undefined) out.userProperties = userProperties;
      }
      packet.properties = out;
    }
    this.sendPacket(packet);
  }

  /** Closes the connection without a word, for cases where the spec wants silence. */
  close(reason: string): void {
    if (this.state === 'closed') return;
    this.shutDown();
    this.session.detached(this, reason, undefined, true);
  }

  /**
   * Encodes and sends a control packet; to a v5 client within its limits (see
   * {@link encodeOutgoing}). A packet that cannot be made small enough is not sent
   * [MQTT-3.1.2-24], and the connection closes unless that packet was a DISCONNECT.
   */
  sendPacket(packet: Packet): void {
    if (this.state === 'closed') return;
    if (this.version !== 5) {
      this.write(encode(packet, this.version));
      return;
    }
    const connecting = this.state !== 'connected';
    const requested = this.pendingConnect?.packet.properties;
    const bytes = encodeOutgoing(packet, {
      // Until the connection is accepted, what the CONNECT asked for.
      problemInformation: connecting
        ? requested?.requestProblemInformation !== false
        : this.problemInformation,
      enhancedAuthentication: this.authenticationMethod !== undefined,
      maxPacketSize: connecting
        ? (requested?.maximumPacketSize ?? Number.MAX_SAFE_INTEGER)
        : this.maxOutgoingPacketSize,
    });
    if (bytes !== undefined) this.write(bytes);
    else if (packet.cmd !== 'disconnect') this.close('a packet too large for the client');
  }

  /** Sends PUBACK, PUBREC, PUBREL or PUBCOMP without properties. */
  sendAck(type: AckType, packetId: number, reasonCode: number): void {
    if (this.state === 'closed') return;
    this.write(encodeAck(type, packetId, reasonCode, this.version));
  }

  /** Sends an encoded PUBLISH. */
  sendPublishBytes(bytes: Buffer): void {
    if (this.state === 'closed') return;
    this.session.host.metrics.publishSent++;
    this.write(bytes);
  }

  /** Starts watching keep-alive: 1.5 times the interval without a packet ends the connection. */
  startKeepAlive(seconds: number): void {
    this.stopKeepAlive();
    this.keepAliveMs = seconds * 1500; // [MQTT-3.1.2-22]
    if (seconds === 0) return; // 0 switches the mechanism off (MQTT 5 section 3.1.2.10)
    this.armKeepAlive(this.keepAliveMs);
  }

  /** Marks the connection closed and releases its timers and transport. Idempotent. */
  shutDown(): void {
    if (this.state === 'closed') return;
    if (this.state !== 'connected') this.session.handshakes--;
    this.state = 'closed';
    this.stopKeepAlive();
    this.inbox = undefined;
    this.link.close();
  }

  private write(bytes: Buffer): void {
    const metrics = this.session.host.metrics;
    metrics.packetsSent++;
    metrics.bytesSent += bytes.length;
    if (!this.link.send(bytes)) this.writable = false;
  }

  private run(packet: Packet): void {
    let result: MaybePromise<void>;
    try {
      result = dispatch(this.session, this, packet);
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
    this.session.reportError(error);
    this.disconnect(ReasonCode.UnspecifiedError, 'internal error');
  }

  private armKeepAlive(ms: number): void {
    this.keepAliveTimer = this.timers.setTimeout(() => this.checkKeepAlive(), ms);
  }

  /** One timer per interval, not per packet: it re-arms for the time left since the last packet. */
  private checkKeepAlive(): void {
    this.keepAliveTimer = undefined;
    if (this.state === 'closed') return;
    const idle = this.timers.now() - this.lastActivity;
    if (idle >= this.keepAliveMs) {
      this.disconnect(ReasonCode.KeepAliveTimeout, 'keep-alive timeout');
      return;
    }
    this.armKeepAlive(this.keepAliveMs - idle);
  }

  private stopKeepAlive(): void {
    if (this.keepAliveTimer !== undefined) {
      this.timers.clearTimeout(this.keepAliveTimer);
      this.keepAliveTimer = undefined;
    }
  }

  /** Switches outbound topic aliases on for a client that allows `max` of them. */
  enableOutboundAliases(max: number): void {
    this.outboundAliases = new OutboundAliases(max);
    this.usesOutboundAliases = max > 0;
  }
}
