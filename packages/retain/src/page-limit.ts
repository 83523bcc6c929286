import { DEFAULT_RETAIN_PAGE_LIMIT } from './contract.js';

/**
 * The page size for a `match` call: the given limit, or {@link DEFAULT_RETAIN_PAGE_LIMIT} when
 * absent.
 *
 * @param limit The caller's limit: absent, or a positive integer.
 * @throws RangeError when the limit is not a positive integer (a programmer error).
 */
export function resolvePageLimit(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_RETAIN_PAGE_LIMIT;
  if (!Number.isInteger(limit) || limit < 1) {
    throw new RangeError(`retain page limit must be a positive integer, got ${String(limit)}`);
  }
  return limit;
}
