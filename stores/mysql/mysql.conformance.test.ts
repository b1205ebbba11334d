import { runConformance } from '../../conformance/jest';
import { describeBackend } from '../../test/support/backends';
import { conformanceOf } from '../../test/support/own-stores';
import * as mysql from './fixtures/factory';

describeBackend('mysql', 'MySqlStore', () => {
  runConformance(conformanceOf(mysql));
  runConformance(conformanceOf(mysql.atRest));
});
