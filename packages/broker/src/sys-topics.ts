import type { PoolSet } from '@mqtt-sessions/pool';
import type { Logger } from 'pino';
import { type BrokerStats, collectStats, topSessions } from './stats.js';

/** Where a cluster adds up its brokers' figures; see `ClusterNode.shareFigures`. */
export interface ClusterFigures {
  shareFigures(
    figures: Readonly<Record<string, number>>,
  ): Promise<Record<string, number> | undefined>;
}

/** The figures that a cluster's totals add up over its brokers. */
const ADDS_UP = new Set([
  'clients/total',
  'clients/connected',
  'clients/connects',
  'clients/connect-rate',
  'clients/refused',
  'packets/received',
  'packets/sent',
  'bytes/received',
  'bytes/sent',
  'messages/received',
  'messages/sent',
  'messages/dropped',
  'subscriptions/count',
]);

/** Publishing anything here makes the broker publish the top sessions once. */
export const SYS_TOP_REQUEST = '$SYS/broker/top/request';

/**
 * Publishes the broker's figures under `$SYS/broker/...` every `intervalSeconds`, retained so a
 * new subscriber sees the latest at once, and answers requests for the top sessions.
 */
export class SysTopics {
  private timer: NodeJS.Timeout | undefined = undefined;
  private lastConnects = 0;
  private lastAt = Date.now();
  private readonly pools: PoolSet;
  private readonly startedAt: number;
  private readonly logger: Logger;
  private unsubscribe: (() => boolean) | undefined = undefined;
  /** Where the figures go: `$SYS/broker/`, or a node's own place when brokers share retained messages. */
  readonly prefix: string;
  private readonly cluster: ClusterFigures | undefined;

  /**
   * @param nodeId Set when the retained messages live in a store other brokers share (Redis):
   *   the figures then go under `$SYS/broker/nodes/<nodeId>/`, so brokers do not overwrite
   *   each other's.
   * @param cluster In a cluster: where the figures are added up; the totals go under
   *   `$SYS/broker/cluster/`, published by one node.
   */
  constructor(
    pools: PoolSet,
    startedAt: number,
    logger: Logger,
    nodeId?: string,
    cluster?: ClusterFigures,
  ) {
    this.cluster = cluster;
    this.pools = pools;
    this.startedAt = startedAt;
    this.logger = logger;
    this.prefix = nodeId === undefined ? '$SYS/broker/' : `$SYS/broker/nodes/${nodeId}/`;
  }

  /**
   * Answers top-session requests, and publishes the figures every `intervalSeconds` (0: never),
   * the first time at once.
   */
  async start(intervalSeconds: number): Promise<void> {
    const pool = this.pools.defaultPool;
    const subscribed = await pool.serverSubscribe(SYS_TOP_REQUEST, () => this.publishTop(), {
      retained: false,
    });
    if (subscribed.ok) this.unsubscribe = subscribed.subscription.unsubscribe;
    if (intervalSeconds <= 0) return;
    await this.publishStats();
    this.timer = setInterval(() => {
      this.publishStats().catch((error: unknown) =>
        this.logger.error({ err: error }, '$SYS update failed'),
      );
    }, intervalSeconds * 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.unsubscribe?.();
  }

  /** Publishes one round of figures. */
  async publishStats(): Promise<BrokerStats> {
    const stats = await collectStats(this.pools, this.startedAt);
    const now = Date.now();
    const seconds = Math.max(1, (now - this.lastAt) / 1000);
    const connectRate = (stats.connects - this.lastConnects) / seconds;
    this.lastConnects = stats.connects;
    this.lastAt = now;
    const values: [string, string | number][] = [
      ['version', stats.version],
      ['uptime', stats.uptimeSeconds],
      ['clients/total', stats.sessions],
      ['clients/connected', stats.connected],
      ['clients/connects', stats.connects],
      ['clients/connect-rate', Number(connectRate.toFixed(2))],
      ['clients/refused', stats.refusedConnects],
      ['packets/received', stats.packetsReceived],
      ['packets/sent', stats.packetsSent],
      ['bytes/received', stats.bytesReceived],
      ['bytes/sent', stats.bytesSent],
      ['messages/received', stats.messagesReceived],
      ['messages/sent', stats.messagesSent],
      ['messages/dropped', stats.messagesDropped],
      ['subscriptions/count', stats.subscriptions],
      ['retained/count', stats.retainedCount],
      ['retained/bytes', stats.retainedBytes],
    ];
    const pool = this.pools.defaultPool;
    for (const [name, value] of values) {
      await pool.serverPublish(`${this.prefix}${name}`, String(value), { retain: true });
    }
    if (this.cluster !== undefined) {
      // Figures that add up across brokers; the retained ones are shared already.
      const own: Record<string, number> = {};
      for (const [name, value] of values) {
        if (typeof value === 'number' && ADDS_UP.has(name)) own[name] = value;
      }
      const totals = await this.cluster.shareFigures(own);
      for (const [name, value] of Object.entries(totals ?? {})) {
        await pool.serverPublish(`$SYS/broker/cluster/${name}`, String(value), { retain: true });
      }
    }
    return stats;
  }

  private publishTop(): void {
    const all = this.pools.allPools();
    const pool = this.pools.defaultPool;
    const publish = (name: string, by: 'queued' | 'packets') =>
      pool.serverPublish(`$SYS/broker/top/${name}`, topSessions(all, by), {
        properties: { contentType: 'application/json' },
      });
    Promise.all([publish('queues', 'queued'), publish('packets', 'packets')]).catch(
      (error: unknown) => this.logger.error({ err: error }, 'publishing top sessions failed'),
    );
  }
}
