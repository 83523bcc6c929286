import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PoolSet } from '@mqtt-sessions/pool';
import type { Registry } from 'prom-client';
import type { AdminApi } from './admin-http.js';
import { topSessions } from './stats.js';

/**
 * What `/healthz` answers: `ok` (HTTP 200), or `unavailable` (HTTP 503) while a store the broker
 * needs cannot be reached, with the state of each Redis connection.
 */
export interface BrokerHealth {
  readonly status: 'ok' | 'unavailable';
  readonly redis?: readonly string[];
  /** In a cluster: this broker's node id, and how many other brokers it routes to. */
  readonly cluster?: { readonly nodeId: string; readonly peers: number };
}

/**
 * Serves `/metrics` (Prometheus text), `/healthz` and `/top?by=queued|packets` (JSON).
 * `registry` is asked for on the first scrape, so that a broker nobody scrapes never loads
 * prom-client.
 */
export function startMetricsServer(
  registry: () => Promise<Registry>,
  pools: PoolSet,
  host: string,
  port: number,
  health: () => BrokerHealth = () => ({ status: 'ok' }),
  admin?: AdminApi,
): Promise<{ server: Server; port: () => number }> {
  const server = createServer((request, response) => {
    handle(request, response, registry, pools, health, admin).catch((error: unknown) => {
      response.writeHead(500, { 'content-type': 'text/plain' });
      response.end(`${(error as Error).message}\n`);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      resolve({ server, port: () => (server.address() as AddressInfo).port });
    });
  });
}

async function handle(
  request: IncomingMessage,
  response: ServerResponse,
  registry: () => Promise<Registry>,
  pools: PoolSet,
  health: () => BrokerHealth,
  admin: AdminApi | undefined,
) {
  const url = new URL(request.url ?? '/', 'http://localhost');
  if (admin !== undefined && url.pathname.startsWith('/admin/')) {
    await admin.handle(request, response, url);
    return;
  }
  if (url.pathname === '/metrics') {
    const metrics = await registry();
    const body = await metrics.metrics();
    response.writeHead(200, { 'content-type': metrics.contentType });
    response.end(body);
    return;
  }
  if (url.pathname === '/healthz') {
    const state = health();
    response.writeHead(state.status === 'ok' ? 200 : 503, { 'content-type': 'application/json' });
    response.end(JSON.stringify(state));
    return;
  }
  if (url.pathname === '/top') {
    const by = url.searchParams.get('by') === 'packets' ? 'packets' : 'queued';
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify(topSessions(pools.allPools(), by)));
    return;
  }
  response.writeHead(404, { 'content-type': 'text/plain' });
  response.end('not found\n');
}
