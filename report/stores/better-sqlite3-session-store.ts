import Database from 'better-sqlite3';
import betterSqlite3SessionStore from 'better-sqlite3-session-store';
import session, { type Store } from 'express-session';
import type { StoreFactoryOptions, StoreSupport } from '../../conformance/types';
import { TempDir, packageTitle, runAll, safeName } from './support';

export const name = packageTitle('better-sqlite3-session-store');
export const clock = 'real';
/**
 * The table name is fixed (`sessions`), so a namespace is a database file of its own; no `ttl`
 * (it reads `cookie.maxAge`), `touchAfter` or `disableTouch`.
 */
export const supports: StoreSupport = { namespaces: true };

const SqliteStore = betterSqlite3SessionStore(session);
const dir = new TempDir('better-sqlite3-session-store');
const databases = new Set<Database.Database>();

export async function unavailable(): Promise<string | undefined> {
  return undefined;
}

export async function createStore(options: StoreFactoryOptions): Promise<Store> {
  // The README's setup: the app opens a better-sqlite3 database and hands it in as `client`.
  const db = new Database(dir.file(`${safeName(options.namespace, 'sessions')}.db`));
  databases.add(db);
  return new SqliteStore({ client: db, expired: { clear: true, intervalMs: 900_000 } });
}

/** Its sessions are JSON text in the `sessions` table, beside an ISO expiry. */
export function writeRaw(store: Store, sid: string, text: string): void {
  const { client } = store as unknown as { client: Database.Database };
  client.prepare('INSERT OR REPLACE INTO sessions VALUES (?, ?, ?)').run(sid, text, new Date(Date.now() + 3_600_000).toISOString());
}

export async function teardown(): Promise<void> {
  await runAll([...[...databases].map((db) => () => db.close()), () => databases.clear(), () => dir.remove()]);
}
