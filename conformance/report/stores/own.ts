export { writeRawRecord as writeRaw, baseOptionsOf as baseOptions } from '../../../test/support/own-stores';

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
