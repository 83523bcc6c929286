import { Cluster, Redis, type RedisOptions } from 'ioredis';
import * as scripts from './scripts.js';

/** A Redis server or a Redis Cluster, as ioredis connects to them. */
export type RedisClient = Redis | Cluster;

/** Where a cluster node finds Redis. */
export type RedisTarget =
  | { readonly url: string; readonly redisOptions?: RedisOptions }
  | {
      readonly cluster: readonly (string | { host: string; port: number })[];
      readonly redisOptions?: RedisOptions;
    };

/** The scripts of `scripts.ts` as commands of a client (ioredis sends EVALSHA, then EVAL). */
export interface ClusterCommands {
  heartbeat(nodes: string, node: string, leaseMs: number): Promise<[number, string[], string[]]>;
  rejoin(
    keys: [string, string, string],
    node: string,
    leaseMs: number,
    ...members: string[]
  ): Promise<number>;
  announce(routes: string, log: string, node: string, ...opsAndMembers: string[]): Promise<number>;
  reap(
    keys: [string, string, string, string, string, string, string],
    node: string,
  ): Promise<number>;
  leave(nodes: string, routes: string, log: string, node: string): Promise<number>;
  claim(
    keys: [string, string, string],
    node: string,
    member: string,
    reaping: string,
  ): Promise<string>;
  holder(owner: string, nodes: string): Promise<string>;
  release(owner: string, owned: string, node: string, member: string): Promise<number>;
  renew(lock: string, node: string, ms: number): Promise<number>;
  unlock(lock: string, node: string): Promise<number>;
}

const COMMANDS: Record<keyof ClusterCommands, { keys: number; lua: string }> = {
  heartbeat: { keys: 1, lua: scripts.HEARTBEAT },
  rejoin: { keys: 3, lua: scripts.REJOIN },
  announce: { keys: 2, lua: scripts.ANNOUNCE },
  reap: { keys: 7, lua: scripts.REAP },
  leave: { keys: 3, lua: scripts.LEAVE },
  claim: { keys: 3, lua: scripts.CLAIM },
  holder: { keys: 2, lua: scripts.HOLDER },
  release: { keys: 2, lua: scripts.RELEASE },
  renew: { keys: 1, lua: scripts.RENEW },
  unlock: { keys: 1, lua: scripts.UNLOCK },
};

/** Opens the command client of a node, with the cluster's scripts defined on it. */
export function openClient(target: RedisTarget): RedisClient & ClusterCommands {
  const options: RedisOptions = { enableAutoPipelining: true, ...target.redisOptions };
  const client =
    'url' in target
      ? new Redis(target.url, options)
      : new Cluster([...target.cluster], { redisOptions: options, enableAutoPipelining: true });
  for (const [name, { keys, lua }] of Object.entries(COMMANDS)) {
    client.defineCommand(name, { numberOfKeys: keys, lua });
  }
  return client as RedisClient & ClusterCommands;
}

/**
 * A second connection for blocking reads (XREAD and XREADGROUP with BLOCK), which would hold up
 * every other command on a shared one.
 */
export function openReader(client: RedisClient): RedisClient {
  const reader = client.duplicate();
  return reader;
}

/** A stream reply with bulk strings as Buffers: `[[key, [[id, [field, value, ...]], ...]], ...]`. */
export type StreamReply = [Buffer, [Buffer, Buffer[] | null][]][] | null;

/** The Buffer-reply forms of XREAD and XREADGROUP, which ioredis's types leave out. */
export interface BufferStreams {
  xreadBuffer(...args: (string | number)[]): Promise<StreamReply>;
  xreadgroupBuffer(...args: (string | number)[]): Promise<StreamReply>;
  xrangeBuffer(...args: (string | number)[]): Promise<[Buffer, Buffer[] | null][]>;
  hgetallBuffer(key: string): Promise<Record<string, Buffer>>;
}
