import type { Store } from 'express-session';
import { describeError } from './describe-error';
import type { StoreMethod } from './types';

export const STORE_METHODS: readonly StoreMethod[] = ['all', 'ids', 'length', 'clear', 'touch', 'close', 'prune'];

export function methodsOf(store: Store): Set<StoreMethod> {
  const record = store as unknown as Record<string, unknown>;
  return new Set(STORE_METHODS.filter((method) => typeof record[method] === 'function'));
}

export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function';
}

/**
 * Closes a store however its close() works: a returned promise, a callback, or synchronously.
 * Rejects when the store has no close().
 */
export async function closeStore(store: Store): Promise<void> {
  const close = (store as unknown as { close?: (...args: unknown[]) => unknown }).close;
  if (typeof close !== 'function') throw new Error('the store has no close() method');
  let done: (error?: unknown) => void = () => undefined;
  const viaCallback = new Promise<void>((resolve, reject) => (done = (error) => (error ? reject(error) : resolve())));
  const returned = close.call(store, (error: unknown) => done(error));
  if (isThenable(returned)) {
    await returned;
    return;
  }
  if (close.length >= 1) await viaCallback;
}

/** Calls a store method in callback form and settles with the first callback; a synchronous throw rejects. */
export function callMaybeCallback<T = unknown>(store: Store, method: string, ...args: unknown[]): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const fn = (store as unknown as Record<string, unknown>)[method];
    if (typeof fn !== 'function') {
      reject(new Error(`the store has no ${method}() method`));
      return;
    }
    try {
      fn.call(store, ...args, (error: unknown, result: T) => (error ? reject(error) : resolve(result)));
    } catch (error) {
      reject(new SyncThrow(method, error));
    }
  });
}

export class SyncThrow extends Error {
  constructor(method: string, readonly thrown: unknown) {
    super(`${method}() threw synchronously instead of calling back: ${describeError(thrown)}`);
    this.name = 'SyncThrow';
  }
}
