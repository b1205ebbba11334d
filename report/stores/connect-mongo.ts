import MongoStore from 'connect-mongo';
import type { Store } from 'express-session';
import { MongoClient } from 'mongodb';
import type { StoreFactoryOptions, StoreSupport } from '../../conformance/types';
import { MONGO_URL, backendLacksTtl, onMongoServer, packageTitle, portAnswers, runAll, safeName, toSeconds } from './support';

export const name = `${packageTitle('connect-mongo')}${onMongoServer()}`;
export const clock = 'real';
/** `collectionName` isolates namespaces; `ttl` and `touchAfter` are in seconds; no `disableTouch`. */
export const supports: StoreSupport = { namespaces: true, ttl: true, ttlFunction: false, touchAfter: true };

const collections = new Set<string>();

export async function unavailable(): Promise<string | undefined> {
  if (MONGO_URL === undefined) return 'MONGO_URL is unset, nothing answers on 27017, and no throwaway Mongo server could be started';
  return (await portAnswers(MONGO_URL, 27017)) ? undefined : `no MongoDB server answers at ${MONGO_URL}`;
}

export async function createStore(options: StoreFactoryOptions): Promise<Store> {
  if (MONGO_URL === undefined) throw new Error('MONGO_URL is unset');
  const collectionName = safeName(options.namespace, 'sessions');
  collections.add(collectionName);
  // The README's first setup: a client of its own from mongoUrl, which its close() closes. Expiry by
  // the native TTL index, or where the server has none `autoRemove: 'interval'`, as its README says
  // (create() fails otherwise).
  return MongoStore.create({
    mongoUrl: MONGO_URL,
    collectionName,
    ...(backendLacksTtl() && { autoRemove: 'interval' as const }),
    ...(typeof options.ttl === 'number' && { ttl: toSeconds(options.ttl) }),
    ...(options.touchAfter !== undefined && { touchAfter: options.touchAfter / 1000 }),
  });
}

/** Its sessions are JSON strings in `session`, with a Date in `expires` (the default `stringify: true`). */
export async function writeRaw(store: Store, sid: string, text: string): Promise<void> {
  const collection = await (store as unknown as { collectionP: Promise<import('mongodb').Collection<{ _id: string }>> }).collectionP;
  await collection.updateOne({ _id: sid }, { $set: { session: text, expires: new Date(Date.now() + 3_600_000) } }, { upsert: true });
}

export async function teardown(): Promise<void> {
  if (MONGO_URL === undefined || collections.size === 0) return;
  const client = await MongoClient.connect(MONGO_URL);
  await runAll([
    async () => {
      for (const name of collections) await client.db().collection(name).drop().catch(() => undefined);
      collections.clear();
    },
    () => client.close(),
  ]);
}
