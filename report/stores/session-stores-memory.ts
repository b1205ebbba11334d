import type { Store } from 'express-session';
import type { StoreFactoryOptions, StoreSupport } from '../../types';
import { baseOptions, loadOwn } from './own';

export { writeRaw } from './own';

export const name = 'session-stores MemoryStore';
export const clock = 'real';
/** Every instance is its own namespace. */
export const supports: StoreSupport = { namespaces: true, ttl: true, touchAfter: true, disableTouch: true };

const load = () => loadOwn(() => require('../../../stores/memory') as typeof import('../../../stores/memory'));

export async function unavailable(): Promise<string | undefined> {
  return load().reason;
}

export async function createStore(options: StoreFactoryOptions): Promise<Store> {
  const { module, reason } = load();
  if (!module) throw new Error(`session-stores/memory ${reason}`);
  return new module.MemoryStore(baseOptions(options));
}

export async function teardown(): Promise<void> {}
