import type { StoreFactoryOptions } from '../../../conformance/types';
import { SqliteStore } from '..';

/** A SqliteStore factory in a module of its own, for the conformance cases that load it in a child process. */
export function createStore(options: StoreFactoryOptions): SqliteStore {
  return new SqliteStore({
    filename: ':memory:',
    tableName: options.namespace === undefined ? 'sessions' : `sessions_${options.namespace}`,
    now: options.now,
    ttl: options.ttl,
    touchAfter: options.touchAfter,
    disableTouch: options.disableTouch,
  });
}
