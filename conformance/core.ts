import { cases as allCases } from './cases';
import { frameworksOf, missingSkip, missingText, optionalIn } from './cases/http-frameworks';
import { CaseSkipped, Context } from './case-context';
import { RealClock } from './clocks';
import { ConformanceRun } from './conformance-run';
import { withDeadline } from './deadline';
import { describeError } from './describe-error';
import { watchCase, watchRun, type ProcessCrash } from './process-watch';
import { SyncThrow } from './store-calls';
import type { Capability, CaseResult, CaseStatus, ConformanceCase, ConformanceConfig, HttpFramework, StoreMethod } from './types';

/** Longest a case may run before it fails; a callback that never comes must not hang the run. */
export const CASE_DEADLINE_MS = 20_000;

/**
 * How far behind its waits a case on the wall clock may fall and still be judged: its checks are
 * 1.5 s from an expiry, so a store keeping whole seconds is safe as long as they run within 0.5 s of plan.
 */
const LATE_LIMIT_MS = 400;
/** A case held up past that limit is run again, up to this many times in all, before it is skipped. */
const TIMED_ATTEMPTS = 3;
/** How long the clean-up of a run stopped by a crash may take. */
const STOP_DEADLINE_MS = 15_000;

const OPTION_CAPABILITIES: Partial<Record<Capability, (config: ConformanceConfig) => string | undefined>> = {
  namespaces: (c) => (c.supports?.namespaces ? undefined : 'the factory does not declare supports.namespaces'),
  sharedData: (c) => (c.supports?.sharedData ? undefined : 'the factory does not declare supports.sharedData'),
  ttl: (c) => (c.supports?.ttl ? undefined : 'the factory does not declare supports.ttl'),
  // Declared on its own: a store whose ttl option takes only a number must not be judged on a function.
  ttlFunction: (c) => (c.supports?.ttlFunction ? undefined : 'the factory does not declare supports.ttlFunction'),
  touchAfter: (c) => (c.supports?.touchAfter ? undefined : 'the factory does not declare supports.touchAfter'),
  disableTouch: (c) => (c.supports?.disableTouch ? undefined : 'the factory does not declare supports.disableTouch'),
  hashedIds: (c) => (c.supports?.hashedIds ? undefined : 'the factory does not declare supports.hashedIds'),
  encryptedPayloads: (c) => (c.supports?.encryptedPayloads ? undefined : 'the factory does not declare supports.encryptedPayloads'),
  tombstones: (c) => (c.supports?.tombstones ? undefined : 'the factory does not declare supports.tombstones'),
  maxLifetime: (c) => (c.supports?.maxLifetime ? undefined : 'the factory does not declare supports.maxLifetime'),
  userIndex: (c) => (c.supports?.userIndex ? undefined : 'the factory does not declare supports.userIndex'),
  // A store with hashed ids lists storage ids by design; the at-rest cases check what it lists instead.
  sessionIdListings: (c) => (c.supports?.hashedIds ? 'with supports.hashedIds, ids(), all() and sessions() list storage ids, not session ids' : undefined),
  injectableClock: (c) => (c.clock === 'injectable' ? undefined : "it needs clock: 'injectable' (an exact instant)"),
  realClock: (c) => (c.clock === 'injectable' ? 'on the injectable clock expiry-is-exact-to-the-millisecond checks this exactly' : undefined),
  writeRaw: (c) => (c.writeRaw ? undefined : 'the config gives no writeRaw hook'),
  readRaw: (c) => (c.readRaw ? undefined : 'the config gives no readRaw hook'),
  factoryModule: (c) => (c.factoryModule ? undefined : 'the config gives no factoryModule'),
};

const isStoreMethod = (need: Capability): need is StoreMethod =>
  ['all', 'ids', 'length', 'clear', 'touch', 'close', 'prune'].includes(need);

/** The framework an HTTP case runs through: express for one that names none. */
export function frameworkOf(c: ConformanceCase): HttpFramework | undefined {
  return c.framework ?? (c.group === 'http' ? 'express' : undefined);
}

/** The cases a config selects: HTTP ones through the frameworks `http` names, then its `filter`. */
export function selectCases(config: ConformanceConfig, cases: readonly ConformanceCase[] = allCases): ConformanceCase[] {
  const frameworks = frameworksOf(config);
  return cases.filter((c) => {
    const framework = frameworkOf(c);
    return (framework === undefined || frameworks.includes(framework)) && (!config.filter || config.filter(c.id));
  });
}

/**
 * Why a case cannot run for this config, or undefined. Store methods are judged only when
 * `methods` is given (from config.methods or a probe).
 */
