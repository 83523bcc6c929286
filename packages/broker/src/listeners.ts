import {
  createServer as createHttpServer,
  type Server as HttpServer,
  type IncomingMessage,
} from 'node:http';
import {
  type AddressInfo,
  createServer as createNetServer,
  type Server,
  type Socket,
} from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket, TlsOptions } from 'node:tls';
import { attachSocket, attachWebSocket, type Connectable } from '@mqtt-sessions/pool';
import { DEFAULT_SESSION_OPTIONS } from '@mqtt-sessions/session';
import type { WebSocketServer } from 'ws';
import type { BrokerOptions, TlsMaterial } from './options.js';

/** A listen backlog that absorbs connection storms (the kernel caps it at somaxconn). */
const LISTEN_BACKLOG = 4096;

/** One listening server and what it serves. */
export interface Listener {
  readonly kind: 'tcp' | 'tls' | 'ws' | 'wss';
  readonly server: Server | HttpServer;
  /** The bound port (useful when 0 was asked for). */
  port(): number;
  /** Stops accepting connections. */
  close(): Promise<void>;
}

/** Every socket a listener accepted, so a shutdown can end the ones that linger. */
export class SocketSet {
  private readonly sockets = new Set<Socket>();
  /**
   * Lets a closed socket go: the `onClose` of `attachSocket`, so that an attached socket hears
   * its close through the transport's own listener and has one `close` listener, not two.
   */
  readonly forget: (socket: Socket) => void;
  /**
   * The `close` listener of a socket given to `add`. One function shared by every socket (it
   * finds the socket as `this`): no closure and no once-wrapper per socket, and a closed socket
   * is let go at once.
   */
  private readonly forgetThis: (this: Socket) => void;

  constructor() {
    const sockets = this.sockets;
    this.forget = (socket) => {
      sockets.delete(socket);
    };
    this.forgetThis = function forgetThis(this: Socket) {
      sockets.delete(this);
    };
  }

  /** Tracks `socket` until it closes, with a `close` listener of its own. */
  add(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', this.forgetThis);
  }

  /** Tracks `socket` until `forget` is called with it (hand `forget` to `attachSocket` as `onClose`). */
  track(socket: Socket): void {
    this.sockets.add(socket);
  }

  /** Sockets not closed yet. */
  get size(): number {
    return this.sockets.size;
  }

  destroyAll(): void {
    for (const socket of this.sockets) socket.destroy();
  }
}

/**
 * Starts the listeners the options switch on. TLS and HTTPS are loaded only for a listener that
 * needs them, and the `ws` package on a WebSocket listener's first upgrade, so that a broker
 * starts no bigger than what it serves.
 */
export async function startListeners(
  target: Connectable,
  options: BrokerOptions,
  sockets: SocketSet,
): Promise<Listener[]> {
  const listeners: Listener[] = [];
  try {
    if (options.port !== false) {
      // One object for every connection.
      const socketOptions = { ...transportOptions(options), onClose: sockets.forget };
      const server = createNetServer({ noDelay: true }, (socket) => {
        sockets.track(socket);
        attachSocket(target, socket, socketOptions);
      });
      listeners.push(await listen('tcp', server, options.host, options.port));
    }
    if (options.tlsPort !== false && options.tls !== undefined) {
      const { createServer: createTlsServer } = await import('node:tls');
      const server = createTlsServer(
        { ...secureOptions(options, options.tls), noDelay: true },
        (socket) => {
          sockets.track(socket);
          attachSocket(target, socket, {
            ...transportOptions(options),
            ...certificateFacts(socket, options),
            onClose: sockets.forget,
          });
        },
      );
      // Count raw sockets too: a TLS handshake that never completes still holds one.
      server.on('connection', (socket: Socket) => sockets.add(socket));
      listeners.push(await listen('tls', server, options.host, options.tlsPort));
    }
    if (options.wsPort !== false) {
      const server = createHttpServer(notFound);
      server.on('connection', (socket: Socket) => sockets.add(socket));
      serveWebSocket(target, server, options, 'websocket');
      listeners.push(await listen('ws', server, options.host, options.wsPort));
    }
    if (options.wssPort !== false && options.tls !== undefined) {
      const { createServer: createHttpsServer } = await import('node:https');
      const server = createHttpsServer(secureOptions(options, options.tls), notFound);
      server.on('connection', (socket: Socket) => sockets.add(socket));
      serveWebSocket(target, server, options, 'websocket-tls');
      listeners.push(await listen('wss', server, options.host, options.wssPort));
    }
  } catch (error) {
    await Promise.all(listeners.map((listener) => listener.close()));
    throw error;
  }
  return listeners;
}

