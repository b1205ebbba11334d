import type { Store } from 'express-session';
import type { Pool } from 'mysql2/promise';
import type { StoreFactoryOptions } from '../../conformance/types';
import { CONFORMANCE_URL_VARIABLE, createScratchDatabase, createStore as createMySqlStore, mysqlConformance } from '../../stores/mysql/fixtures/factory';
import { MYSQL_URL, portAnswers } from './support';

export const name = 'session-stores MySqlStore';
export const clock = 'real';

/** The database this process created; a child process of the suite inherits it through the environment and leaves it alone. */
let scratch: { url: string; pool: Pool; drop: () => Promise<void> } | undefined;
const config = mysqlConformance(name, () => {
  if (!scratch) throw new Error('writeRaw before createStore');
  return scratch.pool;
});

export const supports = config.supports!;
export const writeRaw = config.writeRaw!;

export async function unavailable(): Promise<string | undefined> {
  return (await portAnswers(MYSQL_URL, 3306)) ? undefined : `no MySQL or MariaDB server answers at ${MYSQL_URL}`;
}

export async function createStore(options: StoreFactoryOptions): Promise<Store> {
  if (process.env[CONFORMANCE_URL_VARIABLE] === undefined) {
    scratch = await createScratchDatabase(MYSQL_URL, 'report');
    process.env[CONFORMANCE_URL_VARIABLE] = scratch.url;
  }
  return createMySqlStore(options);
}

export async function teardown(): Promise<void> {
  const owned = scratch;
  scratch = undefined;
  await owned?.drop();
}
