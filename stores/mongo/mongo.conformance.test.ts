import { runConformance } from '../../conformance/jest';
import { describeBackend } from '../../test/support/backends';
import { conformanceOf } from '../../test/support/own-stores';
import * as mongo from './fixtures/factory';

describeBackend('mongo', 'MongoStore', () => {
  runConformance(conformanceOf(mongo));
  runConformance(conformanceOf(mongo.atRest));
});