/**
 * MQTT over WebSocket at `path`, subprotocol `mqtt` (MQTT 5 section 6). The `ws` package (about
 * 5 MB of a broker's idle RSS) is loaded on the first upgrade request, so that a broker whose
 * WebSocket listener nobody uses does not pay for it.
 */
function serveWebSocket(
  target: Connectable,
  server: HttpServer,
  options: BrokerOptions,
  origin: 'websocket' | 'websocket-tls',
): void {
  let loading: Promise<WebSocketServer> | undefined;
  const webSocketServer = () =>
    (loading ??= import('ws').then(({ WebSocketServer: Server }) => {
      const wss: WebSocketServer = new Server({
        noServer: true,
        path: options.wsPath,
        // Offer only "mqtt"; clients that ask for no subprotocol are let in as well
        // [MQTT-6.0.0-3].
        handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : false),
        perMessageDeflate: false,
        // ws buffers a whole frame before the pool sees a byte: cap frames near the packet
        // limit, so that a hostile frame cannot make the server hold more than one packet's worth.
        maxPayload: maxPacketSize(options) + 64 * 1024,
      });
      wss.on('connection', (ws, request: IncomingMessage) => {
        attachWebSocket(target, ws, {
          ...transportOptions(options),
          ...(origin === 'websocket-tls'
            ? certificateFacts(request.socket as TLSSocket, options)
            : {}),
          peerIp: request.socket.remoteAddress,
          secure: origin === 'websocket-tls',
        });
      });
      return wss;
    }));
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Bytes that come before ws takes the socket wait in it, unread.
    socket.on('error', ignoreError);
    webSocketServer().then(
      (wss) => {
        if (!wss.shouldHandle(request)) {
          // Another path: refused as ws refuses it when it serves the HTTP server itself.
          socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
          return;
        }
        wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
      },
      () => socket.destroy(),
    );
  });
}

function ignoreError(): void {
  // A socket reset before the upgrade completes is the client's business; ws handles later ones.
}

/**
 * The secure context of the TLS and WSS listeners. With client certificates required, a client
 * without one signed by the CA fails the handshake: it never reaches MQTT.
 */
export function secureOptions(options: BrokerOptions, material: TlsMaterial): TlsOptions {
  const require = options.tlsRequireClientCert;
  return {
    cert: material.cert,
    key: material.key,
    ...(material.ca === undefined ? {} : { ca: material.ca }),
    requestCert: require,
    rejectUnauthorized: require,
    minVersion: options.tlsMinVersion,
    ...(options.tlsCiphers === undefined ? {} : { ciphers: options.tlsCiphers }),
  };
}

/**
 * What the runtime learns from a verified client certificate: `certificateIdentity` (subject CN,
 * else the first subject alternative name), which the auth runtime takes as the username when
 * told to.
 */
function certificateFacts(
  socket: TLSSocket,
  options: BrokerOptions,
): { contextPrefs?: { certificateIdentity: string } } {
  if (!options.tlsIdentityAsUsername || !socket.authorized) return {};
  const certificate = socket.getPeerCertificate();
  const subjectCn = certificate.subject?.CN;
  const commonName = Array.isArray(subjectCn) ? subjectCn[0] : subjectCn;
  const alternative = certificate.subjectaltname?.split(', ')[0]?.replace(/^[A-Za-z ]+:/, '');
  const identity = typeof commonName === 'string' && commonName !== '' ? commonName : alternative;
  return identity === undefined || identity === ''
    ? {}
    : { contextPrefs: { certificateIdentity: identity } };
}

function transportOptions(options: BrokerOptions): { highWaterMark?: number } {
  const mark = options.writeHighWaterMark;
  return mark === undefined ? {} : { highWaterMark: mark };
}

function maxPacketSize(options: BrokerOptions): number {
  return options.session?.maxIncomingPacketSize ?? DEFAULT_SESSION_OPTIONS.maxIncomingPacketSize;
}

function notFound(_request: IncomingMessage, response: import('node:http').ServerResponse): void {
  response.writeHead(404, { 'content-type': 'text/plain' });
  response.end('MQTT over WebSocket lives on the configured path\n');
}

function listen(
  kind: Listener['kind'],
  server: Server | HttpServer,
  host: string,
  port: number,
): Promise<Listener> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, backlog: LISTEN_BACKLOG }, () => {
      server.off('error', reject);
      resolve({
        kind,
        server,
        port: () => (server.address() as AddressInfo).port,
        close: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
  });
}
