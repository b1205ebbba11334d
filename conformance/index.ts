import { registerConformance, type TestApi } from './register';
import type { ConformanceConfig } from './types';

export { cases } from './cases';
export { CASE_DEADLINE_MS, breaksRun, describeResult, runCase, runCases, selectCases, skipReason } from './core';
export type { RunCasesOptions } from './core';
export { FakeClock, RealClock } from './clocks';
export { ConformanceRun } from './conformance-run';
export { STORE_METHODS } from './store-calls';
export { registerConformance, titleOf } from './register';
export type { TestApi } from './register';
export type * from './types';

/**
 * Registers the conformance cases as tests of the runner that `test` maps: one test per case,
 * grouped by what they check. The entries `session-stores/conformance/jest`, `/vitest` and
 * `/node-test` pass their runner's API themselves.
 */
export function runConformance(config: ConformanceConfig & { test: TestApi }): void {
  const { test, ...rest } = config;
  registerConformance(rest, test);
}
