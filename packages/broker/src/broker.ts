import type { Server } from 'node:http';
import type { Server as TlsServer } from 'node:tls';
import { createPoolSet, type PoolSet } from '@mqtt-sessions/pool';
import { createDefaultRuntime, type Runtime } from '@mqtt-sessions/runtime-default';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { AdminApi } from './admin-http.js';
import { createAuthRuntime, LoginGuard } from './auth/index.js';
import { type ClusterMembership, checkClusterOptions, openClusterNode } from './cluster-mode.js';
import { ConfigError, readTlsFiles } from './config.js';
import { type Listener, SocketSet, secureOptions, startListeners } from './listeners.js';
import { createLogger, logSessionEvent } from './logging.js';
import type { BrokerHealth } from './metrics-http.js';
import { type BrokerOptions, resolveBrokerOptions, type TlsMaterial } from './options.js';
import { type BrokerStats, collectStats } from './stats.js';
import { type BrokerStores, openStores } from './stores.js';
import { SysTopics } from './sys-topics.js';

/** The ports a started broker listens on (`undefined` for a listener that is off). */
export interface BrokerAddresses {
  readonly tcp: number | undefined;
  readonly tls: number | undefined;
  readonly ws: number | undefined;
  readonly wss: number | undefined;
  readonly metrics: number | undefined;
}

/**
 * A runnable MQTT broker: the mqtt-sessions pools behind TCP, TLS and WebSocket listeners, with
 * auth, `$SYS` topics, Prometheus metrics, logs and a graceful shutdown.
 */
export class Broker {
  readonly options: BrokerOptions;
  readonly logger: Logger;
  readonly pools: PoolSet;
  /** Paces password checks (see `LoginGuard`); its figures go to the metrics. */
  readonly loginGuard: LoginGuard;
  private readonly stores: BrokerStores;
  /** This broker's node of a cluster (`--cluster`), if it is one. */
  readonly cluster: ClusterMembership | undefined;
  private readonly startedAt = Date.now();
  private readonly sockets = new SocketSet();
  private listeners: Listener[] = [];
  private metricsServer: { server: Server; port: () => number } | undefined = undefined;
  private sys: SysTopics | undefined = undefined;
  private closing: Promise<void> | undefined = undefined;

  constructor(
    options: BrokerOptions,
    runtime: Runtime<unknown>,
    stores: BrokerStores,
    loginGuard: LoginGuard = new LoginGuard(),
    cluster?: ClusterMembership,
  ) {
    this.options = options;
    this.stores = stores;
    this.cluster = cluster;
    this.loginGuard = loginGuard;
    this.logger = options.logger ?? createLogger(options.logLevel, options.logFormat);
    const logger = this.logger;
    this.pools = createPoolSet<unknown>({
      runtime,
      retain: stores.retain,
      ...(stores.sessions === undefined ? {} : { store: stores.sessions }),
      // In a cluster, a client id has one owner among the brokers, and sessions move between
      // them through the shared store.
      ...(cluster === undefined
        ? {}
        : { registry: cluster.registry(runtime.defaultPool()), sharedStore: true }),
      session: options.session,
      ...(options.timers === undefined ? {} : { timers: options.timers }),
      ...(options.queueBudget === undefined ? {} : { queueBudget: options.queueBudget }),
      observe: (event) => logSessionEvent(logger, event),
      onError: (error, clientId) => logger.error({ err: error, clientId }, 'internal error'),
    });
  }

