/**
 * The Redis store's cursor: the last topic of the page it ends. Topics come in byte order, so the
 * next page starts strictly after it, whatever was set or deleted in between. It holds no server
 * state, may be used more than once, and works with any store on the same key prefix.
 */
export class RedisRetainCursor {
  readonly keyPrefix: string;
  readonly filter: string;
  readonly after: string;

  constructor(keyPrefix: string, filter: string, after: string) {
    this.keyPrefix = keyPrefix;
    this.filter = filter;
    this.after = after;
  }
}

/**
 * The topic a cursor passed to `match` points after, or `undefined` for the first page.
 *
 * @throws TypeError on a cursor of another kind, key prefix or filter (a programmer error).
 */
export function cursorPosition(
  cursor: unknown,
  keyPrefix: string,
  filter: string,
): string | undefined {
  if (cursor === undefined || cursor === null) return undefined;
  if (!(cursor instanceof RedisRetainCursor) || cursor.keyPrefix !== keyPrefix) {
    throw new TypeError('retain cursor was not made by a Redis store on this key prefix');
  }
  if (cursor.filter !== filter) {
    throw new TypeError('retain cursor belongs to a match with another filter');
  }
  return cursor.after;
}
