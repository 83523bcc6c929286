import { createRequire } from 'node:module';
import type { Pool, PoolSet } from '@mqtt-sessions/pool';
import type { DropReason, SessionStats } from '@mqtt-sessions/session';

/** The broker's package version. */
export const VERSION: string = (
  createRequire(import.meta.url)('../package.json') as { version: string }
).version;

/** One reading of the broker's figures, summed over its pools. */
export interface BrokerStats {
  readonly version: string;
  readonly uptimeSeconds: number;
  readonly sessions: number;
  readonly connected: number;
  readonly connects: number;
  readonly refusedConnects: number;
  readonly packetsReceived: number;
  readonly packetsSent: number;
  readonly bytesReceived: number;
  readonly bytesSent: number;
  readonly messagesReceived: number;
  readonly messagesSent: number;
  readonly messagesDropped: number;
  /** Unexpected failures inside sessions and pools, each logged with its client. */
  readonly internalErrors: number;
  /** Connections cut off because their client left its replies unread for too long. */
  readonly slowClientDisconnects: number;
  /** The same drops by reason. */
  readonly droppedByReason: Readonly<Record<DropReason, number>>;
  readonly subscriptions: number;
  readonly retainedCount: number;
  readonly retainedBytes: number;
}

/** Reads the figures of every pool; retained sizes may come from a remote store. */
export async function collectStats(pools: PoolSet, startedAt: number): Promise<BrokerStats> {
  const totals = {
    sessions: 0,
    connected: 0,
    connects: 0,
    refusedConnects: 0,
    packetsReceived: 0,
    packetsSent: 0,
    bytesReceived: 0,
    bytesSent: 0,
    messagesReceived: 0,
    messagesSent: 0,
    messagesDropped: 0,
    internalErrors: 0,
    slowClientDisconnects: 0,
    subscriptions: 0,
    retainedCount: 0,
    retainedBytes: 0,
  };
  const droppedByReason: Record<DropReason, number> = {
    'queue-full': 0,
    'too-large': 0,
    expired: 0,
    'rate-limited': 0,
    overload: 0,
  };
  for (const pool of pools.allPools()) {
    const stats = await pool.stats();
    totals.sessions += stats.sessions;
    totals.connected += stats.connected;
    totals.connects += stats.connects;
    totals.refusedConnects += stats.refusedConnects;
    totals.packetsReceived += stats.packetsReceived;
    totals.packetsSent += stats.packetsSent;
    totals.bytesReceived += stats.bytesReceived;
    totals.bytesSent += stats.bytesSent;
    totals.messagesReceived += stats.publishReceived;
    totals.messagesSent += stats.publishSent;
    totals.messagesDropped += stats.messagesDropped;
    totals.internalErrors += stats.internalErrors;
    totals.slowClientDisconnects += stats.slowClientDisconnects;
    for (const reason of Object.keys(droppedByReason) as DropReason[]) {
      droppedByReason[reason] += stats.droppedByReason[reason];
    }
    totals.subscriptions += stats.subscriptions;
    totals.retainedCount += stats.retainedCount;
    totals.retainedBytes += stats.retainedBytes;
  }
  return {
    version: VERSION,
    uptimeSeconds: Math.floor((Date.now() - startedAt) / 1000),
    ...totals,
    droppedByReason,
  };
}

/** The sessions with the most of something, for "who is hurting the broker" questions. */
export function topSessions(
  pools: readonly Pool[],
  by: 'queued' | 'packets',
  limit = 10,
): SessionStats[] {
  const all = pools.flatMap((pool) => pool.sessionStats());
  const key =
    by === 'queued'
      ? (s: SessionStats) => s.queued + s.inflight
      : (s: SessionStats) => s.packetsReceived + s.packetsSent;
  return all.sort((a, b) => key(b) - key(a)).slice(0, limit);
}
