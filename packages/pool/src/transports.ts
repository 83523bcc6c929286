import type { Socket } from 'node:net';
import type { ContextPrefs } from '@mqtt-sessions/runtime-default';
import type { Connection, ConnectionOptions, Transport } from './connection.js';

/** Anything that connects a transport: a pool or a set of pools. */
export interface Connectable {
  connect(transport: Transport, options?: ConnectionOptions): Connection;
}

/** How long a closed connection's last bytes may take to leave before the socket is destroyed. */
const CLOSE_GRACE_MS = 1000;

/**
 * A TCP or TLS socket as a pool transport. Writes made in one turn of the event loop are corked
 * into one system call, and `send` reports a full socket buffer so the session queues (bounded)
 * instead of Node buffering without limit for a client that does not read. A class rather than
 * closures: there is one per connection, and methods are shared by all of them.
 */
class SocketTransport implements Transport {
  private readonly socket: Socket;
  private readonly highWaterMark: number;
  private corked = false;

  constructor(socket: Socket, highWaterMark: number) {
    this.socket = socket;
    this.highWaterMark = highWaterMark;
  }

  /**
   * Writes, and reports a full buffer once the bytes not yet sent pass the high-water mark. The
   * mark is never below the socket's own, so a write that reports full is one after which the
   * socket emits 'drain'.
   */
  send(bytes: Buffer): boolean {
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(uncork, this);
    }
    return this.socket.write(bytes) || this.socket.writableLength < this.highWaterMark;
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  close(): void {
    const socket = this.socket;
    socket.end(); // lets what was written (a DISCONNECT with its reason) go out first
    // Nothing it sends now is read: a flooding client cut off would otherwise keep the broker
    // reading and discarding its bytes until the socket goes.
    socket.pause();
    // A client that does not read would keep the socket, and its buffers, for ever: give the
    // goodbye a moment, then destroy it.
    const timer = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  }

  uncork(): void {
    this.corked = false;
    this.socket.uncork();
  }
}

function uncork(transport: SocketTransport): void {
  transport.uncork();
}

// Shared listener functions find the connection on the socket: no closures per connection.
type OwnedSocket = Socket & { mqtt: Connection };

function onData(this: OwnedSocket, chunk: Buffer): void {
  this.mqtt.receive(chunk);
}

function onDrain(this: OwnedSocket): void {
  this.mqtt.drained();
}

function endConnection(this: OwnedSocket): void {
  this.mqtt.end();
}

function onError(): void {
  // 'close' follows; a reset by the peer is not the broker's problem.
}

const TCP = Object.freeze({ origin: 'tcp' });
const TLS = Object.freeze({ origin: 'tls' });

/** The default high-water mark of a transport: unsent bytes above it count as a full buffer. */
export const DEFAULT_HIGH_WATER_MARK = 64 * 1024;

/** Options of {@link attachSocket}. */
export interface SocketOptions {
  /**
   * Unsent bytes above which the client counts as not reading: its connection stops being read
   * and its messages wait in its session. Default 64 KiB.
   */
  readonly highWaterMark?: number;
  /**
   * More facts for the runtime about this connection, beside `origin`: a TLS listener can pass
   * the identity of the client's certificate, for instance.
   */
  readonly contextPrefs?: ContextPrefs;
  /**
   * Called with the socket when it closes, after its connection ended: a server that tracks its
   * sockets hears of it through the transport's own `close` listener, rather than a second one
   * on every socket (two listeners make Node keep an array per socket). Pass the same function
   * for many sockets: it is paired with the transport's listener once.
   */
  readonly onClose?: (socket: Socket) => void;
}

/** The `close` listener of each `onClose` hook, made at its first socket (see {@link SocketOptions.onClose}). */
const closeListeners = new WeakMap<(socket: Socket) => void, (this: OwnedSocket) => void>();

function closeListenerOf(
  onClose: ((socket: Socket) => void) | undefined,
): (this: OwnedSocket) => void {
  if (onClose === undefined) return endConnection;
  let listener = closeListeners.get(onClose);
  if (listener === undefined) {
    listener = function endConnectionThenHook(this: OwnedSocket) {
      this.mqtt.end();
      onClose(this);
    };
    closeListeners.set(onClose, listener);
  }
  return listener;
}

