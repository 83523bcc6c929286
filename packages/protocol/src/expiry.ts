const MS_PER_SECOND = 1000;

/**
 * The deadline (ms since the epoch) of a message whose Message Expiry Interval is `seconds`,
 * counted from `now`; undefined when it has no interval. A message is expired from its deadline
 * on, so an interval of 0 is expired at once. A value that is not a usable number of seconds
 * (negative, not finite) counts as absent.
 */
export function expiresAt(seconds: number | undefined, now: number): number | undefined {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) return undefined;
  return now + seconds * MS_PER_SECOND;
}

/**
 * The Message Expiry Interval to send with a message that expires at `deadline`: the seconds left,
 * rounded up, and at least 1, so that a message still sent never says 0 [MQTT-3.3.2-6].
 */
export function secondsLeft(deadline: number, now: number): number {
  return Math.max(1, Math.ceil((deadline - now) / MS_PER_SECOND));
}

/** True when a message with this deadline has expired at `now`. */
export function isExpired(deadline: number | undefined, now: number): boolean {
  return deadline !== undefined && deadline <= now;
}
