import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
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
  /**
   * For a store of ours with options on (hashIds, encryptionKeys): the contender it is measured
   * against, the same store without them. Such a contender has its own section, not the ratios and targets.
   */
  baseline?: string;
  /** Opens connections, creates tables; called once before the contender's first operation. */
  setup(): Promise<void>;
  get(sid: string): Promise<unknown>;
  set(sid: string, session: SessionData): Promise<unknown>;
  touch(sid: string, session: SessionData): Promise<unknown>;
  destroy(sid: string): Promise<unknown>;
  /** Releases everything setup opened. */
  teardown(): Promise<void>;
}

type Operations = Pick<Contender, 'get' | 'set' | 'touch' | 'destroy'>;

/** A store whose four operations return promises, as ours and connect-redis' do. */
export interface PromiseStore {
  get(sid: string): Promise<unknown>;
  set(sid: string, session: SessionData): Promise<unknown>;
  touch(sid: string, session: SessionData): Promise<unknown>;
  destroy(sid: string): Promise<unknown>;
}

/** A store in express-session's callback shape only. */
export interface CallbackStore {
  get(sid: string, callback: (error: unknown, session?: unknown) => void): void;
  set(sid: string, session: SessionData, callback: (error: unknown) => void): void;
  touch(sid: string, session: SessionData, callback: (error: unknown) => void): void;
  destroy(sid: string, callback: (error: unknown) => void): void;
}

/** The operations of the store `current()` returns (one that setup builds), called as they are. */
export function operationsOf(current: () => PromiseStore): Operations {
  return {
    get: (sid) => current().get(sid),
    set: (sid, session) => current().set(sid, session),
    touch: (sid, session) => current().touch(sid, session),
    destroy: (sid) => current().destroy(sid),
  };
}

/** The operations of a callback store, each wrapped in a promise (the same calling cost for every contender). */
export function callbackOperationsOf(current: () => CallbackStore): Operations {
  const promised = (call: (callback: (error: unknown) => void) => void) =>
    new Promise<void>((resolve, reject) => call((error) => (error ? reject(error) : resolve())));
  return {
    get: (sid) => new Promise((resolve, reject) => current().get(sid, (error, session) => (error ? reject(error) : resolve(session)))),
    set: (sid, session) => promised((callback) => current().set(sid, session, callback)),
    touch: (sid, session) => promised((callback) => current().touch(sid, session, callback)),
    destroy: (sid) => promised((callback) => current().destroy(sid, callback)),
  };
}

