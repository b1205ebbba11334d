import type { SessionData, Store } from 'express-session';
import type { LoadResult } from './http-load';
import { randomFrom } from './random';

/**
 * `--in-process`: the app's own process drives its store as express-session does, without HTTP, so
 * that the CPU per request is the store's (and express-session's Session and Cookie, the same for
 * every contender) rather than mostly the HTTP stack's.
 */

export interface DriveJob {
  type: 'drive';
  /** The cookies the app's POST /login handed out: the sessions to read. */
  cookies: string[];
  /** Requests in flight at once, as the HTTP bench's connections. */
  concurrency: number;
  durationSec: number;
  writeShare: number;
  seed: number;
}

/** The session id inside an express-session cookie: `name=s%3A<id>.<signature>`. */
export function sidOfCookie(cookie: string): string {
  const value = decodeURIComponent(cookie.slice(cookie.indexOf('=') + 1));
  if (!value.startsWith('s:') || value.lastIndexOf('.') < 2) throw new Error('not a signed express-session cookie');
  return value.slice(2, value.lastIndexOf('.'));
}

/**
 * Runs `job.concurrency` request loops for `job.durationSec`. Each request does what express-session
 * does for one request of the HTTP bench: `get`, then in the callback `createSession` and
 * `Session#touch`, then `Session#save` (a write, which increments `hits`) or `store.touch`. The next
 * request of a loop starts in the next turn of the event loop, as the next request of a connection would.
 */
export function drive(store: Store, job: DriveJob): Promise<LoadResult> {
  const sids = job.cookies.map(sidOfCookie);
  const random = randomFrom(job.seed);
  const latencies: number[] = [];
  let failed = 0;
  const started = performance.now();
  const stopAt = started + job.durationSec * 1000;
  const cpuBefore = process.cpuUsage();
  return new Promise((resolve) => {
    let running = job.concurrency;
    const finish = () => {
      if (--running > 0) return;
      const seconds = (performance.now() - started) / 1000;
      latencies.sort((a, b) => a - b);
      const at = (share: number) => latencies[Math.min(latencies.length - 1, Math.floor(share * latencies.length))] ?? 0;
      const cpu = process.cpuUsage(cpuBefore);
      resolve({ type: 'result', requests: latencies.length, seconds, p50Ms: at(0.5), p99Ms: at(0.99), non2xx: 0, errors: failed, timeouts: 0, cpuUs: cpu.user + cpu.system });
    };
    const next = () => {
      if (performance.now() >= stopAt) {
        finish();
        return;
      }
      const write = random() < job.writeShare;
      const sid = sids[Math.floor(random() * sids.length)]!;
      const begun = performance.now();
      const done = (error?: unknown) => {
        if (error) failed++;
        else latencies.push(performance.now() - begun);
        setImmediate(next);
      };
      store.get(sid, (error: unknown, data?: SessionData | null) => {
        if (error || !data) {
          done(error ?? new Error('no session'));
          return;
        }
        const req = { sessionID: sid, sessionStore: store };
        const current = store.createSession(req as never, data) as SessionData & { touch(): void; save(callback: (error?: unknown) => void): void };
        current.touch();
        if (write) {
          (current as unknown as { hits: number }).hits++;
          current.save(done);
        } else {
          store.touch!(sid, current, done);
        }
      });
    };
    for (let loop = 0; loop < job.concurrency; loop++) setImmediate(next);
  });
}
