import { Router, type Subscriber } from '@mqtt-sessions/router';
import { decodeForwarded, packBatch, unpackBatch } from './codec.js';
import { BLOCK_MS, type JoinedPool, type NodeParts, READ_COUNT, sleep } from './node-parts.js';
import type { BufferStreams, RedisClient, StreamReply } from './redis.js';

/** The inbox consumer group: one consumer, the node itself. */
const GROUP = 'node';

/**
 * The streams messages travel between nodes through: each node has an inbox, which the others
 * append to ({@link append}) and which it reads through a consumer group ({@link read}); and what
 * a dead node's inbox still holds, routed to the sessions taken from it ({@link drain}).
 */
export class Inbox {
  /** Messages received from other nodes. */
  received = 0;
  /** Of those, the ones that found no subscriber here (it left while they travelled). */
  unrouted = 0;
  private readonly parts: NodeParts;
  /** A connection of its own: a blocking read would hold up every other command. */
  private readonly reader: RedisClient;

  constructor(parts: NodeParts, reader: RedisClient) {
    this.parts = parts;
    this.reader = reader;
  }

  /** Appends encoded messages to `node`'s inbox, as one entry. */
  async append(node: string, messages: readonly Buffer[]): Promise<void> {
    const { client, keys } = this.parts;
    await client.xadd(keys.inbox(node), '*', 'm', packBatch(messages));
  }

  /** Makes this node's inbox and its consumer group, unless they are there. */
  async create(): Promise<void> {
    await this.reader
      // From the start: what is in it was never routed (a routed entry is deleted).
      .xgroup('CREATE', this.parts.keys.inbox(this.parts.nodeId), GROUP, '0', 'MKSTREAM')
      .catch((error: unknown) => {
        if (!String(error).includes('BUSYGROUP')) throw error;
      });
  }

  /**
   * Reads this node's inbox until `closed()`: first what an earlier life of this node id read and
   * did not acknowledge, then new entries. A batch is acknowledged (and deleted) once its messages
   * are routed here and what persistent sessions recorded of them is stored.
   */
  async read(closed: () => boolean): Promise<void> {
    const { client, keys, nodeId, pools } = this.parts;
    const key = keys.inbox(nodeId);
    let from = '0';
    while (!closed()) {
      try {
        const reply = (await (this.reader as unknown as BufferStreams).xreadgroupBuffer(
          'GROUP',
          GROUP,
          nodeId,
          'COUNT',
          READ_COUNT,
          'BLOCK',
          BLOCK_MS,
          'STREAMS',
          key,
          from,
        )) as StreamReply;
        const entries = reply?.[0]?.[1] ?? [];
        if (from === '0' && entries.length === 0) from = '>';
        if (entries.length === 0) continue;
        const ids: string[] = [];
        for (const [id, fields] of entries) {
          ids.push(id.toString());
          // A pending entry deleted meanwhile comes back without fields: nothing to route.
          const value = fields?.[1];
          if (value !== undefined) this.deliverBatch(value);
        }
        // Every local subscriber has them (a big fan-out goes in slices), and what persistent
        // sessions recorded of them is stored.
        await Promise.all([...pools.values()].map((joined) => joined.pool.router.drained()));
        await Promise.all([...pools.values()].map((joined) => joined.pool.flushStore()));
        // Acknowledged and deleted together: an entry left behind would be routed again.
        await client
          .multi()
          .xack(key, GROUP, ...ids)
          .xdel(key, ...ids)
          .exec();
      } catch (error) {
        if (closed()) return;
        if (String(error).includes('NOGROUP')) {
          // The inbox was deleted (by a node that took this one for dead): start it again.
          await this.create().catch(() => undefined);
        } else {
          this.parts.onError(error);
          await sleep(BLOCK_MS);
        }
        from = '0'; // read again what was not acknowledged
      }
    }
  }

  /**
   * Routes what a dead node's inbox holds to the sessions taken from it, and to no one else: the
   * other subscribers had their own copies sent to their own nodes.
   */
  async drain(
    node: string,
    adopted: ReadonlyMap<JoinedPool, readonly Subscriber[]>,
  ): Promise<void> {
    const routers = new Map<string, Router>();
    for (const [joined, sessions] of adopted) {
      const router = new Router();
      for (const session of sessions) {
        for (const { filter, options } of joined.pool.router.subscriptionsOf(session)) {
          router.subscribe(session, filter, options);
        }
      }
      routers.set(joined.pool.name, router);
    }
    const { client, keys } = this.parts;
    const key = keys.inbox(node);
    for (;;) {
      const entries = await (client as unknown as BufferStreams).xrangeBuffer(
        key,
        '-',
        '+',
        'COUNT',
        READ_COUNT,
      );
      if (entries.length === 0) return;
      const ids: string[] = [];
      for (const [id, fields] of entries) {
        ids.push(id.toString());
        const value = fields?.[1];
        if (value !== undefined) this.deliverBatch(value, routers);
      }
      await Promise.all([...routers.values()].map((router) => router.drained()));
      await Promise.all([...adopted.keys()].map((joined) => joined.pool.flushStore()));
      await client.xdel(key, ...ids);
    }
  }

  /** Routes the messages of a stream entry, in order. */
  private deliverBatch(batch: Buffer, routers?: ReadonlyMap<string, Router>): void {
    let messages: Buffer[];
    try {
      messages = unpackBatch(batch);
    } catch (error) {
      this.parts.onError(error);
      return;
    }
    for (const message of messages) this.deliver(message, routers);
  }

  /** Routes a forwarded message in its pool, or with `routers` (by pool name) when given. */
  private deliver(bytes: Buffer, routers?: ReadonlyMap<string, Router>): void {
    let forwarded: ReturnType<typeof decodeForwarded>;
    try {
      forwarded = decodeForwarded(bytes);
    } catch (error) {
      this.parts.onError(error);
      return;
    }
    this.received++;
    const router =
      routers === undefined
        ? this.parts.pools.get(forwarded.pool)?.pool.router
        : routers.get(forwarded.pool);
    if (router === undefined) {
      this.unrouted++;
      return;
    }
    if (forwarded.shared !== undefined) {
      if (!router.routeShared(forwarded.shared, forwarded.message)) this.unrouted++;
      return;
    }
    const result = router.publish(forwarded.message, undefined);
    if (!result.ok || result.deliveries === 0) this.unrouted++;
  }
}
