import { runConformance } from '../../conformance/jest';
import { conformanceOf } from '../../test/support/own-stores';
import { atRestConformanceOf } from '../../shared/fixtures/at-rest';
import * as memory from './fixtures/factory';

runConformance(conformanceOf(memory));
runConformance(atRestConformanceOf(memory.atRest));