export function skipReason(c: ConformanceCase, config: ConformanceConfig, methods?: ReadonlySet<StoreMethod>): string | undefined {
  if (c.notApplicable !== undefined) return c.notApplicable;
  const framework = frameworkOf(c);
  if (framework !== undefined && optionalIn(config, framework)) {
    const missing = missingSkip(framework);
    if (missing) return missing;
  }
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

/**
 * Runs one case to a result; never throws. `alongside` names the cases running at the same time,
 * which an uncaught exception or unhandled rejection cannot be told apart from.
 */
export async function runCase(c: ConformanceCase, run: ConformanceRun, alongside: readonly string[] = []): Promise<CaseResult> {
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
  // A framework the config requires: without its packages the case cannot judge the store, and says what to install.
  const framework = frameworkOf(c);
  const missing = framework && missingText([framework]);
  if (missing) return finish('fail', `${missing}, or leave ${framework} out of the config's http`);
  let methods: Set<StoreMethod>;
  try {
    methods = await run.methods();
  } catch (error) {
    return finish('fail', `the factory could not make a store: ${describeError(error)}`);
  }
  const methodReason = skipReason(c, run.config, methods);
  if (methodReason) return finish('skip', methodReason);

  let late = 0;
  for (let attempt = 1; ; attempt++) {
    const ctx = new Context(run, methods, alongside.length > 0);
    const watch = watchCase();
    const attemptStarted = performance.now();
    let outcome: { status: CaseStatus; reason?: string };
    try {
      // The deadline's timer exists before the case starts, so a case watching new handles never sees it.
      await withDeadline(Promise.resolve().then(() => c.run(ctx)), CASE_DEADLINE_MS, `case ${c.id}`);
      outcome = { status: 'pass' };
    } catch (error) {
      outcome = judge(c, error);
    }
    const behind = ctx.clock instanceof RealClock ? performance.now() - attemptStarted - ctx.clock.advanced : 0;
    await ctx.dispose();
    await settleTicks();
    const stray = watch.stop();
    if (stray.length > 0 && outcome.status !== 'skip') {
      // On Node 15 and later either ends the process, so it fails whatever the rule's level.
      const during = alongside.length > 0 ? ` while ${alongside.length} other cases waiting on the clock ran alongside it` : '';
      const reason = `the process saw ${stray.join('; ')}${during}`;
      return finish('fail', outcome.reason ? `${outcome.reason}; ${reason}` : reason);
    }
    // A check that ran late may have looked at a session nearer its expiry than planned: only a pass is trusted then.
    const judgedLate = c.waits === true && behind > LATE_LIMIT_MS && (outcome.status === 'fail' || outcome.status === 'warn');
    if (!judgedLate) return finish(outcome.status, outcome.reason);
    late = Math.max(late, Math.round(behind));
    if (attempt === TIMED_ATTEMPTS) {
      return finish('skip', `the machine was too slow to judge it: ${TIMED_ATTEMPTS} attempts fell up to ${late} ms behind their waits (a failure counts within ${LATE_LIMIT_MS} ms)`);
    }
  }
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
  /**
   * Watches the process for the whole run, between cases too, and hears each uncaught exception and
   * unhandled rejection, told whether a running case was charged with it. Without it (nor
   * `stopAtCrash`) only a running case listens, and what comes between cases is the caller's.
   */
  onCrash?: (crash: ProcessCrash) => void;
  /**
   * After the first crash of the process, reports the remaining cases as not run (`skip` with
   * `notRun`) instead of running them: a live app would have exited there.
   */
  stopAtCrash?: boolean;
}

/**
 * Whether a case runs alongside the others that do: on the real clock, a case that only waits does,
 * unless it counts the sessions of a namespace the others write to.
 */
export function runsAlongside(c: ConformanceCase, config: ConformanceConfig): boolean {
  return c.waits === true && config.clock !== 'injectable' && (config.supports?.namespaces === true || !c.needs.includes('length'));
}

/**
 * Gives each case's result, running the cases one after another, except that when the first case
 * that runs alongside others is due, all of them run at once and are awaited together, so no other
 * case overlaps them.
 */
export class CaseSchedule {
  private together: Map<ConformanceCase, Promise<CaseResult>> | undefined;
  /** All of `together`, then the clean-up their namespaces waited for. */
  private togetherDone: Promise<unknown> | undefined;

  constructor(
    private readonly run: ConformanceRun,
    private readonly cases: readonly ConformanceCase[],
  ) {}

  async result(c: ConformanceCase): Promise<CaseResult> {
    if (!runsAlongside(c, this.run.config) || !this.cases.includes(c)) return runCase(c, this.run);
    this.together ??= this.startTogether();
    this.togetherDone ??= Promise.all(this.together.values()).then(() => this.run.clearDeferred());
    await this.togetherDone;
    return this.together.get(c)!;
  }

  private startTogether(): Map<ConformanceCase, Promise<CaseResult>> {
    const together = this.cases.filter((c) => runsAlongside(c, this.run.config));
    const warmedUp = this.run.warmUp();
    return new Map(
      together.map((c) => [c, warmedUp.then(() => runCase(c, this.run, together.filter((other) => other !== c).map((other) => other.id)))]),
    );
  }
}

/**
 * Runs the selected cases against the config's store and returns a result per case, in the
 * order of the cases. Depends on no test framework: the CLI and the report build on it.
 */
export async function runCases(config: ConformanceConfig, options: RunCasesOptions = {}): Promise<CaseResult[]> {
  const run = new ConformanceRun(config);
  const selected = selectCases(config, options.cases);
  const schedule = new CaseSchedule(run, selected);
  const results: CaseResult[] = [];
  const report = (result: CaseResult) => {
    results.push(result);
    options.onResult?.(result);
  };
  const watch = options.onCrash || options.stopAtCrash ? watchRun(options.onCrash) : undefined;
  let stopped: string | undefined;
  try {
    for (const c of selected) {
      if (stopped !== undefined) {
        report({ id: c.id, group: c.group, level: c.level, rule: c.rule, status: 'skip', reason: stopped, ms: 0, notRun: true });
        continue;
      }
      report(await schedule.result(c));
      const crash = watch?.first;
      if (options.stopAtCrash && crash) stopped = `not run: the store crashed the process with ${crash.description} in ${c.id}`;
    }
  } finally {
    try {
      // After a crash the clean-up may fail on the crashed store too, or never finish: the crash is what happened.
      if (stopped !== undefined) await withDeadline(run.finish(), STOP_DEADLINE_MS, 'cleaning up after the crash').catch(() => undefined);
      else await run.finish();
    } finally {
      watch?.stop();
    }
  }
  return results;
}

/** Lets late callbacks and unhandled rejections surface before a case is judged. */
async function settleTicks(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
}

export { ConformanceRun };
