/** How long one prune statement should take at most, well inside the 50 ms that a live request may wait behind it. */
export const PRUNE_STATEMENT_TARGET_MS = 20;
/** The smallest batch: below it a statement's fixed cost (a round trip, a lock) outweighs the rows it deletes. */
const MIN_BATCH = 100;
/** Batches during which the loop stops halving once halving was seen not to shorten a statement. */
const HOLD_BATCHES = 16;

/**
 * The prune loop of a store: batch after batch until one comes back short, each batch sized by
 * how long the statements took. A full batch under half the target doubles the next one, up to
 * `maxBatch` (the store's pruneBatchSize); one over the target halves it, down to 100 rows, as
 * long as halving shortens statements. Where it does not (a server that scans the whole
 * collection whatever the batch), the batch goes back up and stays there for a while, so a
 * backend whose statements cannot be bounded by their size is not also made to run more of them.
 * The first run starts from the smallest batch; later runs go on from where the previous one ended.
 */
export class PruneBatches {
  private readonly minBatch: number;
  private size: number;
  /** The previous full batch, to see whether the last change of size changed the time. */
  private previous: { size: number; ms: number } | undefined;
  private batches = 0;
  /** No halving before this batch: halving was seen not to pay. */
  private holdUntil = 0;
  /** No try of a larger batch from the smallest before this batch. */
  private probeAfter = 0;

  constructor(
    private readonly maxBatch: number,
    /** The monotonic clock, in ms, that times each statement. */
    private readonly clock: () => number = () => performance.now(),
    private readonly targetMs: number = PRUNE_STATEMENT_TARGET_MS,
  ) {
    this.minBatch = Math.min(maxBatch, MIN_BATCH);
    this.size = this.minBatch;
  }

  /** The limit the next batch gets. */
  get nextSize(): number {
    return this.size;
  }

  /** Runs `removeBatch(limit)` until a batch removes fewer than its limit or `stopped()` holds; resolves to how many were removed. */
  async run(removeBatch: (limit: number) => Promise<number>, stopped: () => boolean): Promise<number> {
    let total = 0;
    for (;;) {
      const limit = this.size;
      const started = this.clock();
      const removed = await removeBatch(limit);
      if (removed === limit) this.resize(this.clock() - started);
      total += removed;
      if (removed < limit || stopped()) return total;
      // A macrotask between batches, so a synchronous backend (SQLite, memory) lets the process's requests run.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** Sizes the next batch from the time of this full one, and of the full one before it. */
  private resize(ms: number): void {
    const previous = this.previous;
    this.previous = { size: this.size, ms };
    this.batches++;
    if (ms < this.targetMs / 2) return this.grow();
    if (ms <= this.targetMs) return;
    if (previous !== undefined && previous.size > this.size) {
      // Halving took off less than a quarter of the time: the time is not the batch's doing.
      if (ms >= 0.75 * previous.ms) {
        this.holdUntil = this.batches + HOLD_BATCHES;
        return this.grow();
      }
      return this.shrink();
    }
    if (previous !== undefined && previous.size < this.size) {
      // Doubling cost next to nothing: a larger batch only means fewer statements.
      if (ms <= 1.25 * previous.ms) return this.grow();
      this.holdUntil = 0;
      return this.shrink();
    }
    if (this.batches < this.holdUntil) return;
    if (this.size > this.minBatch) return this.shrink();
    // Still over the target at the smallest batch: try a larger one now and then, to see whether size matters at all.
    if (this.batches >= this.probeAfter) {
      this.probeAfter = this.batches + HOLD_BATCHES;
      this.grow();
    }
  }

  private grow(): void {
    this.size = Math.min(this.maxBatch, this.size * 2);
  }

  private shrink(): void {
    this.size = Math.max(this.minBatch, Math.floor(this.size / 2));
  }
}
