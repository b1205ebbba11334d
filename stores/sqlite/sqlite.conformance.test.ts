import { runConformance } from '../../conformance/jest';
import { describeBackend } from '../../test/support/backends';
import { conformanceOf } from '../../test/support/own-stores';
import * as sqlite from './fixtures/factory';

describeBackend('sqlite', 'SqliteStore', () => {
  runConformance(conformanceOf(sqlite));
  runConformance(conformanceOf(sqlite.atRest));
});
