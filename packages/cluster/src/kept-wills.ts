import { expiresAt, forwardedProperties } from '@mqtt-sessions/protocol';
import type { WillMessage } from '@mqtt-sessions/will';
import { decodeWill, encodeWill } from './codec.js';
import { parseRouteMember, routeMember } from './keys.js';
import type { JoinedPool, NodeParts } from './node-parts.js';
import type { BufferStreams } from './redis.js';

/**
 * The Wills of a node's live connections whose sessions no store keeps (Session Expiry 0), kept
 * in a hash per node in Redis, so that the node that does this one's duties publishes them if
 * this process dies. A persistent session's Will needs none of this: its store keeps it.
 */
export class KeptWills {
  private readonly parts: NodeParts;
  private pending = new Map<string, string | undefined>();
  private scheduled = false;
  private written: Promise<void> = Promise.resolve();

  constructor(parts: NodeParts) {
    this.parts = parts;
  }

  /** A connection's Will to keep, or `undefined` when its session ended; written per turn. */
  keep(joined: JoinedPool, clientId: string, will: WillMessage | undefined): void {
    if (will === undefined && !joined.wills.delete(clientId)) return;
    if (will !== undefined) joined.wills.add(clientId);
    this.pending.set(
      routeMember(joined.pool.name, clientId),
      will === undefined ? undefined : encodeWill(will),
    );
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => void this.flush());
  }

  /** Writes what was kept or let go so far, after the writes before. */
  flush(): Promise<void> {
    this.scheduled = false;
    const pending = this.pending;
    if (pending.size === 0) return this.written;
    this.pending = new Map();
    const { client, keys, nodeId } = this.parts;
    const key = keys.wills(nodeId);
    const set: string[] = [];
    const gone: string[] = [];
    for (const [member, will] of pending) {
      if (will === undefined) gone.push(member);
      else set.push(member, will);
    }
    this.written = this.written.then(async () => {
      try {
        if (set.length > 0) await client.hset(key, ...set);
        if (gone.length > 0) await client.hdel(key, ...gone);
      } catch (error) {
        this.parts.onError(error);
      }
    });
    return this.written;
  }

  /**
   * Publishes the Wills `node` kept: that node is gone, and so are their connections and sessions
   * (with expiry 0, the Will Delay ends with the session). Each is removed once published, so a
   * node that takes over after this one publishes the rest, not these again.
   */
  async publishAll(node: string): Promise<void> {
    const { client, keys, pools } = this.parts;
    const key = keys.wills(node);
    const kept = await (client as unknown as BufferStreams).hgetallBuffer(key);
    for (const [member, bytes] of Object.entries(kept)) {
      const { pool, filter: clientId } = parseRouteMember(member);
      const joined = pools.get(pool);
      if (joined === undefined) continue;
      let will: ReturnType<typeof decodeWill>;
      try {
        will = decodeWill(bytes.toString());
      } catch (error) {
        this.parts.onError(error);
        continue;
      }
      await joined.pool.host.publish(
        {
          topic: will.topic,
          payload: will.payload,
          qos: will.qos,
          retain: will.retain,
          properties: forwardedProperties(will.properties),
          propertyBytes: will.propertyBytes,
          expiresAt: expiresAt(will.properties.messageExpiryInterval, Date.now()),
          sender: undefined,
          senderContext: undefined,
          wireCache: undefined,
        },
        clientId,
      );
      await client.hdel(key, member);
    }
  }
}
