import type { Store } from 'express-session';
import type { MongoClient } from 'mongodb';
import type { StoreFactoryOptions, StoreSupport } from '../../types';
import { baseOptions, loadOwn } from './own';
import { MONGO_URL, portAnswers, runAll, safeName } from './support';

export { writeRaw } from './own';

export const name = 'session-stores MongoStore';
export const clock = 'real';
export const supports: StoreSupport = { namespaces: true, ttl: true, touchAfter: true, disableTouch: true };

const load = () => loadOwn(() => require('../../../stores/mongo') as typeof import('../../../stores/mongo'));
let client: MongoClient | undefined;
const collections = new Set<string>();

export async function unavailable(): Promise<string | undefined> {
  const { reason } = load();
  if (reason) return reason;
  if (MONGO_URL === undefined) return 'MONGO_URL is unset (no MongoDB server can be installed on this machine)';
  return (await portAnswers(MONGO_URL, 27017)) ? undefined : `no MongoDB server answers at ${MONGO_URL}`;
}

export async function createStore(options: StoreFactoryOptions): Promise<Store> {
  const { module, reason } = load();
  if (!module) throw new Error(`session-stores/mongo ${reason}`);
  if (MONGO_URL === undefined) throw new Error('MONGO_URL is unset');
  const { MongoClient: Client } = require('mongodb') as typeof import('mongodb');
  client ??= new Client(MONGO_URL);
  const collectionName = safeName(options.namespace, 'sessions');
  collections.add(collectionName);
  return new module.MongoStore({ client, collectionName, ...baseOptions(options) });
}

export async function teardown(): Promise<void> {
  const owned = client;
  client = undefined;
  if (!owned) return;
  await runAll([
    async () => {
      for (const name of collections) await owned.db().collection(name).drop().catch(() => undefined);
      collections.clear();
    },
    () => owned.close(),
  ]);
}
