import type { Pool } from 'mysql2/promise';
import { runConformance } from '../../conformance/jest';
import { describeBackend } from '../../test/support/backends';
import { CONFORMANCE_URL_VARIABLE, createScratchDatabase, mysqlConformance } from './fixtures/factory';

describeBackend('mysql', 'MySqlStore conformance', (url) => {
  let database: { url: string; pool: Pool; drop: () => Promise<void> };

  beforeAll(async () => {
    database = await createScratchDatabase(url, 'conformance');
    process.env[CONFORMANCE_URL_VARIABLE] = database.url;
  });

  afterAll(async () => {
    await database?.drop();
  });

  runConformance(mysqlConformance('mysql', () => database.pool));
});
