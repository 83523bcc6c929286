import {
  connackReturnCodeV3,
  deadlinesOf,
  isPromiseLike,
  type MaybePromise,
  ProtocolLevel,
  ReasonCode,
  type Scheduled,
  type Timers,
} from '@mqtt-sessions/protocol';
import type { ContextPrefs } from '@mqtt-sessions/runtime-default';
import { encode, type SessionConnection, type SessionMetrics } from '@mqtt-sessions/session';
import type { IConnackPacket, IConnectPacket, Packet } from 'mqtt-packet';
import { PacketReader, type PacketSink } from './framing.js';
import { ConnectError, decodePacket } from './wire/decode.js';
import { WireError } from './wire/wire-error.js';

/**
 * A byte transport: a TCP or TLS socket, a WebSocket, an in-process pipe. The pool writes
 * complete packets with `send` and ends the connection with `close`.
 */
export interface Transport {
  /**
   * Sends bytes. Return `false` when the transport's buffer is full; the pool then holds further
   * messages until {@link Connection.drained} is called. Any other return value means "sent".
   */
  send(bytes: Buffer): boolean | undefined;
  /** Closes the transport. The pool calls it at most once. */
  close(): void;
  /**
   * Stops reading from the client until {@link Transport.resume}: the pool calls it while the
   * client's replies back up (after `send` returned false), so that a client that does not read
   * cannot make the server buffer without limit. Optional; without it, the pool buffers a little,
   * then closes the connection of a client that keeps sending.
   */
  pause?(): void;
  /** Reads from the client again. */
  resume?(): void;
}

/** What the transport knows about a connection. */
export interface ConnectionOptions {
  /** The remote address, for the runtime and logs. */
  readonly peerIp?: string | undefined;
  /** Transport facts for the runtime, such as `{ origin: 'websocket' }`. */
  readonly contextPrefs?: ContextPrefs;
}

/** Where a CONNECT was placed: a session's connection, or a refusal with a CONNACK reason code. */
export type Placement = SessionConnection | { refuse: number; reason: string };

/** The limits, clock and counters a connection keeps to before its CONNECT chose a pool. */
export interface EntryLimits {
  /** The largest packet accepted before the pool is known. */
  readonly maxIncomingPacketSize: number;
  readonly timers: Timers;
  readonly connectTimeoutMs: number;
  /** Packets that may wait while a CONNECT is being placed. */
  readonly maxPendingPackets: number;
  /** Counters for bytes received before and after a session exists. */
  readonly metrics: SessionMetrics;
  /** Whether MQTT 3.1 (protocol level 3, `MQIsdp`) clients are accepted. */
  readonly acceptMqtt31: boolean;
  /** Packets of one connection handled in one turn of the event loop before it checks the time. */
  readonly packetsPerTurn: number;
  /** How long one connection's packets may run in one turn, in ms; 0: `packetsPerTurn` only. */
  readonly turnTimeMs: number;
  /** How long a client may leave its replies unread before it is disconnected, in ms. */
  readonly slowClientTimeoutMs: number;
  /** Reports a failure that cannot be thrown back to the transport. */
  reportError(error: unknown): void;
}

/** Where a CONNECT goes: the pool side of a connection, supplied by a pool or a set of pools. */
export interface ConnectTarget {
  /** The pool whose limits apply until a CONNECT is placed: the pool itself, or a set's default. */
  readonly entry: EntryLimits;
  /**
   * Finds or creates the session for a CONNECT and attaches the connection, or refuses it with a
   * CONNACK reason code.
   */
  attach(connection: Connection, packet: IConnectPacket): MaybePromise<Placement>;
}

/**
 * When the current connection's turn of reading began (`performance.now()`). One for the module,
 * not a field per connection (a boxed number, 24 bytes each): reads of two connections do not
 * interleave, except for an in-process transport that feeds one connection from inside another's
 * packet, and then the outer turn only gets a little more time.
 */
let turnStartedAt = 0;

/**
 * A reader between packets, lent to the next connection that reads: a connection keeps a reader
 * of its own (about 100 bytes) only while a packet straddles its chunks, which an idle one never
 * does. One spare for the module suffices, as reads do not interleave (see above); a read from
 * inside another's packet makes a reader of its own.
 */
let spareReader: PacketReader | undefined;

/**
 * One client connection before and after it has a session: it frames incoming bytes (checking
 * each packet's declared size before buffering it), decodes them with mqtt-packet, hands the
 * CONNECT to the pool and every later packet to the session.
 */
const NO_PREFS: ContextPrefs = Object.freeze({});

