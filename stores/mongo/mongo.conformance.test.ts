import { runConformance } from '../../conformance/jest';
import { describeBackend } from '../../test/support/backends';
import { conformanceOf } from '../../test/support/own-stores';
import { atRestConformanceOf } from '../../shared/fixtures/at-rest';
import * as mongo from './fixtures/factory';

describeBackend('mongo', 'MongoStore', () => {
  runConformance(conformanceOf(mongo));
  runConformance(atRestConformanceOf(mongo.atRest));
});
