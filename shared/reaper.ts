/**
 * Runs `task` every `intervalMs` (each wait jittered by ±25% so app instances started together
 * spread out), on an unref'd timer that never keeps the process alive. Runs never overlap.
 */
export class Reaper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;

  constructor(
    private readonly intervalMs: number,
    private readonly task: () => Promise<unknown>,
  ) {}

  start(): void {
    if (this.intervalMs > 0 && !this.stopped) this.schedule();
  }

  /** Runs the task now, or joins the run already under way. */
  runNow<T>(task: () => Promise<T>): Promise<T> {
    const run = (this.running as Promise<T> | undefined) ?? task().finally(() => (this.running = undefined));
    this.running = run;
    return run;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    const jittered = this.intervalMs * (0.75 + Math.random() * 0.5);
    this.timer = setTimeout(() => {
      this.runNow(this.task)
        .catch(() => undefined)
        .finally(() => {
          if (!this.stopped) this.schedule();
        });
    }, jittered);
    this.timer.unref();
  }
}
