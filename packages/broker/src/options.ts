import { hostname } from 'node:os';
import type { Timers } from '@mqtt-sessions/protocol';
import type { Runtime } from '@mqtt-sessions/runtime-default';
import type { SessionOptions } from '@mqtt-sessions/session';
import type { SqliteDurability } from '@mqtt-sessions/store-sqlite';
import type { Logger } from 'pino';
import type { LogFormat } from './logging.js';
import { SYS_TOP_REQUEST } from './sys-topics.js';

/** Where a broker keeps its sessions or its retained messages. */
export type StoreKind = 'memory' | 'sqlite' | 'redis';

/** The store kinds, for option checking and `--help`. */
export const STORE_KINDS: readonly StoreKind[] = ['memory', 'sqlite', 'redis'];

/** The certificate and key a TLS listener presents, and the CA its clients' certificates need. */
export interface TlsMaterial {
  cert: string | Buffer;
  key: string | Buffer;
  ca?: string | Buffer | undefined;
}

/** The PEM files of {@link TlsMaterial}. */
export interface TlsFiles {
  cert: string;
  key: string;
  ca?: string | undefined;
}

/** The TLS versions a broker can be told to require at least. */
export type TlsVersion = 'TLSv1.2' | 'TLSv1.3';

/** A listener port: a number (0 picks a free port) or `false` to switch the listener off. */
export type Port = number | false;

