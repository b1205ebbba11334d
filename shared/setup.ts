/**
 * One piece of backend setup (a table, an index) that every call waits for: concurrent callers
 * share one attempt, a success is kept (and `isDone` lets callers skip the wait from then on), a
 * failure that `isFinal` calls permanent is kept and returned to every later caller, any other
 * failure lets the next caller try again.
 */
export class SharedAttempt {
  private current: Promise<void> | undefined;
  private done = false;

  constructor(
    private readonly run: () => Promise<void>,
    private readonly isFinal: (error: unknown) => boolean = () => false,
  ) {}

  /** Whether the setup has succeeded, so a caller need not wait for it. */
  get isDone(): boolean {
    return this.done;
  }

  /** Starts the attempt now, so it is under way before the first caller; its failure is left to callers. */
  start(): void {
    this.ready().catch(() => undefined);
  }

  ready(): Promise<void> {
    if (!this.current) {
      const attempt = this.run();
      this.current = attempt;
      attempt.then(
        () => {
          if (this.current === attempt) this.done = true;
        },
        (error: unknown) => {
          if (!this.isFinal(error) && this.current === attempt) this.current = undefined;
        },
      );
    }
    return this.current;
  }
}
