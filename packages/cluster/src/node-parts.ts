import type { Pool } from '@mqtt-sessions/pool';
import type { ClusterKeys } from './keys.js';
import type { NodeRelay } from './node-relay.js';
import type { ClusterCommands, RedisClient } from './redis.js';

/** A pool that has joined the cluster through this node, with what the node keeps for it. */
export interface JoinedPool {
  readonly pool: Pool<unknown>;
  /** Other nodes' relays in this pool's router, by node id. */
  readonly relays: Map<string, NodeRelay>;
  /** Local route counts: route member -> subscriptions of this pool's own subscribers. */
  readonly counts: Map<string, number>;
  /** Client ids whose connection's Will this node keeps in Redis (no session store keeps it). */
  readonly wills: Set<string>;
}

/** What the parts of a cluster node share: who it is, where Redis is, and its pools. */
export interface NodeParts {
  readonly nodeId: string;
  readonly keys: ClusterKeys;
  readonly client: RedisClient & ClusterCommands;
  /** The joined pools, by name. */
  readonly pools: ReadonlyMap<string, JoinedPool>;
  onError(error: unknown): void;
}

/** Entries read from a stream at a time. */
export const READ_COUNT = 500;
/** How long a blocking read waits before it looks again whether the node is closing, in ms. */
export const BLOCK_MS = 1000;

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** The fields of a stream entry, as text (none for an entry deleted since it was read). */
export function fieldsOf(fields: Buffer[] | null): Record<string, string> {
  const out: Record<string, string> = {};
  if (fields === null) return out;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    out[(fields[i] as Buffer).toString()] = (fields[i + 1] as Buffer).toString();
  }
  return out;
}
