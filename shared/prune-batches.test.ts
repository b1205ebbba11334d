import { PRUNE_STATEMENT_TARGET_MS, PruneBatches } from './prune-batches';

/**
 * A table of `expired` rows behind a fake statement clock: the statement of batch `index` that
 * deletes `rows` rows takes `statementMs(rows, index)` on the clock the loop reads, so each case
 * sets how slow statements are without waiting for anything.
 */
function table(expired: number, statementMs: (rows: number, index: number) => number) {
  let clockMs = 0;
  let left = expired;
  const limits: number[] = [];
  const took: number[] = [];
  return {
    clock: () => clockMs,
    limits,
    took,
    async removeBatch(limit: number): Promise<number> {
      const removed = Math.min(limit, left);
      const ms = statementMs(removed, limits.length);
      left -= removed;
      clockMs += ms;
      limits.push(limit);
      took.push(ms);
      return removed;
    },
    get left() {
      return left;
    },
  };
}

const never = () => false;
const perRow = (ms: number) => (rows: number) => rows * ms;

describe('PruneBatches', () => {
  it('removes every expired row and resolves to how many, ending at the first short batch', async () => {
    const rows = table(2500, perRow(0.001));
    const batches = new PruneBatches(1000, rows.clock);
    expect(await batches.run((limit) => rows.removeBatch(limit), never)).toBe(2500);
    expect(rows.left).toBe(0);
    expect(rows.limits).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('grows a batch only up to pruneBatchSize, and only while statements take under half the target', async () => {
    // 800 rows take 8 ms, 1600 take 16 ms, so 1600 is where it stays.
    const rows = table(20_000, perRow(0.01));
    await new PruneBatches(5000, rows.clock).run((limit) => rows.removeBatch(limit), never);
    expect(Math.max(...rows.limits)).toBe(1600);
    expect(Math.max(...rows.took)).toBeLessThanOrEqual(PRUNE_STATEMENT_TARGET_MS);
  });

  it('halves the batch after each statement over the target until statements fit again, then grows it back', async () => {
    // Batches 7 to 19 run on a busy server, where each row costs 40 times as much.
    const rows = table(100_000, (n, index) => n * (index >= 7 && index < 20 ? 0.04 : 0.001));
    await new PruneBatches(5000, rows.clock).run((limit) => rows.removeBatch(limit), never);
    expect(rows.limits.slice(0, 7)).toEqual([100, 200, 400, 800, 1600, 3200, 5000]);
    // 5000 rows take 200 ms, 2500 100 ms, 1250 50 ms, 625 25 ms, 312 12.5 ms: under the target, where it stays.
    expect(rows.limits.slice(7, 14)).toEqual([5000, 2500, 1250, 625, 312, 312, 312]);
    expect(Math.max(...rows.took.slice(11, 20))).toBeLessThanOrEqual(PRUNE_STATEMENT_TARGET_MS);
    // Once rows are cheap again the batch doubles back up to pruneBatchSize.
    expect(rows.limits.slice(20, 26)).toEqual([312, 624, 1248, 2496, 4992, 5000]);
    expect(rows.left).toBe(0);
  });

  it('never shrinks a batch below 100 rows, tries twice that once in 16 batches, and never exceeds a smaller pruneBatchSize', async () => {
    const slow = table(4000, perRow(1));
    await new PruneBatches(5000, slow.clock).run((limit) => slow.removeBatch(limit), never);
    expect(Math.min(...slow.limits)).toBe(100);
    // Twice the rows took twice as long, so each try went back to 100 at once.
    expect(slow.limits.slice(0, 4)).toEqual([100, 200, 100, 100]);
    expect(slow.limits.flatMap((limit, index) => (limit > 100 ? [`${limit} at ${index}`] : []))).toEqual(['200 at 1', '200 at 17', '200 at 33']);
    const small = table(120, perRow(0.001));
    await new PruneBatches(50, small.clock).run((limit) => small.removeBatch(limit), never);
    expect(small.limits).toEqual([50, 50, 50]);
  });

  it('keeps batches at pruneBatchSize where a statement takes as long whatever its size, as on a server that scans the whole collection', async () => {
    const rows = table(200_000, () => 1500);
    await new PruneBatches(1000, rows.clock).run((limit) => rows.removeBatch(limit), never);
    expect(rows.limits.slice(0, 5)).toEqual([100, 200, 400, 800, 1000]);
    expect(rows.limits.filter((limit) => limit === 1000).length / rows.limits.length).toBeGreaterThan(0.9);
    // With batches of 1000 throughout it would be 201 statements.
    expect(rows.limits.length).toBeLessThan(220);
  });

  it('takes up its size again at once when a second stall struck the statement right after a halving', async () => {
    // 800 rows take 12 ms; the statements of batches 5 and 6 stall for 150 ms.
    const rows = table(50_000, (n, index) => n * 0.015 + (index === 5 || index === 6 ? 150 : 0));
    await new PruneBatches(5000, rows.clock).run((limit) => rows.removeBatch(limit), never);
    expect(rows.limits.slice(0, 9)).toEqual([100, 200, 400, 800, 800, 800, 400, 800, 800]);
    expect(Math.max(...rows.limits)).toBe(800);
  });

  it('starts a run from the size the previous run ended with', async () => {
    let msPerRow = 0.001;
    const rows = table(Infinity, (n) => n * msPerRow);
    const batches = new PruneBatches(5000, rows.clock);
    await batches.run((limit) => rows.removeBatch(limit), () => rows.limits.length === 8);
    expect(batches.nextSize).toBe(5000);
    msPerRow = 0.1;
    await batches.run((limit) => rows.removeBatch(limit), () => rows.limits.length === 11);
    expect(rows.limits.slice(8)).toEqual([5000, 2500, 1250]);
    expect(batches.nextSize).toBe(625);
  });

  it('ends the run after the batch during which stopped() turned true', async () => {
    const rows = table(10_000, perRow(0.001));
    let closing = false;
    const removed = await new PruneBatches(1000, rows.clock).run(async (limit) => {
      closing = rows.limits.length === 1;
      return rows.removeBatch(limit);
    }, () => closing);
    expect(rows.limits).toEqual([100, 200]);
    expect(removed).toBe(300);
  });

  it('lets queued macrotasks run between two batches of a synchronous backend', async () => {
    const rows = table(1000, perRow(0.001));
    let batchesBeforeTimer: number | undefined;
    setImmediate(() => (batchesBeforeTimer = rows.limits.length));
    await new PruneBatches(1000, rows.clock).run((limit) => rows.removeBatch(limit), never);
    expect(batchesBeforeTimer).toBe(1);
  });
});
