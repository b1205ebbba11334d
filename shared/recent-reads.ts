/** How long a read's expiry stays usable: express-session touches a few milliseconds after its get. */
export const RECENT_READ_LIFETIME_MS = 2000;
/** Most reads kept at once: at 5,000 requests a second, every read of the last two seconds. */
export const RECENT_READ_CAPACITY = 10_000;

/** What one `get` read of a session: its stored expiry, and the end of its lifetime (Infinity for none). */
export interface Read {
  readonly expiresAt: number;
  readonly lifetimeEndsAt: number;
  readonly readAt: number;
}

/**
 * The stored expiry that each recent `get` read, by storage key, kept for the `touch` that the same
 * request sends next (and those of its concurrent requests): with it, a touch that `touchAfter`
 * skips needs no round trip. Bounded in count and in age, without timers: the oldest reads go as new ones come.
 */
export class RecentReads {
  /** In reading order, oldest first: a key read again moves to the end. */
  private readonly reads = new Map<string, Read>();

  constructor(
    private readonly lifetimeMs = RECENT_READ_LIFETIME_MS,
    private readonly capacity = RECENT_READ_CAPACITY,
  ) {}

  get size(): number {
    return this.reads.size;
  }

  /** Keeps the expiry (and lifetime end) read for `key` at `now`; an expiry the backend did not read (Infinity) is not kept. */
  remember(key: string, expiresAt: number, now: number, lifetimeEndsAt = Infinity): void {
    this.reads.delete(key);
    if (!Number.isFinite(expiresAt)) return;
    this.reads.set(key, { expiresAt, lifetimeEndsAt, readAt: now });
    for (const [oldest, read] of this.reads) {
      if (this.reads.size <= this.capacity && now - read.readAt <= this.lifetimeMs) break;
      this.reads.delete(oldest);
    }
  }

  /** The read of `key` within the lifetime of reads, if any. */
  recall(key: string, now: number): Read | undefined {
    const read = this.reads.get(key);
    return read !== undefined && now - read.readAt <= this.lifetimeMs ? read : undefined;
  }

  /** Drops the read of `key`: this process is writing or deleting it, so the read no longer says what is stored. */
  forget(key: string): void {
    this.reads.delete(key);
  }
}
