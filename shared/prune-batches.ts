/** How long one prune statement should take at most, well inside the 50 ms that a live request may wait behind it. */
export const PRUNE_STATEMENT_TARGET_MS = 20;
/** The smallest batch: below it a statement's fixed cost (a round trip, a lock) outweighs the rows it deletes. */
const MIN_BATCH = 100;

/**
 * The prune loop of a store: batch after batch until one comes back short, each batch sized by
 * the time the previous statement took. A statement over the target halves the next batch; a full
 * one under half of it doubles the next, up to `maxBatch` (the store's pruneBatchSize). The first
 * run starts from the smallest batch; later runs start from the size the previous run ended with.
 */
export class PruneBatches {
  private readonly minBatch: number;
  private size: number;

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
      this.resize(this.clock() - started, removed === limit);
      total += removed;
      if (removed < limit || stopped()) return total;
      // A macrotask between batches, so a synchronous backend (SQLite, memory) lets the process's requests run.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  private resize(elapsedMs: number, full: boolean): void {
    if (elapsedMs > this.targetMs) this.size = Math.max(this.minBatch, Math.floor(this.size / 2));
    else if (full && elapsedMs < this.targetMs / 2) this.size = Math.min(this.maxBatch, this.size * 2);
  }
}
