import { CASE_DEADLINE_MS, CaseSchedule, breaksRun, describeResult, frameworkOf, selectCases, skipReason } from './core';
import { FRAMEWORKS } from './cases/http-frameworks';
import { RealClock } from './clocks';
import { ConformanceRun } from './conformance-run';
import { isThenable, methodsOf } from './store-calls';
import type { CaseGroup, CaseResult, ConformanceCase, ConformanceConfig, StoreMethod } from './types';

/** What an adapter maps onto its test runner. */
export interface TestApi {
  describe(name: string, body: () => void): void;
  /** Registers a test; `skip` marks it skipped at run time where the runner can, else it notes the skip. */
  test(name: string, body: (skip: (reason: string) => void) => Promise<void>, timeoutMs: number): void;
  /** Registers a test that is reported as skipped without running. */
  skipped(name: string): void;
  beforeAll(body: () => Promise<void>, timeoutMs: number): void;
  afterAll(body: () => Promise<void>, timeoutMs: number): void;
}

/** Room for the case itself plus releasing the stores it made. */
const TEST_TIMEOUT_MS = CASE_DEADLINE_MS + 20_000;

const GROUP_TITLES: Record<CaseGroup, string> = {
  basics: 'basics',
  expiry: 'expiry',
  touch: 'touch',
  bulk: 'bulk methods',
  namespaces: 'namespaces',
  ids: 'session ids',
  callbacks: 'callbacks and promises',
  lifecycle: 'lifecycle',
  users: 'sessions per user',
  // One section per framework, each 'through <its session middleware>' (sectionsOf).
  http: 'http',
  errors: 'errors',
};

/** The cases by group, in the order of GROUP_TITLES; the HTTP ones by framework, each its own section. */
function sectionsOf(selected: readonly ConformanceCase[]): Array<{ title: string; inGroup: ConformanceCase[] }> {
  const sections = (Object.keys(GROUP_TITLES) as CaseGroup[]).flatMap((group) => {
    const inGroup = selected.filter((c) => c.group === group);
    if (group !== 'http') return [{ title: GROUP_TITLES[group], inGroup }];
    return Object.values(FRAMEWORKS).map((framework) => ({
      title: `through ${framework.label}`,
      inGroup: inGroup.filter((c) => frameworkOf(c) === framework.name),
    }));
  });
  return sections.filter((section) => section.inGroup.length > 0);
}

export function titleOf(c: ConformanceCase): string {
  return `${c.id}: ${c.rule}${c.level === 'recommended' ? ' [recommended]' : ''}`;
}

/**
 * The store's optional methods when they can be known while tests are registered: from the
 * config, or from a store the factory makes synchronously (released before the first case).
 */
function methodsAtRegistration(run: ConformanceRun, api: TestApi): Set<StoreMethod> | undefined {
  const { config } = run;
  if (config.methods) return new Set(config.methods);
  let made: ReturnType<ConformanceConfig['makeStore']>;
  try {
    made = config.makeStore(run.factoryOptions(new RealClock(), {}));
  } catch {
    return undefined;
  }
  if (isThenable(made)) {
    api.beforeAll(async () => {
      const store = await made;
      run.useMethods(methodsOf(store));
      await run.dispose(store);
    }, TEST_TIMEOUT_MS);
    return undefined;
  }
  const methods = methodsOf(made);
  run.useMethods(methods);
  api.beforeAll(() => run.dispose(made as Exclude<typeof made, Promise<unknown>>), TEST_TIMEOUT_MS);
  return methods;
}

/** Registers every selected case as a test of the runner behind `api`, grouped by case group. */
export function registerConformance(config: ConformanceConfig, api: TestApi): void {
  const run = new ConformanceRun(config);
  const results: CaseResult[] = [];
  api.describe(`${config.name} conformance`, () => {
    const methods = methodsAtRegistration(run, api);
    const selected = selectCases(config);
    const runnable = selected.filter((c) => !skipReason(c, config, methods));
    const schedule = new CaseSchedule(run, runnable);
    for (const { title, inGroup } of sectionsOf(selected)) {
      api.describe(title, () => {
        for (const c of inGroup) {
          const reason = skipReason(c, config, methods);
          if (reason) {
            api.skipped(`${titleOf(c)} (skipped: ${reason})`);
            continue;
          }
          api.test(
            titleOf(c),
            async (skip) => {
              const result = await schedule.result(c);
              results.push(result);
              if (breaksRun(result)) throw new Error(describeResult(result));
              if (result.status === 'skip') skip(result.reason ?? 'skipped');
              else if (result.status !== 'pass') console.warn(`[conformance ${config.name}] ${describeResult(result)}`);
            },
            TEST_TIMEOUT_MS,
          );
        }
      });
    }
    api.afterAll(() => run.finish(), TEST_TIMEOUT_MS);
  });
}
