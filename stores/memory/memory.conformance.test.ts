import { runConformance } from '../../conformance/jest';
import { conformanceOf } from '../../test/support/own-stores';
import * as memory from './fixtures/factory';

runConformance(conformanceOf(memory));
runConformance(conformanceOf(memory.atRest));
