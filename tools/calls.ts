import type { Store } from 'express-session';

/**
 * Calls a method of any express-session store, whether it answers by callback, by promise or both;
 * the first answer wins, and a synchronous throw rejects.
 */
export function callStore<T = unknown>(store: Store, method: string, ...args: unknown[]): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const fn = (store as unknown as Record<string, unknown>)[method];
    if (typeof fn !== 'function') {
      reject(new TypeError(`the store has no ${method}() method`));
      return;
    }
    let settled = false;
    const once = (error: unknown, value?: unknown) => {
      if (settled) return;
      settled = true;
      if (error) reject(error);
      else resolve(value as T);
    };
    try {
      const returned: unknown = fn.call(store, ...args, once);
      if (returned !== null && typeof returned === 'object' && typeof (returned as PromiseLike<unknown>).then === 'function') {
        (returned as PromiseLike<unknown>).then(
          (value) => once(null, value),
          (error: unknown) => once(error ?? new Error(`${method}() rejected without a reason`)),
        );
      }
    } catch (error) {
      once(error ?? new Error(`${method}() threw without a reason`));
    }
  });
}

export function hasMethod(store: Store, method: string): boolean {
  return typeof (store as unknown as Record<string, unknown>)[method] === 'function';
}
