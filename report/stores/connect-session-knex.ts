import { ConnectSessionKnexStore } from 'connect-session-knex';
import type { Store } from 'express-session';
import knex, { type Knex } from 'knex';
import type { StoreFactoryOptions, StoreSupport } from '../../conformance/types';
import { TempDir, packageTitle, runAll, safeName } from './support';

export const name = packageTitle('connect-session-knex');
export const clock = 'real';
/** `tableName` isolates namespaces; no `ttl` (it reads `cookie.maxAge`), `touchAfter` or `disableTouch`. */
export const supports: StoreSupport = { namespaces: true };

const dir = new TempDir('connect-session-knex');
let database: Knex | undefined;

export async function unavailable(): Promise<string | undefined> {
  return undefined;
}

export async function createStore(options: StoreFactoryOptions): Promise<Store> {
  // The README leads with its default: knex on sqlite3, one database file.
  database ??= knex({ client: 'sqlite3', connection: { filename: dir.file('connect-session-knex.sqlite') }, useNullAsDefault: true });
  const store = new ConnectSessionKnexStore({ knex: database, tableName: safeName(options.namespace, 'sessions') });
  // The table is created asynchronously; an app starts serving after that, so the suite starts then too.
  await (store as unknown as { ready: Promise<void> }).ready;
  return store;
}

/** Its sessions are JSON text in its table, beside an ISO expiry. */
export async function writeRaw(store: Store, sid: string, text: string): Promise<void> {
  const { knex: db, tableName } = (store as ConnectSessionKnexStore).options as { knex: Knex; tableName: string };
  await db(tableName)
    .insert({ sid, sess: text, expired: new Date(Date.now() + 3_600_000).toISOString() })
    .onConflict('sid')
    .merge();
}

export async function teardown(): Promise<void> {
  const owned = database;
  database = undefined;
  await runAll([() => owned?.destroy(), () => dir.remove()]);
}
