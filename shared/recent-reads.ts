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
 * The stored expiry that each recent `get` read, kept for the `touch` that the same request sends
 * next (and those of its concurrent requests): with it, a touch that `touchAfter` skips needs no
 * round trip. Keyed by the session id as express-session passes it, one string for a request's get
 * and touch, whose hash is computed once. A set forgets the read, since it writes another expiry; a
 * destroy need not, since a touch skipped writes nothing and so cannot bring back what it ended.
 * Bounded in count and in age, without timers: reads go a generation at a time as new ones come, so
 * a read costs one Map write and a touch one or two Map reads.
 */
export class RecentReads {
  /** The reads of the current generation, begun at `since`: at most `generationSize` of them, for at most one lifetime. */
  private current = new Map<string, Read>();
  /** The generation before: every read in it was taken before `since`. */
  private previous = new Map<string, Read>();
  private since = -Infinity;
  /** When the current generation's latest read was taken. */
  private latest = -Infinity;
  private readonly generationSize: number;

  constructor(
    private readonly lifetimeMs = RECENT_READ_LIFETIME_MS,
    capacity = RECENT_READ_CAPACITY,
  ) {
    // Two generations at most: together they never hold more than the capacity.
    this.generationSize = Math.max(1, Math.floor(capacity / 2));
  }

  get size(): number {
    return this.current.size + this.previous.size;
  }

  /** Keeps the expiry (and lifetime end) read for `key` at `now`; an expiry the backend did not read (Infinity) is not kept. */
  remember(key: string, expiresAt: number, now: number, lifetimeEndsAt = Infinity): void {
    if (!Number.isFinite(expiresAt)) {
      this.forget(key);
      return;
    }
    if (now - this.since > this.lifetimeMs || this.current.size >= this.generationSize) this.startGeneration(now);
    // A read kept in the generation before stays there, shadowed by this one.
    this.current.set(key, { expiresAt, lifetimeEndsAt, readAt: now });
    if (now > this.latest) this.latest = now;
  }

  /** The read of `key` within the lifetime of reads, if any. */
  recall(key: string, now: number): Read | undefined {
    const read = this.current.get(key) ?? this.previous.get(key);
    return read !== undefined && now - read.readAt <= this.lifetimeMs ? read : undefined;
  }

  /** Drops the read of `key`: this process is writing it, so the read no longer says what is stored. */
  forget(key: string): void {
    this.current.delete(key);
    this.previous.delete(key);
  }

  /** The current generation becomes the one before, unless none of its reads is still within a lifetime; the one before goes. */
  private startGeneration(now: number): void {
    this.previous = now - this.latest > this.lifetimeMs ? new Map() : this.current;
    this.current = new Map();
    this.since = now;
  }
}
