import path from 'node:path';
import session, { type Store } from 'express-session';
import { MemoryStore } from '../stores/memory';
import { Context } from './case-context';
import { ConformanceRun } from './conformance-run';
import { runCases } from './core';
import type { ProcessCrash } from './process-watch';
import type { CaseResult, ConformanceConfig, StoreFactoryOptions } from './types';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Methods = Record<string, (...args: any[]) => any>;
type Callback = (error: unknown, value?: unknown) => void;
/** Changes a store's methods the way another store differs from ours. */
type Adjust = (store: Methods) => void;

/** A config on our MemoryStore, with `adjust` changing each store the way another store differs. */
function memoryConfig(ids: string[], adjust: Adjust = () => undefined, extra: Partial<ConformanceConfig> = {}): ConformanceConfig {
  return {
    name: 'adjusted MemoryStore',
    makeStore: (options: StoreFactoryOptions) => {
      const store = new MemoryStore({ now: options.now, ttl: options.ttl, touchAfter: options.touchAfter, disableTouch: options.disableTouch });
      adjust(store as unknown as Methods);
      return store as unknown as Store;
    },
    clock: 'injectable',
    supports: { namespaces: true, ttl: true, touchAfter: true, disableTouch: true },
    filter: (id) => ids.includes(id),
    ...extra,
  };
}

const statuses = (results: CaseResult[]) => Object.fromEntries(results.map((r) => [r.id, r.status]));

describe('the suite judges what express-session allows', () => {
  it('accepts all() calling back an array, and only warns that it is not keyed by sid', async () => {
    const asArray: Adjust = (store) => {
      const keyed = store.all!.bind(store);
      store.all = (callback: Callback) => keyed((error: unknown, all: object) => callback(error, all && Object.values(all)));
    };
    const ids = ['expired-sessions-not-in-all', 'namespaces-isolate-all', 'clear-removes-every-session', 'all-returns-sessions-keyed-by-sid'];
    expect(statuses(await runCases(memoryConfig(ids, asArray)))).toEqual({
      'expired-sessions-not-in-all': 'pass',
      'namespaces-isolate-all': 'pass',
      'clear-removes-every-session': 'pass',
      'all-returns-sessions-keyed-by-sid': 'warn',
    });
  });

  it('still fails all() that returns an expired session, whatever its shape', async () => {
    // Every row ever written, as a store whose all() has no expiry condition returns them.
    const everyRow: Adjust = (store) => {
      const rows: unknown[] = [];
      const set = store.set!.bind(store);
      store.set = (sid: string, session: object, callback: Callback) => {
        rows.push({ sid, sess: JSON.stringify(session) });
        set(sid, session, callback);
      };
      store.all = (callback: Callback) => setImmediate(() => callback(null, rows));
    };
    const [result] = await runCases(memoryConfig(['expired-sessions-not-in-all'], everyRow));
    expect(result).toMatchObject({ status: 'fail', reason: expect.stringContaining('all() returned an expired session') });
  });

  it('treats a prune() that takes no callback and returns no promise as synchronous', async () => {
    const syncPrune: Adjust = (store) => {
      store.prune = () => undefined;
    };
    const [result] = await runCases(memoryConfig(['prune-keeps-live-sessions'], syncPrune));
    expect(result!.status).toBe('pass');
    expect(result!.ms).toBeLessThan(1000);
  });

  it('releases a store whose close() only returns a promise without waiting out the deadline', async () => {
    const promiseOnlyClose: Adjust = (store) => {
      const close = store.close!.bind(store);
      store.close = () => close();
    };
    const [result] = await runCases(memoryConfig(['get-missing-calls-back-nothing'], promiseOnlyClose));
    expect(result!.status).toBe('pass');
    expect(result!.ms).toBeLessThan(1000);
  });

  it('hands stores express-session’s Cookie, whose maxAge getter gives the time left', () => {
    const run = new ConformanceRun(memoryConfig([], undefined, { clock: 'real' }));
    const ctx = new Context(run, new Set());
    const cookie = ctx.session({}, { expiresAt: Date.now() + 60_000 }).cookie as unknown as { maxAge: number; originalMaxAge: number };
    expect(cookie.maxAge).toBeGreaterThan(59_000);
    expect(cookie.maxAge).toBeLessThanOrEqual(60_000);
    expect(JSON.parse(JSON.stringify(cookie))).toEqual({
      originalMaxAge: expect.any(Number),
      expires: expect.any(String),
      secure: false,
      httpOnly: true,
      path: '/',
    });
  });
});

