import { performance } from 'node:perf_hooks';
import type { SessionData } from 'express-session';

export const OPERATIONS = ['set', 'get', 'touch', 'destroy'] as const;
export type Operation = (typeof OPERATIONS)[number];

/**
 * One implementation under test. Every operation is awaited as a promise, whatever the API
 * underneath (wrap callback APIs in a promise), so all contenders pay the same calling cost.
 */
export interface Contender {
  name: string;
  /** `ours`: the store being measured; `alternative`: another package; `floor`: the raw driver by hand. */
  kind: 'ours' | 'alternative' | 'floor';
  /** Opens connections, creates tables; called once before the contender's first operation. */
  setup(): Promise<void>;
  get(sid: string): Promise<unknown>;
  set(sid: string, session: SessionData): Promise<unknown>;
  touch(sid: string, session: SessionData): Promise<unknown>;
  destroy(sid: string): Promise<unknown>;
  /** Releases everything setup opened. */
  teardown(): Promise<void>;
}

/** A goal checked and printed at the end: ours is at least `atLeast` times the other's throughput. */
export interface Target {
  operation: Operation;
  against: string;
  atLeast: number;
}

export interface BenchSuite {
  name: string;
  contenders: Contender[];
  targets?: Target[];
  /** Facts printed above the table (driver versions, pragmas). */
  notes?: string[];
}

export interface BenchOptions {
  /** Operations per measurement in each round, unless the time budget runs out first. */
  ops: number;
  /** Longest time one measurement (one contender, operation, concurrency) may take, ms. */
  budgetMs: number;
  concurrencies: number[];
  /** Times the whole set of measurements is repeated; throughput is the median of the rounds. */
  rounds: number;
  /** Operations of each kind run before measuring, per contender. */
  warmupOps: number;
}

const WARMUP_BUDGET_MS = 300;

export const DEFAULT_OPTIONS: BenchOptions = { ops: 5_000, budgetMs: 450, concurrencies: [1, 64], rounds: 5, warmupOps: 2_000 };

export interface Measurement {
  contender: string;
  kind: Contender['kind'];
  operation: Operation;
  concurrency: number;
  /** Operations measured, over all rounds. */
  ops: number;
  seconds: number;
  /** Median over the rounds of each round's operations per second. */
  opsPerSec: number;
  p50Us: number;
  p99Us: number;
}

export interface Ratio {
  operation: Operation;
  concurrency: number;
  ours: string;
  against: string;
  /** Our throughput divided by theirs: above 1 means ours is faster. */
  ratio: number;
  /** Their median latency divided by ours: above 1 means ours is faster. Unlike throughput, unmoved by rare I/O stalls. */
  p50Ratio: number;
}

export interface TargetResult extends Target {
  concurrency: number;
  ratio: number;
  p50Ratio: number;
  met: boolean;
}

export interface BenchReport {
  suite: string;
  node: string;
  options: BenchOptions;
  sessionBytes: number;
  notes: string[];
  measurements: Measurement[];
  ratios: Ratio[];
  targets: TargetResult[];
}

/** A session of about `bytes` bytes of JSON, shaped like one express-session saves. */
export function makeSession(bytes = 1024): SessionData {
  const expires = new Date(Date.now() + 24 * 60 * 60 * 1000).toISOString();
  const session = {
    cookie: { originalMaxAge: 24 * 60 * 60 * 1000, expires, secure: false, httpOnly: true, path: '/', sameSite: 'lax' },
    user: { id: 42, name: 'Ana Lima', roles: ['reader', 'editor'] },
    csrfSecret: 'k3Jd9f0aQ2mPz8xW4vBn6tYc',
    data: '',
  };
  session.data = 'x'.repeat(Math.max(0, bytes - JSON.stringify(session).length));
  return session as unknown as SessionData;
}

/**
 * Measures every contender on set, get, touch and destroy at each concurrency, `rounds` times: set
 * writes fresh sessions, get and touch cycle over them (each touch carries a later expiry, as
 * express-session's do), destroy deletes them. Each phase runs for all contenders before the next,
 * so drift on a busy machine spreads over all of them; throughput is the median of the rounds.
 */
