import type { StoreSupport } from '../../conformance/types';

export { createStore } from '../../stores/sqlite/fixtures/conformance-factory';
export { writeRawRecord as writeRaw } from '../../test/support/own-stores';

export const name = 'session-stores SqliteStore';
export const clock = 'real';
/** Each store opens an in-memory database of its own and closes it itself. */
export const supports: StoreSupport = { namespaces: true, ttl: true, ttlFunction: true, touchAfter: true, disableTouch: true };

export async function unavailable(): Promise<string | undefined> {
  return undefined;
}

export async function teardown(): Promise<void> {}
