import { cases as allCases } from './cases';
import { CaseSkipped, Context, ConformanceRun, SyncThrow, describeError, withDeadline } from './context';
import type { Capability, CaseResult, CaseStatus, ConformanceCase, ConformanceConfig, StoreMethod } from './types';

/** Longest a case may run before it fails; a callback that never comes must not hang the run. */
export const CASE_DEADLINE_MS = 20_000;

const OPTION_CAPABILITIES: Partial<Record<Capability, (config: ConformanceConfig) => string | undefined>> = {
  namespaces: (c) => (c.supports?.namespaces ? undefined : 'the factory does not declare supports.namespaces'),
  ttl: (c) => (c.supports?.ttl ? undefined : 'the factory does not declare supports.ttl'),
  ttlFunction: (c) =>
    c.supports?.ttlFunction ?? c.supports?.ttl ? undefined : 'the factory does not declare supports.ttlFunction',
  touchAfter: (c) => (c.supports?.touchAfter ? undefined : 'the factory does not declare supports.touchAfter'),
  disableTouch: (c) => (c.supports?.disableTouch ? undefined : 'the factory does not declare supports.disableTouch'),
  injectableClock: (c) => (c.clock === 'injectable' ? undefined : "it needs clock: 'injectable' (an exact instant)"),
  writeRaw: (c) => (c.writeRaw ? undefined : 'the config gives no writeRaw hook'),
  factoryModule: (c) => (c.factoryModule ? undefined : 'the config gives no factoryModule'),
};

const isStoreMethod = (need: Capability): need is StoreMethod =>
  ['all', 'ids', 'length', 'clear', 'touch', 'close', 'prune'].includes(need);

/** The cases a config selects: HTTP ones only when `http` is not false, then its `filter`. */
export function selectCases(config: ConformanceConfig, cases: readonly ConformanceCase[] = allCases): ConformanceCase[] {
  return cases.filter((c) => (config.http !== false || c.group !== 'http') && (!config.filter || config.filter(c.id)));
}

/**
 * Why a case cannot run for this config, or undefined. Store methods are judged only when
 * `methods` is given (from config.methods or a probe).
 */
export function skipReason(c: ConformanceCase, config: ConformanceConfig, methods?: ReadonlySet<StoreMethod>): string | undefined {
  for (const need of c.needs) {
    if (isStoreMethod(need)) {
      if (methods && !methods.has(need)) return `the store has no ${need}() method`;
      continue;
    }
    const reason = OPTION_CAPABILITIES[need]?.(config);
    if (reason) return reason;
  }
  return undefined;
}

/** Whether a result should fail the test run: an unexpected failure, or a known failure that now passes. */
export function breaksRun(result: CaseResult): boolean {
  if (result.knownFailure !== undefined) return result.status === 'pass';
  return result.status === 'fail';
}

/** One line saying what happened, for test output and reports. */
export function describeResult(result: CaseResult): string {
  const known = result.knownFailure === undefined ? '' : ` (known failure: ${result.knownFailure})`;
  if (result.knownFailure !== undefined && result.status === 'pass') {
    return `${result.id} passes but is listed in knownFailures (${result.knownFailure}): remove it from the list`;
  }
  return `${result.id}: ${result.status}${result.reason ? ` (${result.reason})` : ''}${known}`;
}

/** Runs one case to a result; never throws. */
export async function runCase(c: ConformanceCase, run: ConformanceRun): Promise<CaseResult> {
  const started = performance.now();
  const finish = (status: CaseStatus, reason?: string): CaseResult => {
    const strictFailure = status === 'warn' && run.config.strict;
    const result: CaseResult = {
      id: c.id,
      group: c.group,
      level: c.level,
      rule: c.rule,
      status: strictFailure ? 'fail' : status,
      ms: Math.round(performance.now() - started),
    };
    if (reason !== undefined) result.reason = strictFailure ? `${reason} [recommended rule; strict]` : reason;
    const known = run.config.knownFailures?.[c.id];
    if (known !== undefined) result.knownFailure = known;
    return result;
  };

  const staticReason = skipReason(c, run.config);
  if (staticReason) return finish('skip', staticReason);
  let methods: Set<StoreMethod>;
  try {
    methods = await run.methods();
  } catch (error) {
    return finish('fail', `the factory could not make a store: ${describeError(error)}`);
  }
  const methodReason = skipReason(c, run.config, methods);
  if (methodReason) return finish('skip', methodReason);

  const ctx = new Context(run, methods);
  const watch = watchProcess();
  let outcome: { status: CaseStatus; reason?: string };
  try {
    await withDeadline(c.run(ctx), CASE_DEADLINE_MS, `case ${c.id}`);
    outcome = { status: 'pass' };
  } catch (error) {
    outcome = judge(c, error);
  }
  await ctx.dispose();
  await settleTicks();
  const stray = watch.stop();
  if (stray.length > 0 && outcome.status !== 'skip') {
    const reason = `the process saw ${stray.join('; ')}`;
    outcome = { status: c.level === 'required' ? 'fail' : 'warn', reason: outcome.reason ? `${outcome.reason}; ${reason}` : reason };
  }
  return finish(outcome.status, outcome.reason);
}

function judge(c: ConformanceCase, error: unknown): { status: CaseStatus; reason: string } {
  if (error instanceof CaseSkipped) return { status: 'skip', reason: error.reason };
  if ((error as { code?: unknown } | null)?.code === 'ERR_SESSION_UNSUPPORTED') {
    return { status: 'skip', reason: `the store reports: ${describeError(error)}` };
  }
  const reason = error instanceof SyncThrow ? error.message : describeError(error);
  return { status: c.level === 'required' ? 'fail' : 'warn', reason: oneLine(reason) };
}

function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 600 ? `${flat.slice(0, 600)}…` : flat;
}

export interface RunCasesOptions {
  /** The cases to choose from. Default: every case of the suite. */
  cases?: readonly ConformanceCase[];
  /** Called as each case finishes, for progress output. */
  onResult?: (result: CaseResult) => void;
}

/**
 * Runs the selected cases one after another against the config's store and returns a result per
 * case. Depends on no test framework: the CLI and the report build on it.
 */
export async function runCases(config: ConformanceConfig, options: RunCasesOptions = {}): Promise<CaseResult[]> {
  const run = new ConformanceRun(config);
  const results: CaseResult[] = [];
  try {
    for (const c of selectCases(config, options.cases)) {
      const result = await runCase(c, run);
      results.push(result);
      options.onResult?.(result);
    }
  } finally {
    await run.finish();
  }
  return results;
}

/**
 * Watches for unhandled rejections and uncaught exceptions while a case runs. Under jest the
 * sandbox's process never sees them; jest itself then fails the running test.
 */
function watchProcess(): { stop(): string[] } {
  const seen: string[] = [];
  const onRejection = (reason: unknown) => seen.push(`an unhandledRejection: ${describeError(reason)}`);
  const onException = (error: unknown) => seen.push(`an uncaughtException: ${describeError(error)}`);
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  return {
    stop() {
      process.off('unhandledRejection', onRejection);
      process.off('uncaughtException', onException);
      return seen;
    },
  };
}

/** Lets late callbacks and unhandled rejections surface before a case is judged. */
async function settleTicks(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
}

export { ConformanceRun };
