import { PRUNE_STATEMENT_TARGET_MS, PruneBatches } from './prune-batches';

/**
 * A table of `expired` rows behind a fake statement clock: a batch of n rows takes `msPerRow() * n`
 * on the clock the loop reads, so each case sets how slow rows are without waiting for anything.
 */
function table(expired: number, msPerRow: () => number) {
  let clockMs = 0;
  let left = expired;
  const limits: number[] = [];
  const statementMs: number[] = [];
  return {
    clock: () => clockMs,
    limits,
    statementMs,
    async removeBatch(limit: number): Promise<number> {
      const removed = Math.min(limit, left);
      const took = msPerRow() * removed;
      left -= removed;
      clockMs += took;
      limits.push(limit);
      statementMs.push(took);
      return removed;
    },
    get left() {
      return left;
    },
  };
}

const never = () => false;

describe('PruneBatches', () => {
  it('removes every expired row and resolves to how many, ending at the first short batch', async () => {
    const rows = table(2500, () => 0.001);
    const batches = new PruneBatches(1000, rows.clock);
    expect(await batches.run((limit) => rows.removeBatch(limit), never)).toBe(2500);
    expect(rows.left).toBe(0);
    expect(rows.limits).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('grows a batch only up to pruneBatchSize, and only while statements take under half the target', async () => {
    // 0.01 ms a row: 800 rows take 8 ms, 1600 take 16 ms, so 1600 is where it stays.
    const rows = table(20_000, () => 0.01);
    const batches = new PruneBatches(5000, rows.clock);
    await batches.run((limit) => rows.removeBatch(limit), never);
    expect(Math.max(...rows.limits)).toBe(1600);
    expect(Math.max(...rows.statementMs)).toBeLessThanOrEqual(PRUNE_STATEMENT_TARGET_MS);
  });

  it('halves the batch after each statement over the target until statements fit again, then grows it back', async () => {
    // Batches 7 to 19 run on a busy server, where each row costs 40 times as much.
    const rows = table(100_000, () => (rows.limits.length >= 7 && rows.limits.length < 20 ? 0.04 : 0.001));
    await new PruneBatches(5000, rows.clock).run((limit) => rows.removeBatch(limit), never);
    expect(rows.limits.slice(0, 7)).toEqual([100, 200, 400, 800, 1600, 3200, 5000]);
    // 5000 rows take 200 ms, 2500 100 ms, 1250 50 ms, 625 25 ms, 312 12.5 ms: under the target, where it stays.
    expect(rows.limits.slice(7, 14)).toEqual([5000, 2500, 1250, 625, 312, 312, 312]);
    expect(Math.max(...rows.statementMs.slice(11, 20))).toBeLessThanOrEqual(PRUNE_STATEMENT_TARGET_MS);
    // Once rows are cheap again the batch doubles back up to pruneBatchSize.
    expect(rows.limits.slice(20, 26)).toEqual([312, 624, 1248, 2496, 4992, 5000]);
    expect(rows.left).toBe(0);
  });

  it('never shrinks a batch below 100 rows, nor lets it exceed a pruneBatchSize smaller than that', async () => {
    const slow = table(1000, () => 1);
    await new PruneBatches(5000, slow.clock).run((limit) => slow.removeBatch(limit), never);
    expect(new Set(slow.limits)).toEqual(new Set([100]));
    const small = table(120, () => 0.001);
    await new PruneBatches(50, small.clock).run((limit) => small.removeBatch(limit), never);
    expect(small.limits).toEqual([50, 50, 50]);
  });

  it('starts a run from the size the previous run ended with', async () => {
    let msPerRow = 0.001;
    const rows = table(Infinity, () => msPerRow);
    const batches = new PruneBatches(5000, rows.clock);
    await batches.run((limit) => rows.removeBatch(limit), () => rows.limits.length === 8);
    expect(batches.nextSize).toBe(5000);
    msPerRow = 0.1;
    await batches.run((limit) => rows.removeBatch(limit), () => rows.limits.length === 11);
    expect(rows.limits.slice(8)).toEqual([5000, 2500, 1250]);
    expect(batches.nextSize).toBe(625);
  });

  it('ends the run after the batch during which stopped() turned true', async () => {
    const rows = table(10_000, () => 0.001);
    let closing = false;
    const removed = await new PruneBatches(1000, rows.clock).run(async (limit) => {
      closing = rows.limits.length === 1;
      return rows.removeBatch(limit);
    }, () => closing);
    expect(rows.limits).toEqual([100, 200]);
    expect(removed).toBe(300);
  });

  it('lets queued macrotasks run between two batches of a synchronous backend', async () => {
    const rows = table(1000, () => 0.001);
    let batchesBeforeTimer: number | undefined;
    setImmediate(() => (batchesBeforeTimer = rows.limits.length));
    await new PruneBatches(1000, rows.clock).run((limit) => rows.removeBatch(limit), never);
    expect(batchesBeforeTimer).toBe(1);
  });
});
