import { types } from 'node:util';

/** Whether `value` is an Error from any realm (a test runner's sandbox has an Error of its own). */
export function isError(value: unknown): value is Error {
  return value instanceof Error || types.isNativeError(value);
}

export function describeError(error: unknown): string {
  if (isError(error)) {
    return (error as { code?: unknown }).code === 'ERR_ASSERTION' ? error.message : `${error.name}: ${error.message}`;
  }
  return String(error);
}
