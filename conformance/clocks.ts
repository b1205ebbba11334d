import type { SuiteClock } from './types';

export class FakeClock implements SuiteClock {
  readonly injectable = true;
  readonly unit = 60_000;
  private current = Date.now();

  now = (): number => this.current;

  async advance(ms: number): Promise<void> {
    this.current += ms;
  }
}

export class RealClock implements SuiteClock {
  readonly injectable = false;
  readonly unit = 1000;
  /** The ms asked to wait so far: a case that took much longer was held up, and its timing is off. */
  advanced = 0;

  now = (): number => Date.now();

  advance(ms: number): Promise<void> {
    this.advanced += Math.max(0, ms);
    return new Promise((resolve) => setTimeout(resolve, ms));
  }
}
