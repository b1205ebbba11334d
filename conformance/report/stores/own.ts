export { writeRawRecord as writeRaw } from '../../../test/support/raw-record';
import type { StoreFactoryOptions } from '../../types';

/** The options every store of this package shares, taken from the suite's. */
export function baseOptions(options: StoreFactoryOptions) {
  return {
    ...(options.now !== undefined && { now: options.now }),
    ...(options.ttl !== undefined && { ttl: options.ttl }),
    ...(options.touchAfter !== undefined && { touchAfter: options.touchAfter }),
    ...(options.disableTouch !== undefined && { disableTouch: options.disableTouch }),
  };
}

/** Loads one of this package's stores, or explains why it cannot (its source is not there yet). */
export function loadOwn<T>(load: () => T): { module: T; reason?: undefined } | { module?: undefined; reason: string } {
  try {
    return { module: load() };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND') return { reason: 'not built yet' };
    return { reason: `does not load: ${(error as Error).message.split('\n')[0]}` };
  }
}