export async function runBench(suite: BenchSuite, options: BenchOptions = DEFAULT_OPTIONS, log: (line: string) => void = () => undefined): Promise<BenchReport> {
  const session = makeSession();
  const samples = new Map<string, Sample[]>();
  const ready: Contender[] = [];
  try {
    for (const contender of suite.contenders) {
      await contender.setup();
      ready.push(contender);
      log(`warming up ${contender.name}`);
      await runPhases(contender, session, 'warmup', 8, options.warmupOps, WARMUP_BUDGET_MS);
    }
    for (let round = 0; round < options.rounds; round++) {
      for (const concurrency of options.concurrencies) {
        const populations = new Map<Contender, number>();
        for (const operation of OPERATIONS) {
          for (const contender of ready) {
            const prefix = `bench-r${round}-c${concurrency}`;
            const sample = await runPhase(contender, operation, session, prefix, concurrency, options.ops, options.budgetMs, populations);
            const key = `${contender.name}\0${operation}\0${concurrency}`;
            samples.set(key, [...(samples.get(key) ?? []), sample]);
            log(`round ${round + 1} ${operation} c=${concurrency} ${contender.name}: ${Math.round(sample.ops / sample.seconds)} ops/s`);
          }
        }
      }
    }
  } finally {
    for (const contender of ready.reverse()) await contender.teardown();
  }
  const measurements = suite.contenders.flatMap((contender) =>
    options.concurrencies.flatMap((concurrency) =>
      OPERATIONS.map((operation) =>
        summarize(contender, operation, concurrency, samples.get(`${contender.name}\0${operation}\0${concurrency}`) ?? []),
      ),
    ),
  );
  const ratios = ratiosOf(measurements);
  return {
    suite: suite.name,
    node: process.version,
    options,
    sessionBytes: Buffer.byteLength(JSON.stringify(session)),
    notes: suite.notes ?? [],
    measurements,
    ratios,
    targets: targetsOf(suite, ratios),
  };
}

interface Sample {
  ops: number;
  seconds: number;
  latenciesMs: Float64Array;
}

async function runPhases(contender: Contender, session: SessionData, prefix: string, concurrency: number, ops: number, budgetMs: number): Promise<void> {
  const populations = new Map<Contender, number>();
  for (const operation of OPERATIONS) await runPhase(contender, operation, session, prefix, concurrency, ops, budgetMs, populations);
}

/**
 * One operation for one contender. `populations` remembers how many sessions each contender's set
 * wrote, since a slow contender may write fewer within the budget; destroy always deletes them all.
 */
async function runPhase(
  contender: Contender,
  operation: Operation,
  session: SessionData,
  prefix: string,
  concurrency: number,
  ops: number,
  budgetMs: number,
  populations: Map<Contender, number>,
): Promise<Sample> {
  const population = populations.get(contender) ?? 0;
  const sid = (i: number) => `${prefix}-${i}`;
  switch (operation) {
    case 'set': {
      const sample = await measure((i) => () => contender.set(sid(i), session), ops, concurrency, budgetMs);
      populations.set(contender, sample.ops);
      return sample;
    }
    case 'get':
      return measure((i) => () => contender.get(sid(i % population)), ops, concurrency, budgetMs);
    case 'touch': {
      const firstExpiry = Date.parse(String(session.cookie.expires)) + 1;
      const later = (i: number) => ({ ...session, cookie: { ...session.cookie, expires: new Date(firstExpiry + i).toISOString() } }) as unknown as SessionData;
      return measure((i) => {
        const touched = later(i);
        return () => contender.touch(sid(i % population), touched);
      }, ops, concurrency, budgetMs);
    }
    case 'destroy': {
      const sample = await measure((i) => () => contender.destroy(sid(i)), population, concurrency, budgetMs);
      // Leaves no session behind, so every contender starts the next round on an equally empty table.
      await measure((i) => () => contender.destroy(sid(sample.ops + i)), population - sample.ops, concurrency, Infinity);
      return sample;
    }
  }
}

/**
 * Runs `ops` operations from `concurrency` workers, stopping early when `budgetMs` has passed.
 * `stepFor` builds each operation's arguments outside the timed span.
 */
async function measure(stepFor: (i: number) => () => Promise<unknown>, ops: number, concurrency: number, budgetMs: number): Promise<Sample> {
  const latenciesMs = new Float64Array(ops);
  const started = performance.now();
  const deadline = started + budgetMs;
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < ops) {
      const step = stepFor(next++);
      const t0 = performance.now();
      await step();
      const t1 = performance.now();
      latenciesMs[done++] = t1 - t0;
      if (t1 > deadline) next = ops;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, ops) }, worker));
  return { ops: done, seconds: (performance.now() - started) / 1000, latenciesMs: latenciesMs.subarray(0, done) };
}

