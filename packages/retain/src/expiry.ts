import type { RetainedProperties } from './contract.js';

const MS_PER_SECOND = 1000;

/**
 * The time (ms since epoch) at which a retained message expires, or `undefined` when it never
 * does. A message with no Message Expiry Interval does not expire unless the store was given a
 * default. A message is expired from its deadline on, so an interval of 0 is expired at once.
 *
 * @param properties The PUBLISH properties; only `messageExpiryInterval` (seconds) is read.
 * @param storedAt The store-clock time of the set, in ms since the epoch.
 * @param defaultExpirySeconds The lifetime in seconds of a message without an interval; default none.
 */
export function expiryDeadline(
  properties: RetainedProperties | undefined,
  storedAt: number,
  defaultExpirySeconds?: number,
): number | undefined {
  const interval = properties?.messageExpiryInterval;
  if (isSeconds(interval)) return storedAt + interval * MS_PER_SECOND;
  if (isSeconds(defaultExpirySeconds)) return storedAt + defaultExpirySeconds * MS_PER_SECOND;
  return undefined;
}

/**
 * The Message Expiry Interval to send with a retained message: the seconds left until its deadline,
 * rounded up so that a live message never reports 0 [MQTT-3.3.2-6].
 *
 * @param deadline The expiry time in ms since the epoch; must be later than `now`.
 * @param now The store-clock time in ms since the epoch.
 */
export function remainingExpirySeconds(deadline: number, now: number): number {
  return Math.ceil((deadline - now) / MS_PER_SECOND);
}

/** A usable number of seconds: finite and not negative. Anything else counts as absent. */
function isSeconds(value: number | undefined): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}
