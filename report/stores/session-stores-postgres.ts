import type { Store } from 'express-session';
import type { Pool } from 'pg';
import type { StoreFactoryOptions, StoreSupport } from '../../types';
import { baseOptions, loadOwn } from './own';
import { POSTGRES_URL, portAnswers, runAll, safeName } from './support';

export { writeRaw } from './own';

export const name = 'session-stores PostgresStore';
export const clock = 'real';
export const supports: StoreSupport = { namespaces: true, ttl: true, touchAfter: true, disableTouch: true };

const load = () => loadOwn(() => require('../../../stores/postgres') as typeof import('../../../stores/postgres'));
let pool: Pool | undefined;
const tables = new Set<string>();

export async function unavailable(): Promise<string | undefined> {
  return load().reason ?? ((await portAnswers(POSTGRES_URL, 5432)) ? undefined : `no PostgreSQL server answers at ${POSTGRES_URL}`);
}

export async function createStore(options: StoreFactoryOptions): Promise<Store> {
  const { module, reason } = load();
  if (!module) throw new Error(`session-stores/postgres ${reason}`);
  const { Pool: PgPool } = require('pg') as typeof import('pg');
  pool ??= new PgPool({ connectionString: POSTGRES_URL, max: 2 });
  const tableName = safeName(options.namespace, 'conformance');
  tables.add(tableName);
  // A pool of the store's own, ended by its close(), so what it holds after close() is its alone.
  return new module.PostgresStore({ connectionString: POSTGRES_URL, tableName, ...baseOptions(options) });
}

export async function teardown(): Promise<void> {
  const owned = pool;
  pool = undefined;
  if (!owned) return;
  await runAll([
    async () => {
      for (const table of tables) await owned.query(`DROP TABLE IF EXISTS "${table}"`);
      tables.clear();
    },
    () => owned.end(),
  ]);
}