/** Everything a broker can be told. {@link resolveBrokerOptions} fills in the defaults. */
export interface BrokerOptions {
  /** The address every listener binds to. Default `0.0.0.0`. */
  host: string;
  /** MQTT over TCP. Default 1883. */
  port: Port;
  /** MQTT over WebSocket. Default off in the API (the command line's default is 8083). */
  wsPort: Port;
  /** The HTTP path of the WebSocket endpoint. Default `/mqtt`. */
  wsPath: string;
  /** MQTT over TLS. Default 8883 when a certificate is given, else off. */
  tlsPort: Port;
  /**
   * MQTT over secure WebSocket. Default off in the API (the command line's default is 8084 when a
   * certificate is given).
   */
  wssPort: Port;
  /** TLS certificate chain (PEM), key and optional CA; paths on the command line. */
  tls: TlsMaterial | undefined;
  /**
   * Where {@link tls} was read from: `reloadTls()` (and SIGHUP) reads the files again. Set by the
   * command line; an API user may set it too.
   */
  tlsFiles: TlsFiles | undefined;
  /**
   * Refuse TLS clients without a certificate signed by `tls.ca`, in the handshake. Default: on
   * when a CA is given.
   */
  tlsRequireClientCert: boolean;
  /**
   * Take the username from the client certificate (subject CN, else its first subject
   * alternative name) instead of the CONNECT, with no password asked: the handshake proved it.
   * Needs {@link tlsRequireClientCert}. Default false.
   */
  tlsIdentityAsUsername: boolean;
  /** The oldest TLS version accepted. Default `TLSv1.2`. */
  tlsMinVersion: TlsVersion;
  /** An OpenSSL cipher list for TLS 1.2 and older (TLS 1.3 suites are not affected). */
  tlsCiphers: string | undefined;
  /**
   * Prometheus `/metrics` and `/healthz` over HTTP. Default off in the API (the command line's
   * default is 9464).
   */
  metricsPort: Port;
  /**
   * Switches on the admin API under `/admin/` on the metrics listener, for requests that carry
   * `Authorization: Bearer <token>`. Default off. Prefer the environment variable to the flag,
   * which other users of the machine can read in the process list.
   */
  adminToken: string | undefined;
  /**
   * The address the metrics endpoint binds to. Default `127.0.0.1`: it lists client ids, so it
   * is not published beyond the machine unless asked.
   */
  metricsHost: string;
  /**
   * Where sessions are kept: `sqlite` (a database file in {@link dataDir}), `redis` (at
   * {@link redisUrl}, shared by brokers) or `memory` (lost when the process ends). Default
   * `redis` when a Redis URL is given, else `sqlite`.
   */
  store: StoreKind;
  /** Where retained messages are kept. Default: the same place as the sessions. */
  retainStore: StoreKind;
  /** The directory of the SQLite database. Default `./data`. */
  dataDir: string;
  /**
   * How durably SQLite commits: `normal` survives the process dying (`kill -9`), `full` also
   * survives power loss, at the cost of a disk flush per commit. Default `normal`.
   */
  durability: SqliteDurability;
  /** The Redis server of the `redis` store, e.g. `redis://127.0.0.1:6379`. */
  redisUrl: string | undefined;
  /**
   * The seed nodes of a Redis Cluster for the `redis` store and `--cluster`, instead of
   * {@link redisUrl}: `host:port,host:port,...`.
   */
  redisCluster: string | undefined;
  /**
   * The key prefix in Redis, so several brokers (or deployments) can share one server: sessions
   * go under `<prefix>sessions:` and retained messages under `<prefix>retain:`. Default
   * `mqtt-sessions:`.
   */
  redisPrefix: string;
  /**
   * This broker's name among brokers that share a Redis: with retained messages in Redis, its
   * `$SYS` figures go under `$SYS/broker/nodes/<nodeId>/`. Default: the host name.
   */
  nodeId: string;
  /**
   * Joins the brokers that share {@link redisUrl} and {@link redisPrefix} as one MQTT service (see
   * `@mqtt-sessions/cluster`): sessions and retained messages in Redis, messages routed between
   * the brokers, one owner per client id. Default false; true with more than one {@link workers}.
   */
  cluster: boolean;
  /**
   * Worker processes on this machine that share the listening ports, joined as a cluster, each
   * with the node id `<nodeId>-<n>`. Default 1: the broker runs in this process.
   */
  workers: number;
  /**
   * How long a cluster node counts as alive after its last heartbeat, in ms: when a broker dies,
   * the others take over its duties this long after. Default 10 s.
   */
  clusterLeaseMs: number;
  /**
   * What a broker of a cluster does when it finds that the others counted it dead and took its
   * sessions (API only). Default: log and exit with status 1, so that its supervisor starts it
   * afresh; its own copies of those sessions must not live on.
   */
  onClusterLeaseLost: (() => void) | undefined;
  /**
   * How long a Redis command may take before it fails, in ms: while Redis is away, what needs it
   * is refused (PUBACK 0x80, DISCONNECT 0x80) after this long instead of waiting. Default 5 s.
   */
  redisTimeoutMs: number;
  /** Cap on retained-message memory (in-memory store), bytes. Default 500 MiB. */
  maxRetainedBytes: number | undefined;
  /** Cap on the number of retained messages (in-memory store). Default none. */
  maxRetainedMessages: number | undefined;
  /** A users file (`username:scrypt-hash` lines); without it every client is anonymous. */
  usersFile: string | undefined;
  /** An ACL rules file; without it every client may publish and subscribe to anything. */
  aclFile: string | undefined;
  /** Accept clients without credentials. Default: true without a users file, false with one. */
  allowAnonymous: boolean | undefined;
  /** pino log level. Default `info`. */
  logLevel: string;
  /** `json` lines, `pretty` text, or `auto`: text on a terminal, JSON otherwise. Default `auto`. */
  logFormat: LogFormat;
  /** Seconds between `$SYS/broker/...` updates; 0 switches them off. Default 10. */
  sysInterval: number;
  /** Session limits and MQTT 5 feature switches (see `@mqtt-sessions/session`). */
  session: Partial<SessionOptions>;
  /** Bytes all sessions may hold, queued or in flight. Default 1 GiB. */
  queueBudget: number | undefined;
  /** Unsent bytes above which a client counts as not reading. Default 64 KiB. */
  writeHighWaterMark: number | undefined;
  /** How long a graceful shutdown may take before the process exits anyway, in ms. Default 10 s. */
  shutdownTimeoutMs: number;
  /** A runtime of your own (API only); it replaces the users and ACL files. */
  runtime: Runtime<unknown> | undefined;
  /** A pino logger of your own (API only). */
  logger: Logger | undefined;
  /** The sessions' clock and timers (API only; inject fake ones in tests). Default the system's. */
  timers: Timers | undefined;
}

