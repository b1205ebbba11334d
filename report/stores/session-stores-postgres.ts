import type { Store } from 'express-session';
import { Pool } from 'pg';
import type { StoreFactoryOptions } from '../../conformance/types';
import { CONFORMANCE_SCHEMA_VARIABLE, CONFORMANCE_URL_VARIABLE, createStore as createPostgresStore, postgresConformance } from '../../stores/postgres/fixtures/conformance';
import { createScratchSchema } from '../../test/support/postgres-servers';
import { POSTGRES_URL, portAnswers } from './support';

export const name = 'session-stores PostgresStore';
export const clock = 'real';

let admin: Pool | undefined;
/** The schema this process created; a child process of the suite inherits it through the environment and leaves it alone. */
let scratch: { drop: () => Promise<void> } | undefined;
const adminPool = () => (admin ??= new Pool({ connectionString: POSTGRES_URL, max: 2 }));
const config = postgresConformance(name, adminPool);

export const supports = config.supports!;
export const writeRaw = config.writeRaw!;

export async function unavailable(): Promise<string | undefined> {
  return (await portAnswers(POSTGRES_URL, 5432)) ? undefined : `no PostgreSQL server answers at ${POSTGRES_URL}`;
}

export async function createStore(options: StoreFactoryOptions): Promise<Store> {
  if (process.env[CONFORMANCE_SCHEMA_VARIABLE] === undefined) {
    const schema = await createScratchSchema(adminPool(), 'report');
    scratch = schema;
    process.env[CONFORMANCE_URL_VARIABLE] = POSTGRES_URL;
    process.env[CONFORMANCE_SCHEMA_VARIABLE] = schema.name;
  }
  return createPostgresStore(options);
}

export async function teardown(): Promise<void> {
  const owned = admin;
  admin = undefined;
  if (!owned) return;
  try {
    await scratch?.drop();
  } finally {
    scratch = undefined;
    await owned.end();
  }
}
