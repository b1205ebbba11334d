export { cases } from './cases';
export { CASE_DEADLINE_MS, breaksRun, describeResult, runCase, runCases, selectCases, skipReason } from './core';
export type { RunCasesOptions } from './core';
export { ConformanceRun, FakeClock, RealClock, STORE_METHODS } from './context';
export { registerConformance, titleOf } from './register';
export type { TestApi } from './register';
export type * from './types';