/**
 * The value type of a command-line option. `bytes` also takes `64KB`, `500MB`, `1GB` (powers of
 * 1024); `seconds` and `milliseconds` also take `500ms`, `20s`, `5m`, `1h`, `1d`.
 */
export type OptionType =
  | 'number'
  | 'bytes'
  | 'seconds'
  | 'milliseconds'
  | 'port'
  | 'string'
  | 'boolean'
  | 'choice';

/** The sections of `--help`, in order, with their titles. */
export const OPTION_GROUPS = {
  listeners: 'Listeners',
  tls: 'TLS',
  auth: 'Authentication and access',
  storage: 'Storage',
  limits: 'Limits',
  features: 'MQTT 5 features',
  observability: 'Observability',
} as const;

/** The key of a section of `--help`. */
export type OptionGroup = keyof typeof OPTION_GROUPS;

/** One option: how it is spelt on the command line, in the environment and in a config file. */
export interface OptionSpec {
  /** The key in {@link BrokerOptions}, or in `session` when it starts with `session.`. */
  readonly key: string;
  readonly flag: string;
  readonly type: OptionType;
  readonly description: string;
  readonly defaultText: string;
  /** The values a `choice` option takes. */
  readonly choices?: readonly string[];
  /** The section of `--help` it is listed in. */
  readonly group: OptionGroup;
}

