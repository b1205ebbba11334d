/** One bounded call, linked into its queue while it is pending. */
export interface Deadline {
  /** performance.now() at which the call expires. */
  readonly at: number;
  readonly expire: () => void;
  /** @internal */ previous: Deadline | undefined;
  /** @internal */ next: Deadline | undefined;
  /** @internal */ queued: boolean;
}

/**
 * The time bounds of a store's in-flight calls, all on one timer. Every call of a store gets the
 * same bound, so deadlines fall due in the order the calls started: a linked list in that order is
 * a queue whose head is the next to expire. Starting and finishing a call links and unlinks one
 * node, cheaper than a timer per call (an allocation, a timer-list insertion and a removal); under
 * steady load the one timer fires about once per bound.
 */
export class DeadlineQueue {
  private head: Deadline | undefined;
  private tail: Deadline | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly boundMs: number) {}

  /** Starts the clock on one call; `expire` runs if `finish` has not been called within the bound. */
  start(expire: () => void): Deadline {
    const deadline: Deadline = { at: performance.now() + this.boundMs, expire, previous: this.tail, next: undefined, queued: true };
    if (this.tail) this.tail.next = deadline;
    else this.head = deadline;
    this.tail = deadline;
    if (this.timer === undefined) this.arm(deadline.at);
    return deadline;
  }

  finish(deadline: Deadline): void {
    // The timer stays armed: when it fires, it re-arms for whatever call is then the oldest.
    if (deadline.queued) this.unlink(deadline);
  }

  /** Whether any call is pending. */
  get idle(): boolean {
    return this.head === undefined;
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    const now = performance.now();
    while (this.head !== undefined && this.head.at <= now) {
      const due = this.head;
      this.unlink(due);
      try {
        due.expire();
      } catch (error) {
        // A throwing listener reaches the process as before, and the calls behind it keep their bounds.
        this.armForHead();
        throw error;
      }
    }
    this.armForHead();
  };

  private unlink(deadline: Deadline): void {
    const { previous, next } = deadline;
    if (previous) previous.next = next;
    else this.head = next;
    if (next) next.previous = previous;
    else this.tail = previous;
    deadline.previous = deadline.next = undefined;
    deadline.queued = false;
  }

  private armForHead(): void {
    if (this.timer === undefined && this.head !== undefined) this.arm(this.head.at);
  }

  private arm(at: number): void {
    this.timer = setTimeout(this.fire, Math.max(1, Math.ceil(at - performance.now())));
    // A pending call keeps nothing alive by itself: its own I/O does, or the process may exit.
    this.timer.unref();
  }
}