  /**
   * Takes back the stored sessions (their expiry and Will timers resume with the time that
   * remains), then opens the listeners, the metrics endpoint and the `$SYS` updates.
   */
  async start(): Promise<BrokerAddresses> {
    const options = this.options;
    this.logger.info(this.stores.where, 'mqtt-sessions broker data');
    if (this.cluster !== undefined) {
      await this.cluster.join([this.pools.defaultPool]);
      this.logger.info({ nodeId: this.cluster.nodeId }, 'joined the cluster');
    }
    const restoreStarted = Date.now();
    const restored = await this.pools.restore();
    if (this.stores.sessions !== undefined) {
      this.logger.info(
        { sessions: restored, ms: Date.now() - restoreStarted },
        'sessions restored',
      );
    }
    this.listeners = await startListeners(this.pools, options, this.sockets);
    if (options.metricsPort !== false) {
      const { startMetricsServer } = await import('./metrics-http.js');
      // prom-client is loaded on the first scrape: a broker nobody scrapes never pays for it.
      let registry: Promise<Registry> | undefined;
      const metrics = () =>
        (registry ??= import('./metrics-registry.js').then(({ createMetricsRegistry }) =>
          createMetricsRegistry(this.pools, this.startedAt, this.loginGuard),
        ));
      this.metricsServer = await startMetricsServer(
        metrics,
        this.pools,
        options.metricsHost,
        options.metricsPort,
        () => this.health(),
        options.adminToken === undefined ? undefined : new AdminApi(this.pools, options.adminToken),
      );
    }
    // Retained messages in Redis are shared with other brokers: each keeps its figures apart.
    const nodeId = options.retainStore === 'redis' ? options.nodeId : undefined;
    this.sys = new SysTopics(this.pools, this.startedAt, this.logger, nodeId, this.cluster);
    await this.sys.start(options.sysInterval);
    const addresses = this.addresses();
    this.logger.info(
      { ...addresses, host: options.host, urls: this.urls() },
      'mqtt-sessions broker listening',
    );
    this.warnIfExposed();
    return addresses;
  }

  /** Where clients reach the broker: `mqtt://localhost:1883`, `ws://localhost:8083/mqtt`, ... */
  urls(): string[] {
    const { tcp, tls, ws, wss, metrics } = this.addresses();
    const host = displayHost(this.options.host);
    const path = this.options.wsPath;
    return [
      ...(tcp === undefined ? [] : [`mqtt://${host}:${tcp}`]),
      ...(tls === undefined ? [] : [`mqtts://${host}:${tls}`]),
      ...(ws === undefined ? [] : [`ws://${host}:${ws}${path}`]),
      ...(wss === undefined ? [] : [`wss://${host}:${wss}${path}`]),
      ...(metrics === undefined
        ? []
        : [`http://${displayHost(this.options.metricsHost)}:${metrics}/metrics`]),
    ];
  }

  /** A loud line when anyone who can reach the broker may use it without a password. */
  private warnIfExposed(): void {
    const options = this.options;
    if (isLoopback(options.host) || options.runtime !== undefined) return;
    const anonymous =
      options.usersFile === undefined
        ? 'any client, with any or no password,'
        : options.allowAnonymous === true
          ? 'clients without credentials'
          : undefined;
    if (anonymous === undefined) return;
    this.logger.warn(
      { host: options.host },
      `${anonymous} can connect from the network: give --users-file (and --acl-file), or --host 127.0.0.1`,
    );
  }

  /** The bound ports. */
  addresses(): BrokerAddresses {
    const port = (kind: Listener['kind']) => this.listeners.find((l) => l.kind === kind)?.port();
    return {
      tcp: port('tcp'),
      tls: port('tls'),
      ws: port('ws'),
      wss: port('wss'),
      metrics: this.metricsServer?.port(),
    };
  }

  /**
   * Serves a new certificate, key and CA to new TLS and WSS connections; open connections keep
   * theirs. Without `material` it reads `options.tlsFiles` again (what SIGHUP does). A file that
   * cannot be read leaves the current certificate in place and rejects.
   */
  async reloadTls(material?: TlsMaterial): Promise<void> {
    const files = this.options.tlsFiles;
    const next = material ?? (files === undefined ? undefined : await readTlsFiles(files));
    if (next === undefined) throw new Error('no TLS certificate files to reload');
    const context = secureOptions(this.options, next);
    for (const listener of this.listeners) {
      if (listener.kind === 'tls' || listener.kind === 'wss')
        (listener.server as unknown as TlsServer).setSecureContext(context);
    }
    this.logger.info({ files }, 'TLS certificate reloaded');
  }

  /**
   * `ok`, or `unavailable` while a Redis connection the stores use is not ready (ioredis keeps
   * reconnecting meanwhile; what needs Redis is refused after `redisTimeoutMs`).
   */
  health(): BrokerHealth {
    const cluster = this.cluster;
    const connections =
      cluster === undefined ? this.stores.redis : [...this.stores.redis, cluster.redis];
    const redis = connections.map((connection) => connection.status);
    if (redis.length === 0) return { status: 'ok' };
    const status = redis.every((state) => state === 'ready') ? 'ok' : 'unavailable';
    if (cluster === undefined) return { status, redis };
    const { nodeId, peers } = cluster.stats();
    return { status, redis, cluster: { nodeId, peers } };
  }

