import path from 'node:path';
import { describeFaultScenario } from '../../test/support/fault-scenario';
import { mariaDbServersProblem } from '../../test/support/mariadb-servers';

const problem = mariaDbServersProblem();
describeFaultScenario('MySqlStore', path.join(__dirname, 'fixtures', 'faults-scenario.ts'), problem === undefined ? undefined : `no throwaway MariaDB (${problem})`);
