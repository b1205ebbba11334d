/** express-session's callback shape. */
export type Callback<T> = (error: any, result?: T) => void;

/**
 * Hands a promise's outcome to `callback` when one is given, else returns the promise.
 * The callback runs exactly once, always on a later tick and outside the promise chain, so an
 * exception it throws surfaces as the caller's own error and never re-enters the callback.
 */
export function settle<T>(promise: Promise<T>, callback: Callback<T> | undefined): Promise<T> | undefined {
  if (typeof callback !== 'function') return promise;
  promise.then(
    (result) => process.nextTick(callback, null, result),
    (error: unknown) => process.nextTick(callback, error),
  );
  return undefined;
}

export function isPromiseLike<T>(value: unknown): value is PromiseLike<T> {
  return value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function';
}
