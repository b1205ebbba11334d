/**
 * A server stopped and restarted under load from two stores of one kind (one opening its own
 * pool, one on a caller's pool), in a process of its own, so that unhandled rejections and
 * uncaught exceptions are counted by the real process hooks and a crash shows as a non-zero exit.
 * A store's `fixtures/faults-scenario.ts` calls `runFaultScenario` with how to start its server
 * and stores; its `faults.test.ts` calls `describeFaultScenario` on that file.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { SessionData } from 'express-session';
import type { SessionStore } from '../../shared';

export const OPERATION_TIMEOUT_MS = 1000;
const WORKERS_PER_STORE = 16;
const HANG_AFTER_MS = OPERATION_TIMEOUT_MS + 2000;
// Timers fire late on a loaded two-core machine; a failure this much past the bound still counts as bounded.
const TIMER_SLACK_MS = 500;

/** What a store's scenario starts: the server, its two stores, and what to release after them. */
export interface FaultSetup {
  server: { stop(): Promise<void>; start(): Promise<void>; destroy(): Promise<void> };
  /** `owned` opens its own pool; `shared` works on the caller's. */
  stores: { owned: SessionStore; shared: SessionStore };
  /** Ends the caller's pool, once the stores are closed. */
  release(): Promise<void>;
}

