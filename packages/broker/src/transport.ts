import type { Socket } from 'node:net';
import type { Connection, ConnectionOptions, Transport } from '@mqtt-sessions/pool';
import type { WebSocket } from 'ws';

/** Anything that can connect a transport: a pool or a set of pools. */
export interface ConnectTarget {
  connect(transport: Transport, options?: ConnectionOptions): Connection;
}

/**
 * Connects a TCP or TLS socket. Writes made in one turn of the event loop are corked into one
 * system call, and `send` reports a full socket buffer so the session queues (bounded) instead of
 * Node buffering without limit for a client that does not read.
 */
export function attachSocket(
  target: ConnectTarget,
  socket: Socket,
  origin: 'tcp' | 'tls',
): Connection {
  socket.setNoDelay(true);
  let corked = false;
  const uncork = () => {
    corked = false;
    socket.uncork();
  };
  const connection = target.connect(
    {
      send(bytes) {
        if (!corked) {
          corked = true;
          socket.cork();
          process.nextTick(uncork);
        }
        return socket.write(bytes);
      },
      close() {
        socket.end();
        // A client that never reads would keep a half-closed socket open; do not wait for it.
        socket.destroySoon();
      },
    },
    { peerIp: socket.remoteAddress, contextPrefs: { origin } },
  );
  socket.on('data', (chunk: Buffer) => connection.receive(chunk));
  socket.on('drain', () => connection.drained());
  socket.on('close', () => connection.end());
  socket.on('error', () => {
    // 'close' follows; a reset by the peer is not the broker's problem.
  });
  return connection;
}

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
  const connection = target.connect(
    {
      send(bytes) {
        ws.send(bytes, { binary: true }, () => {
          if (ws.bufferedAmount < highWaterMark) connection.drained();
        });
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
