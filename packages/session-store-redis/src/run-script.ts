import type { Cluster, Redis } from 'ioredis';
import type { LuaScript } from './scripts.js';

/** A Redis server or a Redis Cluster, as ioredis connects to them. */
export type RedisClient = Redis | Cluster;

type ScriptArg = string | Buffer | number;

/**
 * The Buffer-reply forms of EVALSHA and EVAL. ioredis makes a `<command>Buffer` method for every
 * command, but its type declarations leave these two out.
 */
interface BufferScripting {
  evalshaBuffer(sha: string, numkeys: number, ...args: ScriptArg[]): Promise<unknown>;
  evalBuffer(source: string, numkeys: number, ...args: ScriptArg[]): Promise<unknown>;
}

/**
 * Runs a script by its SHA-1 and, the first time a server has not seen it (or after a
 * `SCRIPT FLUSH`, a restart or a failover), by its source, which also caches it there. On a
 * Cluster, ioredis sends it to the node of the first key's slot, and every key must be in that
 * slot. Replies come back with Buffers for bulk strings so binary payloads survive.
 */
export async function runScript(
  client: RedisClient,
  script: LuaScript,
  keys: readonly string[],
  args: readonly ScriptArg[],
): Promise<unknown> {
  const tail: ScriptArg[] = [];
  for (let i = 0; i < keys.length; i++) tail.push(keys[i] as string);
  for (let i = 0; i < args.length; i++) tail.push(args[i] as ScriptArg);
  const scripting = client as unknown as BufferScripting;
  // The named methods, not call(): with ioredis's enableAutoPipelining, call() sends the SHA-1
  // as the command name.
  try {
    return await scripting.evalshaBuffer(script.sha, keys.length, ...tail);
  } catch (error) {
    if (!isNoScript(error)) throw error;
    return scripting.evalBuffer(script.source, keys.length, ...tail);
  }
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}