export class Connection implements PacketSink, Scheduled {
  readonly peerIp: string | undefined;
  readonly contextPrefs: ContextPrefs;
  private readonly transport: Transport;
  private readonly target: ConnectTarget;
  /** While a packet straddles chunks, or while reading (see {@link spareReader}). */
  private reader: PacketReader | undefined = undefined;
  private attachment: SessionConnection | undefined = undefined;
  /** Packets that arrived while the CONNECT was being placed. */
  private early: Packet[] | undefined = undefined;
  private closed = false;
  /** The handshake deadline's place in the clock's deadline queue, until CONNACK (see {@link Scheduled}). */
  deadlineSlot = -1;
  private version: 4 | 5 = 4;
  private reading = false;
  /** Bytes received and not read yet: while a turn's budget is spent, or replies back up. */
  private pending: Buffer[] | undefined = undefined;
  private pendingBytes = 0;
  /** Packets this turn may still handle before the time is checked. */
  private budget = 0;
  /** True while the transport reported a full buffer and has not drained. */
  private full = false;
  /** Why reading stopped: the next turn comes, or the transport must drain first. */
  private waiting: 'nothing' | 'turn' | 'drain' = 'nothing';
  private slowTimer: unknown = undefined;

  constructor(transport: Transport, target: ConnectTarget, options: ConnectionOptions = {}) {
    this.transport = transport;
    this.target = target;
    this.peerIp = options.peerIp;
    this.contextPrefs = options.contextPrefs ?? NO_PREFS;
    // A connection must finish its handshake in reasonable time, or it only holds resources.
    this.armConnectTimer();
  }