/** A goal checked and printed at the end: ours is at least `atLeast` times the other's throughput. */
export interface Target {
  operation: Operation;
  /** The contender of ours it applies to; every one of ours when not given. */
  ours?: string;
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

export const DEFAULT_OPTIONS: BenchOptions = { ops: 50_000, budgetMs: 450, concurrencies: [1, 64], rounds: 5, warmupOps: 2_000 };

/** A full garbage collection (see measureTogether). */
const collectGarbage: () => void = (() => {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

export interface Measurement {
  contender: string;
  kind: Contender['kind'];
  baseline?: string;
  operation: Operation;
  concurrency: number;
  /** Operations measured, over all rounds. */
  ops: number;
  seconds: number;
  /** Median over the rounds of each round's operations per second. */
  opsPerSec: number;
  /** Each round's operations per second, in round order (NaN for a round without operations). */
  roundOpsPerSec: number[];
  p50Us: number;
  p99Us: number;
}

export interface Ratio {
  operation: Operation;
  concurrency: number;
  ours: string;
  against: string;
  /**
   * Our throughput divided by theirs, round by round (both ran interleaved within each round); the
   * median of those, and the lowest and highest. Above 1 means ours is faster.
   */
  ratio: number;
  low: number;
  high: number;
  /** Their median latency divided by ours: above 1 means ours is faster. Unlike throughput, unmoved by rare I/O stalls. */
  p50Ratio: number;
}

/** What a store's options cost: the store with them against the same store without them, at one operation and concurrency. */
export interface OptionCost {
  operation: Operation;
  concurrency: number;
  /** The contender with the options on. */
  contender: string;
  baseline: string;
  /** Its throughput over the baseline's, round by round (median, lowest, highest): below 1 is the cost. */
  ratio: number;
  low: number;
  high: number;
  /** Time added per operation, µs, from the median throughputs: at concurrency 1 the latency added, at higher ones the process time. */
  addedUs: number;
  /** Median latency added, µs. */
  p50AddedUs: number;
}

export interface TargetResult extends Target {
  ours: string;
  concurrency: number;
  ratio: number;
  low: number;
  high: number;
  p50Ratio: number;
  /** The median ratio reaches the target. */
  met: boolean;
  /** `met`; `within noise`: the median falls short, but some rounds reach it; `missed`: no round reaches it. */
  result: 'met' | 'within noise' | 'missed';
}

export interface BenchReport {
  suite: string;
  node: string;
  options: BenchOptions;
  sessionBytes: number;
  notes: string[];
  measurements: Measurement[];
  ratios: Ratio[];
  /** Each raw-driver floor against each alternative: the most any store on that driver could reach. */
  ceilings: Ratio[];
  targets: TargetResult[];
  /** Each contender with options on against its baseline. */
  optionCosts: OptionCost[];
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
 * express-session's do), destroy deletes them. The contenders of one measurement take turns in
 * short slices (see SLICES), in an order that rotates from round to round, so that drift on a busy
 * machine falls on all of them alike; throughput is the median of the rounds.
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
      const populations = new Map<Contender, number>();
      for (const operation of OPERATIONS) {
        await measureTogether([phaseOf(contender, operation, session, 'warmup', 8, options.warmupOps, WARMUP_BUDGET_MS, populations)]);
      }
    }
    for (let round = 0; round < options.rounds; round++) {
      // Each round starts with the next contender, so none is always measured first or right after another.
      const order = [...ready.slice(round % ready.length), ...ready.slice(0, round % ready.length)];
      for (const concurrency of options.concurrencies) {
        const populations = new Map<Contender, number>();
        const prefix = `bench-r${round}-c${concurrency}`;
        for (const operation of OPERATIONS) {
          const phases = order.map((contender) => phaseOf(contender, operation, session, prefix, concurrency, options.ops, options.budgetMs, populations));
          await measureTogether(phases);
          for (const phase of phases) {
            const sample = phase.sample();
            const key = `${phase.contender.name}\0${operation}\0${concurrency}`;
            samples.set(key, [...(samples.get(key) ?? []), sample]);
            log(`round ${round + 1} ${operation} c=${concurrency} ${phase.contender.name}: ${Math.round(sample.ops / sample.seconds)} ops/s`);
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
  const plain = measurements.filter((m) => m.baseline === undefined);
  const ratios = ratiosOf(plain, 'ours', ['alternative', 'floor']);
  return {
    suite: suite.name,
    node: process.version,
    options,
    sessionBytes: Buffer.byteLength(JSON.stringify(session)),
    notes: suite.notes ?? [],
    measurements,
    ratios,
    ceilings: ratiosOf(plain, 'floor', ['alternative']),
    targets: targetsOf(suite, ratios),
    optionCosts: optionCostsOf(measurements),
  };
}

interface Sample {
  ops: number;
  seconds: number;
  latenciesMs: Float64Array;
}

/**
 * Slices per measurement: each contender runs up to 1/SLICES of its operations and of its time
 * budget, then the next takes its turn, round and round.
 */
const SLICES = 10;

/**
 * The contenders of one measurement, in turns, after a full garbage collection (so that none pays
 * for garbage left by an earlier measurement). Collections between slices would skew it instead:
 * V8 flushes the compiled code of functions that did not run since the last few collections.
 */
async function measureTogether(phases: Phase[]): Promise<void> {
  collectGarbage();
  for (let slice = 1; slice <= SLICES; slice++) {
    for (const phase of phases) {
      if (phase.finished) continue;
      await phase.run(Math.ceil((phase.ops * slice) / SLICES), phase.budgetMs / SLICES);
    }
  }
  for (const phase of phases) await phase.finish();
}

/**
 * One operation of one contender, run a slice at a time by `concurrency` workers, up to `ops`
 * operations or `budgetMs` of measured time. `stepFor` builds each operation's arguments outside
 * the timed span.
 */
class Phase {
  private next = 0;
  private done = 0;
  private seconds = 0;
  private readonly latenciesMs: Float64Array;

  constructor(
    readonly contender: Contender,
    readonly ops: number,
    readonly budgetMs: number,
    private readonly concurrency: number,
    private readonly stepFor: (i: number) => () => Promise<unknown>,
    private readonly onFinish: (done: number) => Promise<void> = async () => undefined,
  ) {
    this.latenciesMs = new Float64Array(ops);
  }

  get finished(): boolean {
    return this.next >= this.ops || this.seconds * 1000 >= this.budgetMs;
  }

  /** Runs operations until `until` of them have started or `sliceMs` have passed. */
  async run(until: number, sliceMs: number): Promise<void> {
    const started = performance.now();
    const deadline = started + Math.min(sliceMs, this.budgetMs - this.seconds * 1000);
    let stop = Math.min(until, this.ops);
    const worker = async (): Promise<void> => {
      while (this.next < stop) {
        const step = this.stepFor(this.next++);
        const t0 = performance.now();
        await step();
        const t1 = performance.now();
        this.latenciesMs[this.done++] = t1 - t0;
        if (t1 > deadline) stop = this.next;
      }
    };
    await Promise.all(Array.from({ length: Math.max(0, Math.min(this.concurrency, stop - this.next)) }, worker));
    this.seconds += (performance.now() - started) / 1000;
  }

  finish(): Promise<void> {
    return this.onFinish(this.done);
  }

  sample(): Sample {
    return { ops: this.done, seconds: this.seconds, latenciesMs: this.latenciesMs.subarray(0, this.done) };
  }
}

/**
 * One operation for one contender. `populations` remembers how many sessions each contender's set
 * wrote, since a slow contender may write fewer within the budget; destroy always deletes them all.
 */
function phaseOf(
  contender: Contender,
  operation: Operation,
  session: SessionData,
  prefix: string,
  concurrency: number,
  ops: number,
  budgetMs: number,
  populations: Map<Contender, number>,
): Phase {
  const population = populations.get(contender) ?? 0;
  const sid = (i: number) => `${prefix}-${i}`;
  switch (operation) {
    case 'set':
      return new Phase(contender, ops, budgetMs, concurrency, (i) => () => contender.set(sid(i), session), async (done) => {
        populations.set(contender, done);
      });
    case 'get':
      return new Phase(contender, ops, budgetMs, concurrency, (i) => () => contender.get(sid(i % population)));
    case 'touch': {
      const firstExpiry = Date.parse(String(session.cookie.expires)) + 1;
      const later = (i: number) => ({ ...session, cookie: { ...session.cookie, expires: new Date(firstExpiry + i).toISOString() } }) as unknown as SessionData;
      return new Phase(contender, ops, budgetMs, concurrency, (i) => {
        const touched = later(i);
        return () => contender.touch(sid(i % population), touched);
      });
    }
    case 'destroy':
      return new Phase(contender, population, budgetMs, concurrency, (i) => () => contender.destroy(sid(i)), async (done) => {
        // Leaves no session behind, so every contender starts the next round on an equally empty table.
        const rest = new Phase(contender, population - done, Infinity, concurrency, (i) => () => contender.destroy(sid(done + i)));
        await rest.run(rest.ops, Infinity);
      });
  }
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
    ...(contender.baseline !== undefined && { baseline: contender.baseline }),
    operation,
    concurrency,
    ops,
    seconds: samples.reduce((sum, s) => sum + s.seconds, 0),
    opsPerSec: median(samples.filter((s) => s.ops > 0).map((s) => s.ops / s.seconds)),
    roundOpsPerSec: samples.map((s) => (s.ops > 0 ? s.ops / s.seconds : NaN)),
    p50Us: percentile(latencies, 0.5) * 1000,
    p99Us: percentile(latencies, 0.99) * 1000,
  };
}

export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

/** Each of `mine` against each of `theirs`, operation by operation, at each concurrency. */
function ratiosOf(measurements: Measurement[], mine: Contender['kind'], theirs: Contender['kind'][]): Ratio[] {
  const ratios: Ratio[] = [];
  for (const ours of measurements.filter((m) => m.kind === mine)) {
    for (const other of measurements) {
      if (!theirs.includes(other.kind) || other.operation !== ours.operation || other.concurrency !== ours.concurrency) continue;
      const perRound = ours.roundOpsPerSec.map((opsPerSec, round) => opsPerSec / other.roundOpsPerSec[round]!).filter(Number.isFinite);
      ratios.push({
        operation: ours.operation,
        concurrency: ours.concurrency,
        ours: ours.contender,
        against: other.contender,
        ratio: median(perRound),
        low: Math.min(...perRound),
        high: Math.max(...perRound),
        p50Ratio: other.p50Us / ours.p50Us,
      });
    }
  }
  return ratios;
}

function optionCostsOf(measurements: Measurement[]): OptionCost[] {
  return measurements.flatMap((variant) => {
    const base = measurements.find((m) => m.contender === variant.baseline && m.operation === variant.operation && m.concurrency === variant.concurrency);
    if (variant.baseline === undefined || base === undefined) return [];
    const perRound = variant.roundOpsPerSec.map((opsPerSec, round) => opsPerSec / base.roundOpsPerSec[round]!).filter(Number.isFinite);
    return [
      {
        operation: variant.operation,
        concurrency: variant.concurrency,
        contender: variant.contender,
        baseline: variant.baseline,
        ratio: median(perRound),
        low: Math.min(...perRound),
        high: Math.max(...perRound),
        addedUs: 1e6 / variant.opsPerSec - 1e6 / base.opsPerSec,
        p50AddedUs: variant.p50Us - base.p50Us,
      },
    ];
  });
}

function targetsOf(suite: BenchSuite, ratios: Ratio[]): TargetResult[] {
  return (suite.targets ?? []).flatMap((target) =>
    ratios
      .filter((r) => r.operation === target.operation && r.against === target.against && (target.ours === undefined || r.ours === target.ours))
      .map((r) => ({
        ...target,
        ours: r.ours,
        concurrency: r.concurrency,
        ratio: r.ratio,
        low: r.low,
        high: r.high,
        p50Ratio: r.p50Ratio,
        met: r.ratio >= target.atLeast,
        result: r.ratio >= target.atLeast ? 'met' : r.high >= target.atLeast ? 'within noise' : 'missed',
      })),
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
    lines.push('', 'ratios (above 1 = ours faster; ops/s: median of the rounds, then the lowest and highest round)');
    const rows = report.ratios.map((r) => [`${r.ours} vs ${r.against}`, r.operation, String(r.concurrency), `${fmt(r.ratio, 2)}x`, spread(r), `${fmt(r.p50Ratio, 2)}x`]);
    lines.push(...table(['pair', 'op', 'conc', 'ops/s', 'rounds', 'p50'], 2, rows));
  }
  if (report.ceilings.length > 0) {
    lines.push('', 'each raw floor against the alternatives: the most a store on that driver could reach');
    const rows = report.ceilings.map((r) => [`${r.ours} vs ${r.against}`, r.operation, String(r.concurrency), `${fmt(r.ratio, 2)}x`, spread(r), `${fmt(r.p50Ratio, 2)}x`]);
    lines.push(...table(['pair', 'op', 'conc', 'ops/s', 'rounds', 'p50'], 2, rows));
  }
  if (report.optionCosts.length > 0) {
    lines.push('', 'options on against the same store without them (ops/s ratio: below 1 is the cost; µs/op from the median throughputs, p50 from the latencies)');
    const rows = report.optionCosts.map((c) => [
      `${c.contender} vs ${c.baseline}`,
      c.operation,
      String(c.concurrency),
      `${fmt(c.ratio, 2)}x`,
      spread(c),
      `${signed(c.addedUs)} µs`,
      `${signed(c.p50AddedUs)} µs`,
    ]);
    lines.push(...table(['pair', 'op', 'conc', 'ops/s', 'rounds', 'per op', 'p50'], 2, rows));
  }
  if (report.targets.length > 0) {
    const rows = report.targets.map((t) => [
      t.ours,
      t.against,
      t.operation,
      String(t.concurrency),
      `>= ${fmt(t.atLeast, 2)}x`,
      `${fmt(t.ratio, 2)}x`,
      spread(t),
      t.result === 'missed' ? 'MISSED' : t.result,
      `${fmt(t.p50Ratio, 2)}x`,
    ]);
    lines.push('', 'targets (on the median throughput ratio; "within noise": some rounds reach the target, the median does not)');
    lines.push(...table(['ours', 'against', 'op', 'conc', 'target', 'ops/s', 'rounds', 'result', 'p50'], 3, rows));
  }
  return lines.join('\n');
}

export function spread(ratio: { low: number; high: number }): string {
  return `${fmt(ratio.low, 2)}-${fmt(ratio.high, 2)}`;
}

function signed(value: number): string {
  return Number.isFinite(value) && value > 0 ? `+${fmt(value, 1)}` : fmt(value, 1);
}

export function fmt(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '-';
}

/** Columns before `textColumns` are left-aligned, the rest (numbers) right-aligned. */
export function table(header: string[], textColumns: number, rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((cell, i) => (i < textColumns ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
}
