import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import path from 'node:path';

/**
 * The CPU profile of one app over its measured rounds only: with SESSION_STORES_BENCH_CPU_PROF=<dir>,
 * sampling starts when the bench sends `profile` (after every app's logins and warm-up) and stops
 * when it stops the app, which then writes `<dir>/<store>-<contender>.cpuprofile` (Chrome DevTools'
 * format) and, beside it, a `.json` with the requests served while sampling, to put the profile's
 * times per request. Between its rounds the app only idles, which the profile shows as `(idle)`.
 * Samples are SESSION_STORES_BENCH_CPU_PROF_INTERVAL µs apart (V8's default: 1000).
 */
export class WindowProfile {
  private readonly session = new Session();
  private running: { file: string; requestsAtStart: number } | undefined;

  private constructor(
    private readonly directory: string,
    private readonly intervalUs: number | undefined,
  ) {}

  /** The profile the environment asks for, or undefined when it asks for none. */
  static fromEnvironment(): WindowProfile | undefined {
    const directory = process.env.SESSION_STORES_BENCH_CPU_PROF;
    if (!directory) return undefined;
    const interval = process.env.SESSION_STORES_BENCH_CPU_PROF_INTERVAL;
    const intervalUs = interval ? Number(interval) : undefined;
    if (intervalUs !== undefined && !(Number.isInteger(intervalUs) && intervalUs > 0)) {
      throw new Error(`SESSION_STORES_BENCH_CPU_PROF_INTERVAL must be a positive integer of µs, got ${interval}`);
    }
    return new WindowProfile(directory, intervalUs);
  }

  /** Starts sampling, for the files `file`.cpuprofile and `file`.json, unless it has started already. */
  async start(file: string, requests: number): Promise<void> {
    if (this.running !== undefined) return;
    this.running = { file, requestsAtStart: requests };
    this.session.connect();
    await this.post('Profiler.enable');
    if (this.intervalUs !== undefined) await this.post('Profiler.setSamplingInterval', { interval: this.intervalUs });
    await this.post('Profiler.start');
  }

  /** Writes the profile, when sampling started, into new files: a file already there is left as it is and the write fails. */
  async stop(requests: number): Promise<void> {
    const running = this.running;
    if (running === undefined) return;
    this.running = undefined;
    const { profile } = (await this.post('Profiler.stop')) as { profile: unknown };
    this.session.disconnect();
    const base = path.join(this.directory, running.file);
    const summary = { requests: requests - running.requestsAtStart, intervalUs: this.intervalUs ?? 1000 };
    writeFileSync(`${base}.json`, `${JSON.stringify(summary)}\n`, { flag: 'wx' });
    writeFileSync(`${base}.cpuprofile`, JSON.stringify(profile), { flag: 'wx' });
  }

  private post(method: string, params?: object): Promise<unknown> {
    return new Promise((resolve, reject) => this.session.post(method, params ?? {}, (error, result) => (error ? reject(error) : resolve(result))));
  }
}

/** `postgres`, `PostgresStore touchAfter=60000` → `postgres-PostgresStore-touchAfter-60000`: one name per contender of a run. */
export function profileFileOf(store: string, contender: string): string {
  return `${store} ${contender}`.replace(/[^A-Za-z0-9_.]+/g, '-').replace(/^-+|-+$/g, '');
}