/** Every option, for `--help`, flag parsing, `MQTT_SESSIONS_*` variables and config files. */
export const OPTION_SPECS: readonly OptionSpec[] = [
  ...group('listeners', [
    spec('host', '--host', 'string', 'address the listeners bind to', '0.0.0.0'),
    spec('port', '--port', 'port', 'MQTT over TCP port ("off" to disable)', '1883'),
    spec('wsPort', '--ws-port', 'port', 'MQTT over WebSocket port ("off" to disable)', '8083'),
    spec('wsPath', '--ws-path', 'string', 'WebSocket path', '/mqtt'),
    spec(
      'tlsPort',
      '--tls-port',
      'port',
      'MQTT over TLS port (needs --tls-cert and --tls-key)',
      '8883 with a certificate',
    ),
    spec(
      'wssPort',
      '--wss-port',
      'port',
      'MQTT over secure WebSocket port',
      '8084 with a certificate',
    ),
  ]),
  ...group('tls', [
    spec('tlsCert', '--tls-cert', 'string', 'TLS certificate chain file (PEM)', 'none'),
    spec('tlsKey', '--tls-key', 'string', 'TLS private key file (PEM)', 'none'),
    spec('tlsCa', '--tls-ca', 'string', 'TLS CA file for client certificates (PEM)', 'none'),
    spec(
      'tlsRequireClientCert',
      '--tls-require-client-cert',
      'boolean',
      'refuse TLS clients without a certificate signed by --tls-ca',
      'true with --tls-ca',
    ),
    spec(
      'tlsIdentityAsUsername',
      '--tls-identity-as-username',
      'boolean',
      'the client certificate (subject CN) is the username; no password asked',
      'false',
    ),
    choice(
      'tlsMinVersion',
      '--tls-min-version',
      ['TLSv1.2', 'TLSv1.3'],
      'oldest TLS version accepted',
      'TLSv1.2',
    ),
    spec('tlsCiphers', '--tls-ciphers', 'string', 'OpenSSL cipher list for TLS 1.2', "Node's"),
  ]),
  ...group('auth', [
    spec(
      'usersFile',
      '--users-file',
      'string',
      'users file with scrypt password hashes',
      'none: anonymous',
    ),
    spec('aclFile', '--acl-file', 'string', 'ACL rules file', 'none: allow all'),
    spec(
      'allowAnonymous',
      '--allow-anonymous',
      'boolean',
      'accept clients without credentials',
      'true without users file',
    ),
  ]),
  ...group('storage', [
    choice(
      'store',
      '--store',
      STORE_KINDS,
      'where sessions are kept: sqlite, redis or memory',
      'redis with --redis-url, else sqlite',
    ),
    choice(
      'retainStore',
      '--retain-store',
      STORE_KINDS,
      'where retained messages are kept',
      'the same as --store',
    ),
    spec('dataDir', '--data-dir', 'string', 'directory of the SQLite database', './data'),
    choice(
      'durability',
      '--durability',
      ['normal', 'full'],
      'SQLite commits: normal survives kill -9, full also power loss',
      'normal',
    ),
    spec('redisUrl', '--redis-url', 'string', 'Redis server of the redis store', 'none'),
    spec(
      'redisCluster',
      '--redis-cluster',
      'string',
      'seed nodes of a Redis Cluster (host:port,...) instead of --redis-url',
      'none',
    ),
    spec('redisPrefix', '--redis-prefix', 'string', 'Redis key prefix', 'mqtt-sessions:'),
    spec(
      'nodeId',
      '--node-id',
      'string',
      "this broker's name among brokers sharing a Redis ($SYS/broker/nodes/<id>/)",
      'the host name',
    ),
    spec(
      'cluster',
      '--cluster',
      'boolean',
      'join the brokers on the same Redis and prefix as one service (needs --redis-url)',
      'false; true with --workers',
    ),
    spec(
      'workers',
      '--workers',
      'number',
      'worker processes sharing the ports, as a cluster (needs --redis-url)',
      '1',
    ),
    spec(
      'clusterLeaseMs',
      '--cluster-lease',
      'milliseconds',
      "how soon after a broker's last heartbeat the others count it dead",
      '10s',
    ),
    spec(
      'redisTimeoutMs',
      '--redis-timeout',
      'milliseconds',
      'how long a Redis command may take before what needs it is refused',
      '5s',
    ),
    spec(
      'maxRetainedBytes',
      '--max-retained-bytes',
      'bytes',
      'retained-message memory cap in bytes (in-memory store)',
      '524288000',
    ),
    spec(
      'maxRetainedMessages',
      '--max-retained-messages',
      'number',
      'retained-message count cap (in-memory store)',
      'none',
    ),
  ]),
  ...group('limits', [
    spec(
      'session.maxIncomingPacketSize',
      '--max-incoming-packet-size',
      'bytes',
      'largest packet accepted, bytes',
      '20971520',
    ),
    spec(
      'session.maxOutgoingPacketSize',
      '--max-outgoing-packet-size',
      'bytes',
      'largest packet sent, bytes',
      'client limit',
    ),
    spec(
      'session.incomingRate',
      '--incoming-rate',
      'number',
      'PUBLISH per second per client',
      '1000',
    ),
    spec(
      'session.incomingBurst',
      '--incoming-burst',
      'number',
      'extra PUBLISH burst per client',
      '5000',
    ),
    spec('session.maxQueued', '--max-queued', 'number', 'messages queued per session', '1000'),
    spec(
      'session.maxQueuedBytes',
      '--max-queued-bytes',
      'bytes',
      'bytes queued per session',
      '16777216',
    ),
    spec(
      'session.maxSubscriptions',
      '--max-subscriptions',
      'number',
      'subscriptions per session (SUBACK 0x97 beyond)',
      '1000',
    ),
    spec(
      'session.maxTopicLength',
      '--max-topic-length',
      'bytes',
      'longest topic or filter, bytes',
      '1024',
    ),
    spec(
      'session.maxAwaitingRelease',
      '--max-awaiting-release',
      'number',
      'incoming QoS 2 messages waiting for PUBREL per session',
      '1000',
    ),
    spec(
      'session.packetsPerTurn',
      '--packets-per-turn',
      'number',
      'packets of one connection handled before the turn checks its time',
      '64',
    ),
    spec(
      'session.turnTimeMs',
      '--turn-time-ms',
      'milliseconds',
      'how long one connection may run in one event-loop turn (0: packet count only)',
      '1',
    ),
    spec(
      'session.slowClientTimeoutMs',
      '--slow-client-timeout-ms',
      'milliseconds',
      'ms a client may leave its replies unread before it is cut off',
      '60000',
    ),
    spec(
      'session.maxInflight',
      '--max-inflight',
      'number',
      'outgoing QoS 1/2 in flight per client',
      '500',
    ),
    spec(
      'session.receiveMaximum',
      '--receive-maximum',
      'number',
      'incoming QoS 1/2 in flight per client',
      '65535',
    ),
    spec(
      'session.maxKeepAlive',
      '--max-keep-alive',
      'seconds',
      'longest keep-alive allowed, seconds',
      'none',
    ),
    spec(
      'session.maxSessionExpiry',
      '--max-session-expiry',
      'seconds',
      'longest session expiry granted, seconds',
      '4294967295',
    ),
    spec('session.maxTopicLevels', '--max-topic-levels', 'number', 'most levels in a topic', '128'),
    spec(
      'session.connectTimeoutMs',
      '--connect-timeout-ms',
      'milliseconds',
      'time allowed for CONNECT, ms',
      '20000',
    ),
    spec(
      'queueBudget',
      '--queue-budget',
      'bytes',
      'bytes all sessions may hold queued or in flight; past it QoS 1/2 PUBLISH get 0x97',
      '1073741824',
    ),
    spec(
      'writeHighWaterMark',
      '--write-high-water-mark',
      'bytes',
      'unsent bytes above which a client counts as not reading',
      '65536',
    ),
    spec(
      'shutdownTimeoutMs',
      '--shutdown-timeout-ms',
      'milliseconds',
      'ms a graceful shutdown may take before the process exits anyway',
      '10000',
    ),
  ]),
  ...group('features', [
    spec(
      'session.topicAliasMaximum',
      '--topic-alias-maximum',
      'number',
      'topic aliases a client may use',
      '64',
    ),
    spec(
      'session.outboundTopicAliases',
      '--outbound-topic-aliases',
      'boolean',
      'assign topic aliases to clients',
      'true',
    ),
    spec('session.maximumQoS', '--maximum-qos', 'number', 'highest QoS supported (0, 1 or 2)', '2'),
    spec(
      'session.retainAvailable',
      '--retain-available',
      'boolean',
      'retained messages supported',
      'true',
    ),
    spec(
      'session.wildcardSubscriptionAvailable',
      '--wildcard-subscription-available',
      'boolean',
      'wildcard subscriptions supported',
      'true',
    ),
    spec(
      'session.subscriptionIdentifiersAvailable',
      '--subscription-identifiers-available',
      'boolean',
      'subscription identifiers supported',
      'true',
    ),
    spec(
      'session.sharedSubscriptionAvailable',
      '--shared-subscription-available',
      'boolean',
      'shared subscriptions supported',
      'true',
    ),
    spec(
      'session.defaultSessionExpiry',
      '--default-session-expiry',
      'seconds',
      'session expiry when a v5 client gives none, s',
      '0',
    ),
    spec(
      'session.refuseSysPublish',
      '--refuse-sys-publish',
      'boolean',
      'refuse client PUBLISH to $SYS/ topics (0x87)',
      'true',
    ),
    spec(
      'session.acceptMqtt31',
      '--accept-mqtt31',
      'boolean',
      'accept MQTT 3.1 (MQIsdp) clients',
      'true',
    ),
  ]),
  ...group('observability', [
    spec(
      'metricsPort',
      '--metrics-port',
      'port',
      'HTTP port of /metrics (Prometheus) and /healthz',
      '9464',
    ),
    spec(
      'adminToken',
      '--admin-token',
      'string',
      'switches on the admin API under /admin/ for this bearer token (prefer the env variable)',
      'none: off',
    ),
    spec(
      'metricsHost',
      '--metrics-host',
      'string',
      'address the metrics endpoint binds to (it lists client ids)',
      '127.0.0.1',
    ),
    spec(
      'logLevel',
      '--log-level',
      'string',
      'log level: fatal, error, warn, info, debug, trace, silent',
      'info',
    ),
    choice(
      'logFormat',
      '--log-format',
      ['auto', 'json', 'pretty'],
      'log lines as JSON or as text; auto: text on a terminal',
      'auto',
    ),
    spec(
      'sysInterval',
      '--sys-interval',
      'seconds',
      'seconds between $SYS/broker updates (0 = off)',
      '10',
    ),
  ]),
];

