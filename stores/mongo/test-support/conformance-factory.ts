import type { StoreFactoryOptions } from '../../../conformance/types';
import { backendUrl } from '../../../test/support/backends';
import { MongoStore } from '..';
import { TEST_DB } from './servers';

/** The collection of a conformance namespace; stores given the same namespace share it. */
export function collectionFor(namespace: string | undefined): string {
  return namespace === undefined ? 'sessions_conformance' : `sessions_${namespace}`;
}

/**
 * The conformance factory, also loaded by the suite's child-process cases: each store opens its
 * own client from the URL the test setup found, so close() must release every handle.
 */
export function makeStore(options: StoreFactoryOptions): MongoStore {
  const url = backendUrl('mongo');
  if (url === undefined) throw new Error('no mongo backend: run through jest.config.ts with a server found');
  return new MongoStore({
    url,
    dbName: TEST_DB,
    collectionName: collectionFor(options.namespace),
    now: options.now,
    ttl: options.ttl,
    touchAfter: options.touchAfter,
    disableTouch: options.disableTouch,
  });
}
