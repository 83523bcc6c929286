import type { PoolSet } from '@mqtt-sessions/pool';
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { LoginGuard } from './auth/index.js';
import { type BrokerStats, collectStats } from './stats.js';

/** The Prometheus metrics of a broker, read from the pools at scrape time. */
export function createMetricsRegistry(
  pools: PoolSet,
  startedAt: number,
  loginGuard?: LoginGuard,
): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  let reading: Promise<BrokerStats> | undefined;
  // One scrape reads the pools once, however many metrics it collects.
  const read = () => {
    reading ??= collectStats(pools, startedAt).finally(() => {
      setImmediate(() => {
        reading = undefined;
      });
    });
    return reading;
  };
  const gauge = (name: string, help: string, pick: (s: BrokerStats) => number) =>
    new Gauge({
      name: `mqtt_sessions_${name}`,
      help,
      registers: [registry],
      async collect() {
        this.set(pick(await read()));
      },
    });
  const counter = (name: string, help: string, pick: (s: BrokerStats) => number) =>
    new Counter({
      name: `mqtt_sessions_${name}_total`,
      help,
      registers: [registry],
      async collect() {
        this.reset();
        this.inc(pick(await read()));
      },
    });
  gauge('sessions', 'Sessions, connected or not', (s) => s.sessions);
  gauge('connected_sessions', 'Sessions with a live connection', (s) => s.connected);
  gauge('subscriptions', 'Subscriptions', (s) => s.subscriptions);
  gauge('retained_messages', 'Retained messages', (s) => s.retainedCount);
  gauge('retained_bytes', 'Estimated memory of retained messages', (s) => s.retainedBytes);
  gauge('uptime_seconds', 'Seconds since the broker started', (s) => s.uptimeSeconds);
  counter('connects', 'Accepted CONNECTs', (s) => s.connects);
  counter(
    'internal_errors',
    'Unexpected failures inside sessions (logged)',
    (s) => s.internalErrors,
  );
  counter(
    'slow_client_disconnects',
    'Connections cut off for leaving their replies unread too long',
    (s) => s.slowClientDisconnects,
  );
  if (loginGuard !== undefined) {
    new Counter({
      name: 'mqtt_sessions_login_failures_total',
      help: 'Password checks that failed',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(loginGuard.stats().failures);
      },
    });
    new Counter({
      name: 'mqtt_sessions_login_delays_total',
      help: 'Password checks delayed for the earlier failures of their address',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(loginGuard.stats().delayed);
      },
    });
  }
  counter('refused_connects', 'Refused CONNECTs', (s) => s.refusedConnects);
  counter('packets_received', 'MQTT packets received', (s) => s.packetsReceived);
  counter('packets_sent', 'MQTT packets sent', (s) => s.packetsSent);
  counter('bytes_received', 'Bytes received', (s) => s.bytesReceived);
  counter('bytes_sent', 'Bytes sent', (s) => s.bytesSent);
  counter('messages_received', 'PUBLISH packets received', (s) => s.messagesReceived);
  counter('messages_sent', 'PUBLISH packets sent', (s) => s.messagesSent);
  new Counter({
    name: 'mqtt_sessions_messages_dropped_total',
    help: 'Messages dropped, by reason: queue-full, too-large, expired, rate-limited, overload',
    labelNames: ['reason'],
    registers: [registry],
    async collect() {
      this.reset();
      const stats = await read();
      for (const [reason, count] of Object.entries(stats.droppedByReason)) {
        this.inc({ reason }, count);
      }
    },
  });
  return registry;
}
