import session, { type SessionData, type Store } from 'express-session';
import createMemoryStore from 'memorystore';
import type { StoreFactoryOptions, StoreSupport } from '../../conformance/types';
import { packageTitle } from './support';

export const name = packageTitle('memorystore');
export const clock = 'real';
/** In-process: every instance is its own namespace; `ttl` in ms (it overrides the cookie); no `touchAfter` or `disableTouch`. */
export const supports: StoreSupport = { namespaces: true, ttl: true, ttlFunction: true };

const MemoryStore = createMemoryStore(session);
const stores = new Set<InstanceType<typeof MemoryStore>>();

export async function unavailable(): Promise<string | undefined> {
  return undefined;
}

export async function createStore(options: StoreFactoryOptions): Promise<Store> {
  // The README's setup: a prune period so expired entries are removed.
  const { ttl } = options;
  const store = new MemoryStore({
    checkPeriod: 86_400_000,
    ...(ttl !== undefined && { ttl: typeof ttl === 'number' ? ttl : (_options: unknown, sess: SessionData, sid: string) => ttl(sess, sid) }),
  });
  stores.add(store);
  return store;
}

/** Its sessions are JSON text in an lru-cache, `store`. */
export function writeRaw(store: Store, sid: string, text: string): void {
  (store as unknown as { store: { set(key: string, value: string): void } }).store.set(sid, text);
}

export async function teardown(): Promise<void> {
  for (const store of stores) store.stopInterval();
  stores.clear();
}
