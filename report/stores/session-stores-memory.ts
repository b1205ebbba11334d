import type { StoreSupport } from '../../conformance/types';

export { createStore } from '../../conformance/fixtures/memory-factory';
export { writeRawRecord as writeRaw } from '../../test/support/own-stores';

export const name = 'session-stores MemoryStore';
export const clock = 'real';
/** Every instance is its own namespace. */
export const supports: StoreSupport = { namespaces: true, ttl: true, ttlFunction: true, touchAfter: true, disableTouch: true };

export async function unavailable(): Promise<string | undefined> {
  return undefined;
}

export async function teardown(): Promise<void> {}
