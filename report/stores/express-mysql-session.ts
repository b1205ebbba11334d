import session, { type Store } from 'express-session';
import { createPool, type Pool } from 'mysql2/promise';
import type { StoreFactoryOptions, StoreSupport } from '../../conformance/types';
import { MYSQL_URL, packageTitle, portAnswers, runAll, safeName } from './support';

export const name = packageTitle('express-mysql-session');
export const clock = 'real';
/** A namespace is a table (`schema.tableName`); `expiration` is the ttl in ms; no `touchAfter`. */
export const supports: StoreSupport = { namespaces: true, ttl: true, ttlFunction: false, disableTouch: true };

interface ExpressMySqlSessionStore extends Store {
  onReady(): Promise<void>;
  close(): Promise<void>;
  options: { schema: { tableName: string } };
}
type ExpressMySqlSessionClass = new (options: Record<string, unknown>) => ExpressMySqlSessionStore;
const MySQLStore = (require('express-mysql-session') as (s: typeof session) => ExpressMySqlSessionClass)(session);

let admin: Pool | undefined;
const tables = new Set<string>();

export async function unavailable(): Promise<string | undefined> {
  return (await portAnswers(MYSQL_URL, 3306)) ? undefined : `no MySQL or MariaDB server answers at ${MYSQL_URL}`;
}

export async function createStore(options: StoreFactoryOptions): Promise<Store> {
  const tableName = safeName(options.namespace, 'ems');
  tables.add(tableName);
  const url = new URL(MYSQL_URL);
  // Its README's setup: connection options, from which it opens a pool that close() ends.
  const store = new MySQLStore({
    host: url.hostname,
    port: Number(url.port || 3306),
    user: decodeURIComponent(url.username),
    ...(url.password && { password: decodeURIComponent(url.password) }),
    database: url.pathname.slice(1),
    clearExpired: false,
    schema: { tableName },
    ...(typeof options.ttl === 'number' && { expiration: options.ttl }),
    ...(options.disableTouch !== undefined && { disableTouch: options.disableTouch }),
  });
  await store.onReady();
  return store;
}

/** Its sessions are JSON text in `data`, `expires` in seconds. */
export async function writeRaw(store: Store, sid: string, text: string): Promise<void> {
  admin ??= createPool({ uri: MYSQL_URL, connectionLimit: 2 });
  const table = (store as ExpressMySqlSessionStore).options.schema.tableName;
  await admin.query('INSERT INTO ?? (session_id, expires, data) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE expires = VALUES(expires), data = VALUES(data)', [
    table,
    sid,
    Math.round(Date.now() / 1000) + 3600,
    text,
  ]);
}

export async function teardown(): Promise<void> {
  const owned = admin ?? createPool({ uri: MYSQL_URL, connectionLimit: 1 });
  admin = undefined;
  await runAll([
    async () => {
      for (const table of tables) await owned.query('DROP TABLE IF EXISTS ??', [table]);
      tables.clear();
    },
    () => owned.end(),
  ]);
}