describe('on the wall clock', () => {
  it('runs the cases that wait alongside each other, looking 1.5 s either side of an expiry', async () => {
    const ids = ['expired-session-not-returned-by-get', 'touch-extends-expiry', 'cookie-expires-wins-over-a-longer-ttl'];
    const started = performance.now();
    const results = await runCases(memoryConfig(ids, undefined, { clock: 'real' }));
    const elapsed = performance.now() - started;
    expect(statuses(results)).toEqual(Object.fromEntries(ids.map((id) => [id, 'pass'])));
    const waited = results.reduce((sum, r) => sum + r.ms, 0);
    expect(waited).toBeGreaterThan(9000);
    expect(elapsed).toBeLessThan(waited - 3000);
  }, 30_000);

  it('runs a case again when it fell behind its waits, instead of failing a store that keeps whole seconds', async () => {
    let stalled = false;
    const config = memoryConfig(['expired-session-not-returned-by-get'], undefined, {
      clock: 'real',
      // Ends sessions up to a second early, as a store truncating expiry to whole seconds may.
      makeStore: () => {
        const store = new MemoryStore({ now: () => Date.now() + 999 }) as unknown as Methods;
        const [get, set] = [store.get!.bind(store), store.set!.bind(store)];
        let written = false;
        store.set = (sid: string, session: object, callback: Callback) => {
          written = true;
          set(sid, session, callback);
        };
        // The first read of a written session comes 0.7 s late, as on a machine busy with something else.
        store.get = (sid: string, callback: Callback) => {
          if (written && !stalled) {
            stalled = true;
            const until = Date.now() + 700;
            while (Date.now() < until);
          }
          get(sid, callback);
        };
        return store as unknown as Store;
      },
    });
    const [result] = await runCases(config);
    expect(stalled).toBe(true);
    expect(result).toMatchObject({ status: 'pass' });
    // The late attempt stops at its first check, 1.2 s in; the second runs the whole 3.5 s.
    expect(result!.ms).toBeGreaterThan(4500);
  }, 30_000);
});

describe('close-lets-the-process-exit', () => {
  const factoryModule = path.join(__dirname, 'fixtures/closeless-factory.js');
  const config = (): ConformanceConfig => ({
    name: 'closeless',
    // Only the child loads the module: its timer must not start in this process.
    makeStore: () => new session.MemoryStore(),
    factoryModule,
    filter: (id) => id === 'close-lets-the-process-exit',
  });

  it('passes a store without close() when nothing keeps its process alive', async () => {
    const [result] = await runCases(config());
    expect(result).toMatchObject({ status: 'pass' });
  }, 30_000);

  it('warns when a timer the store started keeps its process alive', async () => {
    process.env.CONFORMANCE_FIXTURE_TIMER = '1';
    try {
      const [result] = await runCases(config());
      expect(result).toMatchObject({ status: 'warn', reason: expect.stringContaining('still alive') });
    } finally {
      delete process.env.CONFORMANCE_FIXTURE_TIMER;
    }
  }, 30_000);
});

describe('runCases watching the process for the whole run', () => {
  const ids = ['get-missing-calls-back-nothing', 'set-overwrites-the-whole-session', 'destroy-removes-the-session'];
  // Emitted by hand: in jest's sandbox a real uncaught exception would fail this test itself.
  const crash = (message: string) => (process as NodeJS.EventEmitter).emit('uncaughtException', new Error(message));

  it('with stopAtCrash, charges a crash to the case it came in and reports the cases after it as not run', async () => {
    const heard: ProcessCrash[] = [];
    let reads = 0;
    const crashOnFirstRead: Adjust = (store) => {
      const get = store.get!.bind(store);
      store.get = (sid: string, callback: Callback) => {
        get(sid, callback);
        if (++reads === 1) setImmediate(() => crash('crashed while reading'));
      };
    };
    const results = await runCases(memoryConfig(ids, crashOnFirstRead), { onCrash: (c) => heard.push(c), stopAtCrash: true });
    expect(results.map((r) => [r.id, r.status, r.notRun ?? false])).toEqual([
      [ids[0], 'fail', false],
      [ids[1], 'skip', true],
      [ids[2], 'skip', true],
    ]);
    expect(results[0]!.reason).toContain('the process saw an uncaughtException: Error: crashed while reading');
    expect(results[1]!.reason).toBe(`not run: the store crashed the process with an uncaught exception (Error: crashed while reading) in ${ids[0]}`);
    expect(heard.map((c) => [c.description, c.duringCase])).toEqual([['an uncaught exception (Error: crashed while reading)', true]]);
  });

  it('tells a crash between cases from one during a case, and runs on without stopAtCrash', async () => {
    const heard: ProcessCrash[] = [];
    const onResult = (result: CaseResult) => {
      if (result.id === ids[0]) crash('a timer of the store threw');
    };
    const results = await runCases(memoryConfig(ids), { onResult, onCrash: (c) => heard.push(c) });
    expect(statuses(results)).toEqual(Object.fromEntries(ids.map((id) => [id, 'pass'])));
    expect(heard.map((c) => [c.description, c.duringCase])).toEqual([['an uncaught exception (Error: a timer of the store threw)', false]]);
  });
});