export interface FaultReport {
  operationTimeoutMs: number;
  calls: number;
  failures: number;
  slowestFailureMs: number;
  hungCalls: number;
  failureCodes: string[];
  events: Record<string, string[]>;
  acknowledged: number;
  lost: string[];
  recoveredAfterRestartMs: Record<string, number>;
  unhandledRejections: string[];
  uncaughtExceptions: string[];
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function sessionOf(name: string, n: number): SessionData {
  return { cookie: { originalMaxAge: null, path: '/', httpOnly: true }, name, n } as unknown as SessionData;
}

async function scenario(setup: () => Promise<FaultSetup>, unhandledRejections: string[], uncaughtExceptions: string[]): Promise<FaultReport> {
  const { server, stores, release } = await setup();
  const events: Record<string, string[]> = {};
  for (const [name, store] of Object.entries(stores)) {
    events[name] = [];
    store.on('disconnect', () => events[name].push('disconnect'));
    store.on('connect', () => events[name].push('connect'));
  }

  const acknowledged = new Map<string, { store: string; data: SessionData }>();
  const failureCodes = new Set<string>();
  const lastSuccess: Record<string, number> = {};
  let calls = 0;
  let failures = 0;
  let slowestFailureMs = 0;
  let hungCalls = 0;
  let stopping = false;

  /** Awaits one call, recording how it settled; a call still pending after HANG_AFTER_MS counts as hung. */
  const observe = async <T>(call: Promise<T>): Promise<{ ok: true; value: T } | { ok: false }> => {
    const started = performance.now();
    calls++;
    let watchdog: NodeJS.Timeout | undefined;
    const hung = new Promise<'hung'>((resolve) => (watchdog = setTimeout(resolve, HANG_AFTER_MS, 'hung')));
    const settled = call.then(
      (value) => ({ ok: true as const, value }),
      (error: { code?: string }) => {
        failures++;
        failureCodes.add(error?.code ?? String(error));
        slowestFailureMs = Math.max(slowestFailureMs, performance.now() - started);
        return { ok: false as const };
      },
    );
    const outcome = await Promise.race([settled, hung]);
    clearTimeout(watchdog);
    if (outcome === 'hung') {
      hungCalls++;
      return { ok: false };
    }
    return outcome;
  };

  const worker = async (name: string, store: SessionStore, w: number) => {
    for (let i = 0; !stopping; i++) {
      const sid = `${name}-${w}-${i}`;
      const data = sessionOf(name, i);
      const set = await observe(store.set(sid, data));
      if (set.ok) {
        acknowledged.set(sid, { store: name, data });
        lastSuccess[name] = Date.now();
        await observe(store.get(sid));
      } else {
        await pause(20);
      }
    }
  };

  const load = Object.entries(stores).flatMap(([name, store]) => Array.from({ length: WORKERS_PER_STORE }, (_, w) => worker(name, store, w)));

  await pause(500);
  await server.stop();
  await pause(1500);
  await server.start();
  const restartedAt = Date.now();
  const recovered = () => Object.keys(stores).every((name) => (lastSuccess[name] ?? 0) > restartedAt);
  while (!recovered() && Date.now() - restartedAt < 8000) await pause(50);
  const recoveredAfterRestartMs = Object.fromEntries(Object.keys(stores).map((name) => [name, (lastSuccess[name] ?? Infinity) - restartedAt]));
  await pause(300);
  stopping = true;
  await Promise.all(load);

  const lost: string[] = [];
  for (const [name, store] of Object.entries(stores)) {
    const all = await store.all();
    for (const [sid, entry] of acknowledged) {
      if (entry.store !== name) continue;
      if (JSON.stringify(all[sid]) !== JSON.stringify(entry.data)) lost.push(sid);
    }
  }

  await Promise.all(Object.values(stores).map((store) => store.close()));
  await release();
  await server.destroy();
  return {
    operationTimeoutMs: OPERATION_TIMEOUT_MS,
    calls,
    failures,
    slowestFailureMs: Math.round(slowestFailureMs),
    hungCalls,
    failureCodes: [...failureCodes],
    events,
    acknowledged: acknowledged.size,
    lost,
    recoveredAfterRestartMs,
    unhandledRejections,
    uncaughtExceptions,
  };
}

/** Runs the scenario in this process and prints its report as one JSON line (exit 1 if it crashed). */
export function runFaultScenario(setup: () => Promise<FaultSetup>): void {
  const unhandledRejections: string[] = [];
  const uncaughtExceptions: string[] = [];
  process.on('unhandledRejection', (reason) => unhandledRejections.push(String(reason)));
  process.on('uncaughtException', (error) => uncaughtExceptions.push(String(error)));
  scenario(setup, unhandledRejections, uncaughtExceptions).then(
    (report) => {
      // Lets late rejections and errors surface before the report is taken as final.
      setTimeout(() => {
        process.stdout.write(`${JSON.stringify(report)}\n`);
        process.exitCode = 0;
      }, 200);
    },
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}

/** The jest cases on a scenario file's report; one loud skip naming `problem` where its server cannot start. */
export function describeFaultScenario(storeName: string, scenarioFile: string, problem: string | undefined): void {
  if (problem !== undefined) {
    describe(`${storeName} fault test`, () => {
      it.skip(`could not run: ${problem}`, () => undefined);
    });
    return;
  }
  describe(`${storeName} while its server stops and restarts under load`, () => {
    let report: FaultReport;

    beforeAll(async () => {
      const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', scenarioFile], {
        cwd: path.resolve(__dirname, '..', '..'),
        timeout: 28_000,
      });
      report = JSON.parse(stdout.trim().split('\n').pop()!) as FaultReport;
    }, 30_000);

    it('exits normally, with no unhandled rejection and no uncaught exception', () => {
      expect(report.unhandledRejections).toEqual([]);
      expect(report.uncaughtExceptions).toEqual([]);
    });

    it('settles every call, failing each within the operation timeout', () => {
      expect(report.hungCalls).toBe(0);
      expect(report.failures).toBeGreaterThan(0);
      expect(report.slowestFailureMs).toBeLessThanOrEqual(report.operationTimeoutMs + TIMER_SLACK_MS);
      expect(report.failureCodes.every((code) => ['ERR_SESSION_BACKEND', 'ERR_SESSION_TIMEOUT', 'ERR_SESSION_UNAVAILABLE'].includes(code))).toBe(true);
    });

    it('emits disconnect during the outage and connect once the server is back', () => {
      for (const sequence of Object.values(report.events)) {
        expect(sequence[0]).toBe('disconnect');
        expect(sequence[sequence.length - 1]).toBe('connect');
      }
    });

    it('works again without a restart of the store, on its own pool and on a caller pool', () => {
      expect(Object.keys(report.recoveredAfterRestartMs).sort()).toEqual(['owned', 'shared']);
      for (const ms of Object.values(report.recoveredAfterRestartMs)) expect(ms).toBeLessThan(5000);
    });

    it('keeps every session whose set was acknowledged, before and after the restart', () => {
      expect(report.acknowledged).toBeGreaterThan(0);
      expect(report.lost).toEqual([]);
    });
  });
}
