import type { Store } from 'express-session';
import { MongoClient } from 'mongodb';
import type { StoreFactoryOptions, StoreSupport } from '../../conformance/types';
import { collectionFor, makeStore } from '../../stores/mongo/fixtures/conformance-factory';
import { dropCollections } from '../../stores/mongo/fixtures/servers';
import { backendUrl, publishBackend } from '../../test/support/backends';
import { MONGO_URL, onMongoServer, portAnswers } from './support';

export { writeRawRecord as writeRaw } from '../../test/support/own-stores';

export const name = `session-stores MongoStore${onMongoServer()}`;
export const clock = 'real';
export const supports: StoreSupport = { namespaces: true, ttl: true, ttlFunction: true, touchAfter: true, disableTouch: true };

const collections = new Set<string>();

export async function unavailable(): Promise<string | undefined> {
  if (MONGO_URL === undefined) return 'MONGO_URL is unset, nothing answers on 27017, and no throwaway Mongo server could be started';
  return (await portAnswers(MONGO_URL, 27017)) ? undefined : `no MongoDB server answers at ${MONGO_URL}`;
}

export async function createStore(options: StoreFactoryOptions): Promise<Store> {
  if (MONGO_URL === undefined) throw new Error('MONGO_URL is unset');
  // The fixture reads the server the test setup found; here it is the one MONGO_URL names.
  if (backendUrl('mongo') === undefined) publishBackend('mongo', MONGO_URL);
  collections.add(collectionFor(options.namespace));
  return makeStore(options);
}

export async function teardown(): Promise<void> {
  if (MONGO_URL === undefined || collections.size === 0) return;
  const client = new MongoClient(MONGO_URL);
  try {
    await dropCollections(client, collections);
    collections.clear();
  } finally {
    await client.close();
  }
}
