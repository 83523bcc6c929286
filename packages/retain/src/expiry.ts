import { expiresAt, type MessageProperties } from '@mqtt-sessions/protocol';

/**
 * The time (ms since epoch) at which a retained message expires, or `undefined` when it never
 * does: its Message Expiry Interval counted from `storedAt`, else the store's default lifetime,
 * else none. A message is expired from its deadline on, so an interval of 0 is expired at once.
 *
 * @param properties The PUBLISH properties; only `messageExpiryInterval` (seconds) is read.
 * @param storedAt The store-clock time of the set, in ms since the epoch.
 * @param defaultExpirySeconds The lifetime in seconds of a message without an interval; default none.
 */
export function expiryDeadline(
  properties: MessageProperties | undefined,
  storedAt: number,
  defaultExpirySeconds?: number,
): number | undefined {
  return (
    expiresAt(properties?.messageExpiryInterval, storedAt) ??
    expiresAt(defaultExpirySeconds, storedAt)
  );
}