type UngroupedSpec = Omit<OptionSpec, 'group'>;

/** The options of one section of `--help`. */
function group(name: OptionGroup, specs: readonly UngroupedSpec[]): OptionSpec[] {
  return specs.map((option) => ({ ...option, group: name }));
}

/** One option, its flag written out: a name that reads well, not a case conversion of the key. */
function spec(
  key: string,
  flag: string,
  type: OptionType,
  description: string,
  defaultText: string,
): UngroupedSpec {
  return { key, flag, type, description, defaultText };
}

function choice(
  key: string,
  flag: string,
  choices: readonly string[],
  description: string,
  defaultText: string,
): UngroupedSpec {
  return { key, flag, type: 'choice', description, defaultText, choices };
}

/** The environment variable of an option: `--ws-port` is `MQTT_SESSIONS_WS_PORT`. */
export function envName(option: OptionSpec): string {
  return `MQTT_SESSIONS_${option.flag.slice(2).replace(/-/g, '_').toUpperCase()}`;
}

/**
 * The listeners the `mqtt-sessions` command opens unless told otherwise, besides MQTT on 1883:
 * WebSocket on 8083, metrics on 9464, and with a certificate secure WebSocket on 8084. The API
 * opens only the listeners it is given.
 */
export function commandLineListeners(
  options: Partial<BrokerOptions>,
): Pick<BrokerOptions, 'wsPort' | 'metricsPort' | 'wssPort'> {
  return {
    wsPort: options.wsPort ?? 8083,
    metricsPort: options.metricsPort ?? 9464,
    wssPort: options.wssPort ?? (options.tls === undefined ? false : 8084),
  };
}