/**
 * Connects a TCP or TLS socket (from `net.createServer` or `tls.createServer`) to a pool or a set
 * of pools. The runtime sees `origin: 'tcp'` or `'tls'`.
 *
 * @example
 * ```ts
 * net.createServer((socket) => attachSocket(pool, socket)).listen(1883);
 * ```
 */
export function attachSocket(
  target: Connectable,
  socket: Socket,
  options: SocketOptions = {},
): Connection {
  const encrypted = (socket as Socket & { encrypted?: boolean }).encrypted === true;
  const mark = Math.max(
    options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK,
    socket.writableHighWaterMark,
  );
  const peerIp = socket.remoteAddress;
  // Node keeps the peer's address, family and port on the socket once they are read (about 75
  // bytes a connection, for its life); the connection keeps the one string it needs.
  (socket as Socket & { _peername?: unknown })._peername = undefined;
  const connection = target.connect(new SocketTransport(socket, mark), {
    peerIp,
    contextPrefs:
      options.contextPrefs === undefined
        ? encrypted
          ? TLS
          : TCP
        : { ...(encrypted ? TLS : TCP), ...options.contextPrefs },
  });
  (socket as OwnedSocket).mqtt = connection;
  socket.on('data', onData);
  socket.on('drain', onDrain);
  socket.on('close', closeListenerOf(options.onClose));
  socket.on('error', onError);
  return connection;
}

/**
 * The part of a WebSocket (the `ws` package's, or any alike) that carries MQTT: binary messages
 * in, binary sends out with a completion callback, and the bytes still buffered.
 */
export interface WebSocketLike {
  readonly bufferedAmount: number;
  send(data: Buffer, options: { binary: boolean }, done: (error?: Error) => void): void;
  close(code?: number, reason?: string): void;
  /** Stops and restarts reading (the `ws` package has both); optional. */
  pause?(): void;
  resume?(): void;
  on(
    event: 'message',
    listener: (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => void,
  ): unknown;
  on(event: 'close', listener: () => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

/** Options of {@link attachWebSocket}. */
export interface WebSocketOptions {
  /** The remote address, for the runtime and logs. */
  readonly peerIp?: string | undefined;
  /** True for WebSocket over TLS; the runtime sees `secure: true`. */
  readonly secure?: boolean;
  /** Buffered bytes above which the connection counts as full. Default 64 KiB. */
  readonly highWaterMark?: number;
  /** More facts for the runtime about this connection, beside `origin` and `secure`. */
  readonly contextPrefs?: ContextPrefs;
}

const BINARY = Object.freeze({ binary: true });

/**
 * Connects a WebSocket carrying MQTT (MQTT 5 section 6: binary frames; one frame may hold several
 * packets or part of one). The socket's buffered amount stands in for a full buffer. The runtime
 * sees `origin: 'websocket'`.
 *
 * @example
 * ```ts
 * new WebSocketServer({ port: 8083, path: '/mqtt' }).on('connection', (ws, request) =>
 *   attachWebSocket(pool, ws, { peerIp: request.socket.remoteAddress }),
 * );
 * ```
 */
export function attachWebSocket(
  target: Connectable,
  ws: WebSocketLike,
  options: WebSocketOptions = {},
): Connection {
  const highWaterMark = options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
  // One callback per connection, not one per message: it tells the session when to go on.
  const sent = () => {
    if (ws.bufferedAmount < highWaterMark) connection.drained();
  };
  const connection = target.connect(
    {
      send(bytes) {
        ws.send(bytes, BINARY, sent);
        return ws.bufferedAmount < highWaterMark;
      },
      close() {
        ws.close();
      },
      pause() {
        ws.pause?.();
      },
      resume() {
        ws.resume?.();
      },
    },
    {
      peerIp: options.peerIp,
      contextPrefs: {
        ...options.contextPrefs,
        origin: 'websocket',
        secure: options.secure === true,
      },
    },
  );
  ws.on('message', (data, isBinary) => {
    // MQTT travels in binary frames only; a text frame ends the connection [MQTT-6.0.0-1].
    if (!isBinary) {
      ws.close(1003, 'MQTT needs binary frames');
      connection.end();
      return;
    }
    connection.receive(toBuffer(data));
  });
  ws.on('close', () => connection.end());
  ws.on('error', () => {
    // 'close' follows.
  });
  return connection;
}

function toBuffer(data: Buffer | ArrayBuffer | Buffer[]): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
