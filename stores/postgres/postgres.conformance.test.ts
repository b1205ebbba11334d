import { runConformance } from '../../conformance/jest';
import { describeBackend } from '../../test/support/backends';
import { conformanceOf } from '../../test/support/own-stores';
import * as postgres from './fixtures/factory';

describeBackend('postgres', 'PostgresStore', () => {
  runConformance(conformanceOf(postgres));
  runConformance(conformanceOf(postgres.atRest));
});
