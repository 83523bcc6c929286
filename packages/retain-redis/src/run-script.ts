import type { Cluster, Redis } from 'ioredis';
import type { LuaScript } from './scripts.js';

/**
 * Runs a script by its SHA-1 and, the first time a server has not seen it (or after a
 * `SCRIPT FLUSH` or a failover), by its source, which also caches it there. Replies come back
 * with Buffers for bulk strings so binary payloads survive.
 */
export async function runScript(
  client: Redis | Cluster,
  script: LuaScript,
  keys: readonly string[],
  args: readonly (string | Buffer | number)[],
): Promise<unknown> {
  const tail: (string | Buffer | number)[] = [keys.length];
  for (let i = 0; i < keys.length; i++) tail.push(keys[i] as string);
  for (let i = 0; i < args.length; i++) tail.push(args[i] as string | Buffer | number);
  try {
    return await client.callBuffer('EVALSHA', script.sha, ...tail);
  } catch (error) {
    if (!isNoScript(error)) throw error;
    return client.callBuffer('EVAL', script.source, ...tail);
  }
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}