  /** True once the connection has been closed, by either side. */
  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Takes bytes from the transport. Partial packets wait for the rest. A connection handles packets
   * in blocks of `packetsPerTurn` for at most `turnTimeMs` of one turn of the event loop and goes
   * on in the next, so that one client's burst never makes the others wait; and it stops reading
   * while its replies back up (the transport's `send` returned false), until the transport drains.
   */
  receive(chunk: Buffer): void {
    if (this.closed) return;
    this.target.entry.metrics.bytesReceived += chunk.length;
    if (this.reading || this.pending !== undefined) {
      // Behind bytes not read yet (or fed back from inside packet handling): keep the order.
      this.pending ??= [];
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
      if (this.pendingBytes > this.target.entry.maxIncomingPacketSize + PENDING_SLACK) {
        this.fail(ReasonCode.QuotaExceeded, 'the client sends faster than it reads');
      }
      return;
    }
    this.readFrom(chunk);
  }

  /** Reads `first` (or the pending bytes) until they end, the budget is spent, or replies back up. */
  private readFrom(first: Buffer | undefined): void {
    this.reading = true;
    const entry = this.target.entry;
    this.budget = entry.packetsPerTurn;
    turnStartedAt = performance.now();
    let reader = this.reader;
    if (reader === undefined) {
      reader = spareReader ?? new PacketReader();
      spareReader = undefined;
      this.reader = reader;
    }
    try {
      let chunk = first ?? this.takePending();
      while (chunk !== undefined && !this.closed) {
        const problem = reader.read(chunk, this, entry.maxIncomingPacketSize);
        if (problem !== undefined && !this.closed) {
          if (problem.kind === 'stopped') {
            this.keepUnread(chunk.subarray(problem.offset));
            this.wait();
            return;
          }
          if (problem.kind === 'malformed') {
            this.fail(ReasonCode.MalformedPacket, 'malformed remaining length');
          } else {
            this.tooLarge(chunk.subarray(problem.offset));
          }
          return;
        }
        chunk = this.takePending();
      }
    } finally {
      this.reading = false;
      if (reader.idle) {
        this.reader = undefined;
        spareReader = reader;
      }
    }
  }

  private takePending(): Buffer | undefined {
    const pending = this.pending;
    if (pending === undefined) return undefined;
    const chunk = pending.shift();
    if (chunk === undefined) {
      this.pending = undefined;
      return undefined;
    }
    this.pendingBytes -= chunk.length;
    if (pending.length === 0) this.pending = undefined;
    return chunk;
  }

  private keepUnread(rest: Buffer): void {
    if (rest.length === 0 && this.pending === undefined) {
      this.pending = []; // reading goes on later, behind nothing
      return;
    }
    this.pending ??= [];
    if (rest.length > 0) {
      this.pending.unshift(rest);
      this.pendingBytes += rest.length;
    }
  }

  /** Stops reading: until the transport drains, or for the rest of this turn. */
  private wait(): void {
    if (this.full) {
      this.waiting = 'drain';
      this.transport.pause?.();
    } else if (this.waiting !== 'turn') {
      this.waiting = 'turn';
      setImmediate(nextTurn, this);
    }
  }

  /** The next turn of the event loop: read on. */
  resumeReading(): void {
    if (this.waiting !== 'turn') return;
    this.waiting = 'nothing';
    if (!this.closed && !this.reading) this.readFrom(undefined);
  }

  /** One whole packet's bytes: decode and handle it. Returns false to stop reading for now. */
  onPacketBytes(bytes: Buffer): boolean {
    let packet: Packet;
    try {
      packet = decodePacket(bytes, this.version);
    } catch (error) {
      if (!(error instanceof WireError)) throw error;
      this.refuseBytes(error);
      return !this.closed;
    }
    this.onPacket(packet);
    return !this.closed && (--this.budget > 0 || this.anotherBlock()) && !this.full;
  }

  /**
   * A block of packets is done: go on with another if the turn has time left. Slicing by count
   * alone cut a subscriber's burst of PUBACKs into small turns, each with its own socket write,
   * and cost a sixth of QoS 1 fan-in throughput.
   */
  private anotherBlock(): boolean {
    const entry = this.target.entry;
    if (performance.now() - turnStartedAt >= entry.turnTimeMs) return false;
    this.budget = entry.packetsPerTurn;
    return true;
  }

  /** The transport can take more bytes again: send what waits, then read on. */
  drained(): void {
    if (this.closed) return;
    if (this.full) {
      this.full = false;
      this.clearSlowTimer();
    }
    try {
      this.attachment?.drained();
    } catch (error) {
      // Called from a socket event: a failure here must end this connection, not the process.
      this.target.entry.reportError(error);
      this.close('internal error');
      return;
    }
    if (this.waiting === 'drain' && !this.full && !this.closed) {
      this.waiting = 'nothing';
      this.transport.resume?.();
      if (!this.reading) this.readFrom(undefined);
    }
  }

  /** The transport closed or failed. */
  end(): void {
    if (this.closed) return;
    this.closed = true;
    this.clearConnectTimer();
    this.clearSlowTimer();
    this.pending = undefined;
    try {
      this.attachment?.closed();
    } catch (error) {
      this.target.entry.reportError(error);
    }
  }

  /**
   * Sends bytes on the transport; used by the session through its link. False when the
   * transport's buffer is full: the session holds its messages and this connection stops reading,
   * until the transport drains. A client that stays full for `slowClientTimeoutMs` is cut off.
   */
  send(bytes: Buffer): boolean {
    if (this.closed) return true;
    const sent = this.transport.send(bytes) !== false;
    if (!sent && !this.full) {
      this.full = true;
      this.armSlowTimer();
    }
    return sent;
  }

  /** Closes the transport once. */
  close(_reason?: string): void {
    if (this.closed) return;
    this.closed = true;
    this.clearConnectTimer();
    this.clearSlowTimer();
    this.pending = undefined;
    this.transport.close();
    this.attachment?.closed();
  }

  private onPacket(packet: Packet): void {
    if (this.closed) return;
    const attachment = this.attachment;
    if (attachment !== undefined) {
      if (this.deadlineSlot >= 0) {
        // Until CONNACK, each AUTH step of the client gets the full time again.
        if (attachment.live) this.clearConnectTimer();
        else if (packet.cmd === 'auth') this.armConnectTimer();
      }
      attachment.receive(packet);
      return;
    }
    if (this.early !== undefined) {
      // The CONNECT is still being placed; a client that floods meanwhile is cut off.
      if (this.early.length >= this.target.entry.maxPendingPackets)
        this.close('too many packets before CONNACK');
      else this.early.push(packet);
      return;
    }
    if (packet.cmd !== 'connect') {
      this.close('the first packet was not CONNECT'); // [MQTT-3.1.0-1]
      return;
    }
    this.version = packet.protocolVersion === 5 ? 5 : 4;
    if (packet.protocolVersion === ProtocolLevel.V31 && !this.target.entry.acceptMqtt31) {
      this.sendConnack(ReasonCode.UnsupportedProtocolVersion);
      this.close('MQTT 3.1 is switched off');
      return;
    }
    this.early = [];
    let placed: ReturnType<ConnectTarget['attach']>;
    try {
      placed = this.target.attach(this, packet);
    } catch (error) {
      this.placeFailed(error);
      return;
    }
    if (isPromiseLike(placed)) {
      placed.then(
        (result) => this.placed(result),
        (error: unknown) => this.placeFailed(error),
      );
    } else {
      this.placed(placed);
    }
  }

  private placed(result: Placement): void {
    const early = this.early ?? [];
    this.early = undefined;
    if ('refuse' in result) {
      this.sendConnack(result.refuse);
      this.close(result.reason);
      return;
    }
    if (this.closed) {
      result.closed();
      return;
    }
    // The deadline stays until the session accepts the CONNECT: the runtime may still be
    // deciding, or enhanced authentication may be under way.
    if (result.live) this.clearConnectTimer();
    this.attachment = result;
    for (const packet of early) result.receive(packet);
  }

  private placeFailed(error: unknown): void {
    this.target.entry.reportError(error);
    this.sendConnack(ReasonCode.ServerUnavailable);
    this.close('internal error');
  }

  /**
   * Bytes that break the specification: an established MQTT 5 client gets DISCONNECT with the
   * reason code, and the connection closes [MQTT-4.13.1-1]. A CONNECT that breaks it gets a
   * CONNACK with the reason code from MQTT 5 and none from MQTT 3.1.1 [MQTT-3.1.4-1]; an unknown
   * protocol level gets the 3.1.1 answer 0x01, which every client reads [MQTT-3.1.2-2].
   */
  private refuseBytes(error: WireError): void {
    if (this.closed) return;
    if (this.attachment !== undefined) {
      this.attachment.disconnect(error.code, error.message);
      return;
    }
    if (error instanceof ConnectError && this.early === undefined) {
      if (error.code === ReasonCode.UnsupportedProtocolVersion) {
        this.version = 4;
        this.sendConnack(error.code);
      } else if (error.level === ProtocolLevel.V5) {
        this.version = 5;
        this.sendConnack(error.code);
      }
    }
    this.close(error.message);
  }

  /** A packet over the size limit: CONNACK 0x95 before CONNECT (v5), DISCONNECT 0x95 after. */
  private tooLarge(rest: Buffer): void {
    if (this.attachment !== undefined) {
      this.attachment.disconnect(ReasonCode.PacketTooLarge, 'packet too large');
      return;
    }
    if (this.early === undefined && isConnectV5(rest)) {
      this.version = 5;
      this.sendConnack(ReasonCode.PacketTooLarge);
    }
    this.close('packet too large');
  }

  private fail(reasonCode: number, reason: string): void {
    if (this.attachment !== undefined) this.attachment.disconnect(reasonCode, reason);
    else this.close(reason);
  }

  /** A CONNACK refusal sent before any session exists. */
  private sendConnack(reasonCode: number): void {
    const connack: IConnackPacket = { cmd: 'connack', sessionPresent: false };
    if (this.version === 5) connack.reasonCode = reasonCode;
    else connack.returnCode = connackReturnCodeV3(reasonCode);
    this.send(encode(connack, this.version));
  }

  private armSlowTimer(): void {
    const timers = this.target.entry.timers;
    this.slowTimer = timers.setTimeout(() => {
      this.slowTimer = undefined;
      if (!this.full || this.closed) return;
      this.target.entry.metrics.slowClientDisconnects++;
      const seconds = Math.round(this.target.entry.slowClientTimeoutMs / 1000);
      this.fail(ReasonCode.QuotaExceeded, `the client did not read its replies for ${seconds} s`);
    }, this.target.entry.slowClientTimeoutMs);
  }

  private clearSlowTimer(): void {
    if (this.slowTimer !== undefined) {
      this.target.entry.timers.clearTimeout(this.slowTimer);
      this.slowTimer = undefined;
    }
  }

  /** The handshake must finish by `connectTimeoutMs` from now (one deadline, not a timer each). */
  private armConnectTimer(): void {
    this.clearConnectTimer();
    const entry = this.target.entry;
    deadlinesOf(entry.timers).schedule(this, entry.timers.now() + entry.connectTimeoutMs);
  }

  /** The handshake's deadline has come (from the deadline queue). */
  onDue(): void {
    if (this.closed || this.attachment?.live === true) return;
    try {
      this.close('the handshake did not finish in time');
    } catch (error) {
      this.target.entry.reportError(error);
    }
  }

  private clearConnectTimer(): void {
    if (this.deadlineSlot >= 0) deadlinesOf(this.target.entry.timers).cancel(this);
  }
}

/** Whether the bytes start a CONNECT whose protocol level is 5 (the level byte follows "MQTT"). */
function isConnectV5(bytes: Buffer): boolean {
  if (bytes.length < 2 || bytes[0] !== 0x10) return false;
  let offset = 1;
  while (offset < bytes.length && offset < 5 && ((bytes[offset] as number) & 0x80) !== 0) offset++;
  const level = bytes[offset + 1 + 6];
  return level === 5;
}

/** Bytes a connection may receive beyond one packet while it does not read (a paused socket). */
const PENDING_SLACK = 1024 * 1024;

function nextTurn(connection: Connection): void {
  connection.resumeReading();
}
