/** A value, or a Promise of it: a callback that may answer at once or later. */
export type MaybePromise<T> = T | Promise<T>;

/** True for a Promise or any other thenable. */
export function isPromiseLike<T>(value: MaybePromise<T>): value is Promise<T> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/**
 * Runs `next` on a value that may still be coming: at once for a plain value, so that the
 * synchronous path allocates no Promise, or when the Promise settles.
 */
export function after<T, R>(
  value: MaybePromise<T>,
  next: (value: T) => MaybePromise<R>,
): MaybePromise<R> {
  return isPromiseLike(value) ? Promise.resolve(value).then(next) : next(value);
}
