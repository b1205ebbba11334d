import connectPgSimple from 'connect-pg-simple';
import session, { type Store } from 'express-session';
import { Pool } from 'pg';
import type { StoreFactoryOptions, StoreSupport } from '../../conformance/types';
import { POSTGRES_URL, packageTitle, portAnswers, runAll, safeName, toSeconds } from './support';

export const name = packageTitle('connect-pg-simple');
export const clock = 'real';
/**
 * A namespace is a schema holding the README's default `session` table (its table.sql names the
 * primary key and index after `session`, so two tables in one schema collide); `ttl` is in seconds.
 */
export const supports: StoreSupport = { namespaces: true, ttl: true, ttlFunction: false, disableTouch: true };

const PGStore = connectPgSimple(session);
let pool: Pool | undefined;
const schemas = new Set<string>();

export async function unavailable(): Promise<string | undefined> {
  return (await portAnswers(POSTGRES_URL, 5432)) ? undefined : `no PostgreSQL server answers at ${POSTGRES_URL}`;
}

export async function createStore(options: StoreFactoryOptions): Promise<Store> {
  const schemaName = safeName(options.namespace, 'conformance');
  pool ??= new Pool({ connectionString: POSTGRES_URL, max: 2 });
  if (!schemas.has(schemaName)) {
    await pool.query(`CREATE SCHEMA IF NOT EXISTS "${schemaName}"`);
    schemas.add(schemaName);
  }
  // Its documented conString: the store opens its own pool and ends it in close(), so what the
  // store holds after close() is the store's alone.
  return new PGStore({
    conString: POSTGRES_URL,
    schemaName,
    createTableIfMissing: true,
    ...(typeof options.ttl === 'number' && { ttl: toSeconds(options.ttl) }),
    ...(options.disableTouch !== undefined && { disableTouch: options.disableTouch }),
  });
}

export async function teardown(): Promise<void> {
  const owned = pool;
  pool = undefined;
  await runAll([
    async () => {
      for (const schema of schemas) await owned?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      schemas.clear();
    },
    () => owned?.end(),
  ]);
}

