import type { Socket } from 'node:net';
import type { Connection, ConnectionOptions, Transport } from '@mqtt-sessions/pool';
import type { WebSocket } from 'ws';

/** Anything that can connect a transport: a pool or a set of pools. */
export interface ConnectTarget {
  connect(transport: Transport, options?: ConnectionOptions): Connection;
}

/**
 * A TCP or TLS socket as a pool transport. Writes made in one turn of the event loop are corked
 * into one system call, and `send` reports a full socket buffer so the session queues (bounded)
 * instead of Node buffering without limit for a client that does not read. A class rather than
 * closures: there is one per connection, and methods are shared by all of them.
 */
class SocketTransport implements Transport {
  private readonly socket: Socket;
  private corked = false;

  constructor(socket: Socket) {
    this.socket = socket;
  }

  send(bytes: Buffer): boolean {
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(uncork, this);
    }
    return this.socket.write(bytes);
  }

  close(): void {
    const socket = this.socket;
    socket.end(); // lets what was written (a DISCONNECT with its reason) go out first
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

function onData(this: Socket & { mqtt: Connection }, chunk: Buffer): void {
  this.mqtt.receive(chunk);
}

function onDrain(this: Socket & { mqtt: Connection }): void {
  this.mqtt.drained();
}

function onClose(this: Socket & { mqtt: Connection }): void {
  this.mqtt.end();
}

function onError(): void {
  // 'close' follows; a reset by the peer is not the broker's problem.
}

/** Connects a TCP or TLS socket to a pool (see {@link SocketTransport}). */
export function attachSocket(
  target: ConnectTarget,
  socket: Socket,
  origin: 'tcp' | 'tls',
): Connection {
  const connection = target.connect(new SocketTransport(socket), {
    peerIp: socket.remoteAddress,
    contextPrefs: origin === 'tcp' ? TCP : TLS,
  });
  // Shared listener functions find the connection on the socket: no closures per connection.
  const owned = socket as Socket & { mqtt: Connection };
  owned.mqtt = connection;
  socket.on('data', onData);
  socket.on('drain', onDrain);
  socket.on('close', onClose);
  socket.on('error', onError);
  return connection;
}

const BINARY = Object.freeze({ binary: true });

/** How long a closed connection's last bytes may take to leave before the socket is destroyed. */
const CLOSE_GRACE_MS = 1000;

const TCP = Object.freeze({ origin: 'tcp' });
const TLS = Object.freeze({ origin: 'tls' });

/**
 * Connects a WebSocket carrying MQTT (binary frames; one frame may hold several packets or part
 * of one). The socket's buffered amount stands in for a full buffer.
 */
export function attachWebSocket(
  target: ConnectTarget,
  ws: WebSocket,
  peerIp: string | undefined,
  origin: 'websocket' | 'websocket-tls',
  highWaterMark = 64 * 1024,
): Connection {
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
    },
    { peerIp, contextPrefs: { origin: 'websocket', secure: origin === 'websocket-tls' } },
  );
  ws.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
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
