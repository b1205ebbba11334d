import os from 'node:os';

/** The table every prune measurement fills: this many expired sessions (SESSION_STORES_BENCH_PRUNE_ROWS, default a million) among PRUNE_LIVE_ROWS live ones. */
export const PRUNE_ROWS = Number(process.env.SESSION_STORES_BENCH_PRUNE_ROWS ?? 1_000_000);
if (!Number.isInteger(PRUNE_ROWS) || PRUNE_ROWS <= 0) throw new Error(`SESSION_STORES_BENCH_PRUNE_ROWS must be a positive integer, got ${process.env.SESSION_STORES_BENCH_PRUNE_ROWS}`);
export const PRUNE_LIVE_ROWS = 10_000;
/** A session as express-session writes one, about half a kilobyte encoded. */
export const PRUNE_PAYLOAD = JSON.stringify({ cookie: { originalMaxAge: null, path: '/' }, data: 'x'.repeat(400) });

/** Collects the duration of every statement a prune sends; a store's bench feeds it from a hook on its driver. */
export class StatementTimes {
  readonly ms: number[] = [];

  /** Starts timing one statement; the function it returns ends it. */
  start(): () => void {
    const started = performance.now();
    return () => void this.ms.push(performance.now() - started);
  }

  /** Times a statement that reports back through a promise. */
  time<T>(statement: () => Promise<T>): Promise<T> {
    const finish = this.start();
    return statement().finally(finish);
  }
}

export interface PruneMeasurement {
  /** The store, its table filled, its statement hook installed; closed afterwards. */
  store: { prune(): Promise<number>; close(): Promise<void> };
  statements: StatementTimes;
  /** What the statements are, for the report line: `statements`, `DELETEs`, `commands`. */
  statementKind: string;
  /** The store's pruneBatchSize, the largest batch a statement may take. */
  batchSize: number;
  expiredRows: number;
  liveRows: number;
  /** The rows left in the table once the prune is done. */
  countLeft(): Promise<number>;
  /** How the table was readied, where that bears on the figures (PostgreSQL: whether the fill's checkpoint was done first). */
  note?: string;
}

/** Runs one store's prune over its filled table and reports the whole run and every statement of it in one line. */
export async function measuredPrune(measurement: PruneMeasurement): Promise<string[]> {
  const { store, statements, statementKind, batchSize, expiredRows, liveRows } = measurement;
  const loadBefore = loadAverage();
  const started = performance.now();
  const removed = await store.prune();
  const totalMs = performance.now() - started;
  await store.close();
  const left = await measurement.countLeft();
  const sorted = [...statements.ms].sort((a, b) => a - b);
  const at = (p: number) => (sorted.length === 0 ? 'n/a' : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!.toFixed(1));
  const count = (n: number) => n.toLocaleString('en-US');
  return [
    `prune: ${count(removed)} expired rows (of ${count(expiredRows + liveRows)}) in ${(totalMs / 1000).toFixed(2)} s, ${count(Math.round(removed / (totalMs / 1000)))} rows/s, ` +
      `${count(sorted.length)} ${statementKind} of at most ${count(batchSize)} rows: median ${at(0.5)} ms, p99 ${at(0.99)} ms, longest ${at(1)} ms; ` +
      `${count(left)} rows left; load average ${loadBefore} before, ${loadAverage()} after${measurement.note ? `; ${measurement.note}` : ''}`,
  ];
}

/** Whether the prune measurement of a suite is skipped, and the note that says so. */
export function pruneSkipped(): string[] | undefined {
  return process.env.SESSION_STORES_BENCH_SKIP_PRUNE === '1' ? ['prune: skipped (SESSION_STORES_BENCH_SKIP_PRUNE=1)'] : undefined;
}

function loadAverage(): string {
  return os.loadavg().map((load) => load.toFixed(2)).join(' ');
}
