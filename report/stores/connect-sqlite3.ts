import connectSqlite3 from 'connect-sqlite3';
import session, { type Store } from 'express-session';
import sqlite3 from 'sqlite3';
import type { StoreFactoryOptions, StoreSupport } from '../../conformance/types';
import { TempDir, packageTitle, runAll, safeName, withDeadline } from './support';

export const name = packageTitle('connect-sqlite3');
export const clock = 'real';
/** `table` isolates namespaces in one database; no `ttl` (it reads `cookie.maxAge`), `touchAfter` or `disableTouch`. */
export const supports: StoreSupport = { namespaces: true };

const SQLiteStore = connectSqlite3(session);
const dir = new TempDir('connect-sqlite3');
let database: Promise<sqlite3.Database> | undefined;

export async function unavailable(): Promise<string | undefined> {
  return undefined;
}

function openDatabase(): Promise<sqlite3.Database> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(dir.file('sessions.db'), (error) => (error ? reject(error) : resolve(db)));
  });
}

export async function createStore(options: StoreFactoryOptions): Promise<Store> {
  // The README's form for an app that manages its connection: one sqlite3 Database handed to every store.
  database ??= openDatabase();
  const store = new SQLiteStore({ db: (await database) as never, table: safeName(options.namespace, 'sessions') });
  // The table is created asynchronously; an app starts serving after that, so the suite starts then too.
  await withDeadline(new Promise((resolve) => store.client.once('connect', resolve)), 5000, 'creating the table');
  return store;
}

/** Its sessions are JSON text in its table, beside an expiry in epoch ms. */
export function writeRaw(store: Store, sid: string, text: string): Promise<void> {
  const { db, table } = store as InstanceType<typeof SQLiteStore>;
  return new Promise((resolve, reject) =>
    db.run(`INSERT OR REPLACE INTO ${table} VALUES (?, ?, ?)`, [sid, Date.now() + 3_600_000, text], (error) => (error ? reject(error) : resolve())),
  );
}

export async function teardown(): Promise<void> {
  const owned = database;
  database = undefined;
  await runAll([
    async () => {
      const db = await owned;
      // A connection a crashed callback left wedged never closes; the process exits after the run anyway.
      await withDeadline(new Promise<void>((resolve, reject) => (db ? db.close((error) => (error ? reject(error) : resolve())) : resolve())), 3000, 'closing the database');
    },
    () => dir.remove(),
  ]);
}
