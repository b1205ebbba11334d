/**
 * One piece of setup (the TTL index) that every call waits for: concurrent callers share one
 * attempt, a success is kept, a failure that `isFinal` calls permanent is kept and returned to
 * every later caller, any other failure lets the next caller try again.
 */
export class SharedAttempt {
  private current: Promise<void> | undefined;

  constructor(
    private readonly run: () => Promise<void>,
    private readonly isFinal: (error: unknown) => boolean,
  ) {}

  /** Starts the attempt now, so it is under way before the first caller; its failure is left to callers. */
  start(): void {
    this.ready().catch(() => undefined);
  }

  ready(): Promise<void> {
    if (!this.current) {
      const attempt = this.run();
      this.current = attempt;
      attempt.catch((error: unknown) => {
        if (!this.isFinal(error) && this.current === attempt) this.current = undefined;
      });
    }
    return this.current;
  }
}
