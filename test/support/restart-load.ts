import type { SessionData } from 'express-session';
import { aSession } from './sessions';
import { timed } from './timed';

/** What a store's restart test drives: the two calls every request makes. */
export interface LoadedStore {
  set(sid: string, session: SessionData): Promise<void>;
  get(sid: string): Promise<SessionData | null>;
}

/** What the workers of one store saw: per sid, the last version a set acknowledged. */
export interface Load {
  acknowledged: Map<string, number>;
  calls: number;
  failures: number;
  slowestMs: number;
  unexpected: unknown[];
  stop(): Promise<void>;
}

/**
 * `workers` workers, each writing versions 1, 2, 3… of its own sessions and reading them back,
 * until stopped. Every call is timed; a failure must be a SessionStoreError.
 */
export function startLoad(store: LoadedStore, label: string, workers: number): Load {
  const load: Load = { acknowledged: new Map(), calls: 0, failures: 0, slowestMs: 0, unexpected: [], stop: async () => undefined };
  let running = true;
  const worker = async (w: number) => {
    for (let n = 1; running; n++) {
      const sid = `${label}-${w}-${n % 4}`;
      const write = await timed(store.set(sid, aSession({ n })));
      const read = await timed(store.get(sid));
      for (const outcome of [write, read]) {
        load.calls++;
        load.slowestMs = Math.max(load.slowestMs, outcome.ms);
        if (outcome.error === undefined) continue;
        load.failures++;
        if ((outcome.error as { name?: unknown }).name !== 'SessionStoreError') load.unexpected.push(outcome.error);
      }
      if (write.error === undefined) load.acknowledged.set(sid, n);
      // A store failing fast during an outage must not turn a worker into a busy loop.
      if (write.error !== undefined && write.ms < 5) await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };
  const running$ = Promise.all(Array.from({ length: workers }, (_, w) => worker(w)));
  load.stop = async () => {
    running = false;
    await running$;
  };
  return load;
}

/** Resolves to how long `store` took to answer a set and a get again; rejects after `boundMs`. */
export async function recovered(store: LoadedStore, boundMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    const { error } = await timed(store.set('probe', aSession({ n: 0 })).then(() => store.get('probe')));
    if (error === undefined) return Date.now() - started;
    if (Date.now() - started > boundMs) throw new Error(`the store did not recover within ${boundMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Sids whose stored version is older than the last one a set acknowledged: writes the outage lost. */
export async function lostWrites(store: LoadedStore, load: Load): Promise<string[]> {
  const lost: string[] = [];
  for (const [sid, n] of load.acknowledged) {
    const stored = (await store.get(sid)) as unknown as { n: number } | null;
    if ((stored?.n ?? 0) < n) lost.push(sid);
  }
  return lost;
}
