import type { Store } from 'express-session';
import { MongoClient } from 'mongodb';
import type { StoreFactoryOptions, StoreSupport } from '../../conformance/types';
import { makeStore } from '../../stores/mongo/fixtures/conformance-factory';
import { dropTestDatabase } from '../../stores/mongo/fixtures/servers';
import { backendUrl, publishBackend } from '../../test/support/backends';
import { MONGO_URL, onMongoServer, portAnswers } from './support';

export { writeRawRecord as writeRaw } from '../../test/support/own-stores';

export const name = `session-stores MongoStore${onMongoServer()}`;
export const clock = 'real';
export const supports: StoreSupport = { namespaces: true, ttl: true, ttlFunction: true, touchAfter: true, disableTouch: true };

let created = false;

export async function unavailable(): Promise<string | undefined> {
  if (MONGO_URL === undefined) return 'MONGO_URL is unset, nothing answers on 27017, and no throwaway Mongo server could be started';
  return (await portAnswers(MONGO_URL, 27017)) ? undefined : `no MongoDB server answers at ${MONGO_URL}`;
}

export async function createStore(options: StoreFactoryOptions): Promise<Store> {
  if (MONGO_URL === undefined) throw new Error('MONGO_URL is unset');
  // The fixture reads the server the test setup found; here it is the one MONGO_URL names.
  if (backendUrl('mongo') === undefined) publishBackend('mongo', MONGO_URL);
  created = true;
  return makeStore(options);
}

export async function teardown(): Promise<void> {
  if (MONGO_URL === undefined || !created) return;
  const client = new MongoClient(MONGO_URL);
  try {
    // The database is this run's own (stores/mongo/fixtures/servers.ts).
    await dropTestDatabase(client);
    created = false;
  } finally {
    await client.close();
  }
}
