import { randomBytes } from 'node:crypto';
import type { MongoClient } from 'mongodb';

/** The database every real-server test of this store works in; each test uses collections of its own. */
export const TEST_DB = 'session_stores_test';

/** A collection name no other test run uses. */
export function uniqueCollection(label: string): string {
  return `${label}_${randomBytes(4).toString('hex')}`;
}

/**
 * Drops the collections a test created, ignoring ones that never came to exist; with
 * `withDerived`, also those named `<name>_…` (made from a namespace the test handed on).
 */
export async function dropCollections(client: MongoClient, names: Iterable<string>, withDerived = false): Promise<void> {
  const db = client.db(TEST_DB);
  const wanted = new Set(names);
  if (withDerived && wanted.size > 0) {
    const existing = await db.listCollections({}, { nameOnly: true }).toArray();
    for (const { name } of existing) {
      if ([...wanted].some((prefix) => name.startsWith(`${prefix}_`))) wanted.add(name);
    }
  }
  for (const name of wanted) await db.dropCollection(name).catch(() => undefined);
}