function summarize(contender: Contender, operation: Operation, concurrency: number, samples: Sample[]): Measurement {
  const ops = samples.reduce((sum, s) => sum + s.ops, 0);
  const latencies = new Float64Array(ops);
  let offset = 0;
  for (const sample of samples) {
    latencies.set(sample.latenciesMs, offset);
    offset += sample.ops;
  }
  latencies.sort();
  return {
    contender: contender.name,
    kind: contender.kind,
    operation,
    concurrency,
    ops,
    seconds: samples.reduce((sum, s) => sum + s.seconds, 0),
    opsPerSec: median(samples.filter((s) => s.ops > 0).map((s) => s.ops / s.seconds)),
    p50Us: percentile(latencies, 0.5) * 1000,
    p99Us: percentile(latencies, 0.99) * 1000,
  };
}

function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

function ratiosOf(measurements: Measurement[]): Ratio[] {
  const ratios: Ratio[] = [];
  for (const ours of measurements.filter((m) => m.kind === 'ours')) {
    for (const other of measurements) {
      if (other.kind === 'ours' || other.operation !== ours.operation || other.concurrency !== ours.concurrency) continue;
      ratios.push({
        operation: ours.operation,
        concurrency: ours.concurrency,
        ours: ours.contender,
        against: other.contender,
        ratio: ours.opsPerSec / other.opsPerSec,
        p50Ratio: other.p50Us / ours.p50Us,
      });
    }
  }
  return ratios;
}

function targetsOf(suite: BenchSuite, ratios: Ratio[]): TargetResult[] {
  return (suite.targets ?? []).flatMap((target) =>
    ratios
      .filter((r) => r.operation === target.operation && r.against === target.against)
      .map((r) => ({ ...target, concurrency: r.concurrency, ratio: r.ratio, p50Ratio: r.p50Ratio, met: r.ratio >= target.atLeast })),
  );
}

/** The report as aligned text tables: one per concurrency, then the ratios and targets. */
export function formatReport(report: BenchReport): string {
  const lines: string[] = [];
  lines.push(
    `${report.suite}: ${report.sessionBytes}-byte session, ${report.options.rounds} rounds of up to ${report.options.ops} ops or ${report.options.budgetMs} ms per measurement, node ${report.node}`,
  );
  for (const note of report.notes) lines.push(`  ${note}`);
  for (const concurrency of report.options.concurrencies) {
    lines.push('', `concurrency ${concurrency} (ops/s: median of the rounds; latencies over all of them)`);
    const rows = report.measurements
      .filter((m) => m.concurrency === concurrency)
      .map((m) => [m.operation, m.contender, String(m.ops), fmt(m.opsPerSec, 0), fmt(m.p50Us, 1), fmt(m.p99Us, 1)]);
    lines.push(...table(['op', 'contender', 'ops', 'ops/s', 'p50 µs', 'p99 µs'], 2, rows));
  }
  if (report.ratios.length > 0) {
    lines.push('', 'ratios (above 1 = ours faster)');
    const rows = report.ratios.map((r) => [`${r.ours} vs ${r.against}`, r.operation, String(r.concurrency), `${fmt(r.ratio, 2)}x`, `${fmt(r.p50Ratio, 2)}x`]);
    lines.push(...table(['pair', 'op', 'conc', 'ops/s', 'p50'], 2, rows));
  }
  if (report.targets.length > 0) {
    const rows = report.targets.map((t) => [
      t.against,
      t.operation,
      String(t.concurrency),
      `>= ${fmt(t.atLeast, 2)}x`,
      `${fmt(t.ratio, 2)}x`,
      t.met ? 'met' : 'MISSED',
      `${fmt(t.p50Ratio, 2)}x`,
    ]);
    lines.push('', 'targets (on throughput; the p50 ratio beside it for runs on a busy machine)');
    lines.push(...table(['against', 'op', 'conc', 'target', 'ops/s', 'result', 'p50'], 2, rows));
  }
  return lines.join('\n');
}

function fmt(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '-';
}

/** Columns before `textColumns` are left-aligned, the rest (numbers) right-aligned. */
function table(header: string[], textColumns: number, rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((cell, i) => (i < textColumns ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
}