  /** The broker's figures now. */
  stats(): Promise<BrokerStats> {
    return collectStats(this.pools, this.startedAt);
  }

  /**
   * Shuts down gracefully: stops accepting connections, sends v5 clients DISCONNECT 0x8B (Server
   * shutting down), ends every session, closes the retain store and the metrics endpoint.
   * Sockets that have not closed after `graceMs` are destroyed.
   */
  close(graceMs = 2000): Promise<void> {
    this.closing ??= this.shutDown(graceMs);
    return this.closing;
  }

  private async shutDown(graceMs: number): Promise<void> {
    this.logger.info('mqtt-sessions broker shutting down');
    this.sys?.stop();
    const stopped = Promise.all(this.listeners.map((listener) => listener.close()));
    // In a cluster, the node stops taking messages before the pools close, so that what comes for
    // their sessions meanwhile waits for the broker that takes them over.
    if (this.cluster === undefined) await this.pools.close();
    else await this.cluster.leave(() => this.pools.close());
    await waitFor(() => this.sockets.size === 0, graceMs);
    this.sockets.destroyAll();
    await stopped;
    if (this.metricsServer !== undefined) {
      const server = this.metricsServer.server;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    this.logger.info('mqtt-sessions broker stopped');
  }
}

/** Loopback addresses reach only this machine. */
function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

/** A host for a URL: the wildcard addresses are reached as localhost from here. */
function displayHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return 'localhost';
  return host.includes(':') ? `[${host}]` : host;
}

/** Creates a broker; call `start()` to listen. Reads the users and ACL files when given. */
export async function createBroker(options: Partial<BrokerOptions> = {}): Promise<Broker> {
  const resolved = resolveBrokerOptions(options);
  checkListenerOptions(resolved);
  checkClusterOptions(resolved);
  const loginGuard = new LoginGuard();
  const runtime = await chooseRuntime(resolved, loginGuard);
  const logger = resolved.logger ?? createLogger(resolved.logLevel, resolved.logFormat);
  const stores = await openStores(resolved, (error) =>
    logger.warn({ err: error }, 'Redis connection error'),
  );
  const cluster = resolved.cluster
    ? await openClusterNode(
        resolved,
        (error) => logger.warn({ err: error }, 'cluster error'),
        resolved.onClusterLeaseLost ??
          (() => {
            // Another broker has this one's sessions now: its copies and connections must go,
            // without a word to the store. The supervisor (or --workers) starts it afresh.
            logger.fatal('this broker lost its cluster lease and its sessions: exiting');
            process.exit(1);
          }),
      )
    : undefined;
  return new Broker({ ...resolved, logger }, runtime, stores, loginGuard, cluster);
}

/** Options that only make sense together, refused as a user would fix them. */
function checkListenerOptions(options: BrokerOptions): void {
  if (options.adminToken !== undefined && options.metricsPort === false)
    throw new ConfigError('--admin-token needs the metrics listener (--metrics-port)');
  if (options.tlsRequireClientCert && options.tls?.ca === undefined)
    throw new ConfigError(
      '--tls-require-client-cert needs --tls-ca (the CA client certificates are signed by)',
    );
  if (options.tlsIdentityAsUsername && !options.tlsRequireClientCert)
    throw new ConfigError('--tls-identity-as-username needs client certificates (--tls-ca)');
}

async function chooseRuntime(
  options: BrokerOptions,
  loginGuard: LoginGuard,
): Promise<Runtime<unknown>> {
  if (options.runtime !== undefined) return options.runtime;
  if (
    options.usersFile === undefined &&
    options.aclFile === undefined &&
    options.allowAnonymous !== false &&
    !options.tlsIdentityAsUsername
  ) {
    return createDefaultRuntime() as Runtime<unknown>;
  }
  const runtime = await createAuthRuntime({
    ...(options.usersFile === undefined ? {} : { usersFile: options.usersFile }),
    ...(options.aclFile === undefined ? {} : { aclFile: options.aclFile }),
    ...(options.allowAnonymous === undefined ? {} : { allowAnonymous: options.allowAnonymous }),
    loginGuard,
  }).catch((error: unknown) => {
    // A users or ACL file that is missing or does not parse is the operator's to fix: exit 2.
    throw new ConfigError((error as Error).message);
  });
  return runtime as Runtime<unknown>;
}

async function waitFor(done: () => boolean, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!done() && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20));
}
