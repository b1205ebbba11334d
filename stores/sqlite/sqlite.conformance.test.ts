import { runConformance } from '../../conformance/jest';
import { describeBackend } from '../../test/support/backends';
import { conformanceOf } from '../../test/support/own-stores';
import { atRestConformanceOf } from '../../shared/fixtures/at-rest';
import * as sqlite from './fixtures/factory';

describeBackend('sqlite', 'SqliteStore', () => {
  runConformance(conformanceOf(sqlite));
  runConformance(atRestConformanceOf(sqlite.atRest));
});
