import { Pool } from 'pg';
import { runConformance } from '../../conformance/jest';
import { describeBackend } from '../../test/support/backends';
import { createScratchSchema } from '../../test/support/postgres-servers';
import { CONFORMANCE_SCHEMA_VARIABLE, CONFORMANCE_URL_VARIABLE, postgresConformance } from './fixtures/conformance';

describeBackend('postgres', 'PostgresStore conformance', (url) => {
  const admin = new Pool({ connectionString: url, max: 2 });
  let schema: { name: string; drop: () => Promise<void> };

  beforeAll(async () => {
    schema = await createScratchSchema(admin, 'conformance');
    process.env[CONFORMANCE_URL_VARIABLE] = url;
    process.env[CONFORMANCE_SCHEMA_VARIABLE] = schema.name;
  });

  afterAll(async () => {
    await schema?.drop();
    await admin.end();
  });

  runConformance(postgresConformance('postgres', () => admin));
});