/**
 * Fills in every default: MQTT over TCP on 1883, TLS on 8883 with a certificate, the other
 * listeners off unless given.
 */
export function resolveBrokerOptions(options: Partial<BrokerOptions> = {}): BrokerOptions {
  const tls = options.tls;
  const withRedis = options.redisUrl !== undefined || options.redisCluster !== undefined;
  const store = options.store ?? (withRedis ? 'redis' : 'sqlite');
  return {
    host: options.host ?? '0.0.0.0',
    port: options.port ?? 1883,
    wsPort: options.wsPort ?? false,
    wsPath: options.wsPath ?? '/mqtt',
    tlsPort: tls === undefined ? false : (options.tlsPort ?? 8883),
    wssPort: tls === undefined ? false : (options.wssPort ?? false),
    tls,
    tlsFiles: options.tlsFiles,
    tlsRequireClientCert: options.tlsRequireClientCert ?? tls?.ca !== undefined,
    tlsIdentityAsUsername: options.tlsIdentityAsUsername ?? false,
    tlsMinVersion: options.tlsMinVersion ?? 'TLSv1.2',
    tlsCiphers: options.tlsCiphers,
    metricsPort: options.metricsPort ?? false,
    metricsHost: options.metricsHost ?? '127.0.0.1',
    adminToken: options.adminToken,
    store,
    retainStore: options.retainStore ?? store,
    dataDir: options.dataDir ?? './data',
    durability: options.durability ?? 'normal',
    redisUrl: options.redisUrl,
    redisCluster: options.redisCluster,
    redisPrefix: options.redisPrefix ?? 'mqtt-sessions:',
    redisTimeoutMs: options.redisTimeoutMs ?? 5000,
    nodeId: options.nodeId ?? hostname(),
    cluster: options.cluster ?? (options.workers ?? 1) > 1,
    workers: options.workers ?? 1,
    clusterLeaseMs: options.clusterLeaseMs ?? 10_000,
    onClusterLeaseLost: options.onClusterLeaseLost,
    maxRetainedBytes: options.maxRetainedBytes,
    maxRetainedMessages: options.maxRetainedMessages,
    usersFile: options.usersFile,
    aclFile: options.aclFile,
    allowAnonymous: options.allowAnonymous,
    logLevel: options.logLevel ?? 'info',
    logFormat: options.logFormat ?? 'auto',
    sysInterval: options.sysInterval ?? 10,
    // The broker keeps $SYS/ for its own figures (section 4.7.2) unless told otherwise.
    session: { refuseSysPublish: true, sysPublishAllowed: [SYS_TOP_REQUEST], ...options.session },
    queueBudget: options.queueBudget,
    writeHighWaterMark: options.writeHighWaterMark,
    shutdownTimeoutMs: options.shutdownTimeoutMs ?? 10_000,
    runtime: options.runtime,
    logger: options.logger,
    timers: options.timers,
  };
}
