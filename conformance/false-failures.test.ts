import path from 'node:path';
import session, { type SessionData, type Store } from 'express-session';
import { MemoryStore } from '../stores/memory';
import { parseCli, runCli } from './cli';
import { runCases } from './core';
import type { CaseResult, ConformanceConfig, StoreFactoryOptions } from './types';

/**
 * Stores that keep the contract in ways the suite once misjudged: each is judged only on what it
 * does wrong, and each case below fails a store that really breaks the rule.
 */

const FIXTURES = path.join(__dirname, 'fixtures');

async function results(config: ConformanceConfig, ids: readonly string[]): Promise<Record<string, Pick<CaseResult, 'status' | 'reason'>>> {
  const run = await runCases({ ...config, filter: (id) => ids.includes(id) });
  expect(run.map((r) => r.id).sort()).toEqual([...ids].sort());
  return Object.fromEntries(run.map(({ id, status, reason }) => [id, reason === undefined ? { status } : { status, reason }]));
}

const statuses = (outcome: Record<string, Pick<CaseResult, 'status'>>) => Object.fromEntries(Object.entries(outcome).map(([id, r]) => [id, r.status]));

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Callback = (error?: unknown, value?: any) => void;

/** express-session's MemoryStore keyed through `keyOf`: what a backend with other key rules would do. */
function keyedStore(keyOf: (sid: string) => string | Error): Store {
  const store = new session.MemoryStore();
  const original = { get: store.get, set: store.set, destroy: store.destroy, touch: store.touch! };
  const keyed =
    <A extends unknown[]>(call: (key: string, ...rest: A) => void) =>
    (sid: string, ...rest: A) => {
      const key = keyOf(sid);
      if (key instanceof Error) return setImmediate(rest[rest.length - 1] as Callback, key);
      return call(key, ...rest);
    };
  store.get = keyed((key, callback: Callback) => original.get.call(store, key, (error, value) => callback(error, value ?? null)));
  store.set = keyed((key, value: SessionData, callback?: Callback) => original.set.call(store, key, value, callback));
  store.destroy = keyed((key, callback?: Callback) => original.destroy.call(store, key, callback));
  store.touch = keyed((key, value: SessionData, callback?: Callback) => original.touch.call(store, key, value, callback));
  return store;
}

describe('capabilities are declared one by one', () => {
  it('skips the ttl-function case for a store whose ttl option takes a number only, and runs its number cases', async () => {
    const numberOnly = (options: StoreFactoryOptions) => {
      if (typeof options.ttl === 'function') throw new Error('ttl must be a number');
      return new MemoryStore({ now: options.now, ttl: options.ttl });
    };
    const outcome = await results({ name: 'number-only ttl', makeStore: numberOnly, clock: 'injectable', supports: { ttl: true }, http: false }, [
      'ttl-function-wins-over-cookie-expires',
      'ttl-applies-to-cookies-without-expires',
      'cookie-expires-wins-over-a-shorter-ttl',
    ]);
    expect(outcome).toEqual({
      'ttl-function-wins-over-cookie-expires': { status: 'skip', reason: 'the factory does not declare supports.ttlFunction' },
      'ttl-applies-to-cookies-without-expires': { status: 'pass' },
      'cookie-expires-wins-over-a-shorter-ttl': { status: 'pass' },
    });
  });
});

describe('calls are counted on the way in', () => {
  it('counts a touch that the store carries out with its own set() as one touch and no save', async () => {
    const touchingBySet = (options: StoreFactoryOptions) => {
      const store = new MemoryStore({ now: options.now, ttl: options.ttl });
      store.touch = function touchBySet(this: MemoryStore, sid: string, stored: SessionData, callback: Callback) {
        this.set(sid, stored, callback);
      } as MemoryStore['touch'];
      return store;
    };
    const outcome = await results(
      {
        name: 'touch through set',
        makeStore: touchingBySet,
        clock: 'injectable',
        supports: { ttl: true },
      },
      ['http-unmodified-session-is-touched-not-saved'],
    );
    expect(outcome).toEqual({ 'http-unmodified-session-is-touched-not-saved': { status: 'pass' } });
  });
});

describe('a clear() that reaches past its namespace', () => {
  /** Sessions of every namespace in one map; clear() empties the whole map, as a FLUSHDB would. */
  class FlushingStore extends session.Store {
    static readonly records = new Map<string, { text: string; expiresAt: number }>();

    constructor(private readonly namespace: string) {
      super();
    }

    private key(sid: string): string {
      return `${this.namespace}:${sid}`;
    }

    get(sid: string, callback: Callback): void {
      const record = FlushingStore.records.get(this.key(sid));
      const live = record !== undefined && record.expiresAt > Date.now();
      setImmediate(callback, null, live ? JSON.parse(record.text) : null);
    }

    set(sid: string, stored: SessionData, callback?: Callback): void {
      const expires = stored.cookie?.expires;
      const expiresAt = expires ? new Date(expires).getTime() : Date.now() + 86_400_000;
      FlushingStore.records.set(this.key(sid), { text: JSON.stringify(stored), expiresAt });
      setImmediate(() => callback?.());
    }

    touch(sid: string, stored: SessionData, callback?: Callback): void {
      const record = FlushingStore.records.get(this.key(sid));
      if (record && record.expiresAt > Date.now()) record.expiresAt = stored.cookie?.expires ? new Date(stored.cookie.expires).getTime() : record.expiresAt;
      setImmediate(() => callback?.());
    }

    destroy(sid: string, callback?: Callback): void {
      FlushingStore.records.delete(this.key(sid));
      setImmediate(() => callback?.());
    }

    length(callback: Callback): void {
      const prefix = `${this.namespace}:`;
      const count = [...FlushingStore.records].filter(([key, record]) => key.startsWith(prefix) && record.expiresAt > Date.now()).length;
      setImmediate(callback, null, count);
    }

    clear(callback?: Callback): void {
      FlushingStore.records.clear();
      setImmediate(() => callback?.());
    }
  }

  it('fails only the namespace case, however the cases that wait on the wall clock overlap', async () => {
    const waiting = ['expired-session-not-returned-by-get', 'ttl-applies-to-cookies-without-expires', 'expired-sessions-not-counted-by-length', 'touch-extends-expiry'];
    const outcome = await results(
      { name: 'flushing clear', makeStore: (options) => new FlushingStore(options.namespace ?? 'default'), supports: { namespaces: true }, http: false },
      [...waiting, 'namespaces-isolate-clear'],
    );
    // A machine too slow to judge a case on the wall clock skips it, which is no verdict on the store either.
    const judged = (id: string) => (outcome[id]!.status === 'skip' && /too slow to judge/.test(outcome[id]!.reason ?? '') ? 'pass' : outcome[id]!.status);
    expect(Object.fromEntries(Object.keys(outcome).map((id) => [id, judged(id)]))).toEqual({
      ...Object.fromEntries(waiting.map((id) => [id, id === 'ttl-applies-to-cookies-without-expires' ? 'skip' : 'pass'])),
      'namespaces-isolate-clear': 'fail',
    });
  }, 60_000);
});

describe('ids', () => {
  it('judges odd characters on ids no longer than express-session makes, and length on its own', async () => {
    // An id column of 36 characters: more than express-session's 32.
    const narrowColumn = () => keyedStore((sid) => (sid.length > 36 ? new Error(`sid longer than 36 characters`) : sid));
    const outcome = await results({ name: 'narrow id column', makeStore: narrowColumn, http: false }, [
      'odd-sids-round-trip',
      'sids-of-the-lengths-express-session-makes-round-trip',
      'long-sids-round-trip',
    ]);
    expect(statuses(outcome)).toEqual({
      'odd-sids-round-trip': 'pass',
      'sids-of-the-lengths-express-session-makes-round-trip': 'pass',
      'long-sids-round-trip': 'warn',
    });
  });

  it('tells ids that differ only in trailing spaces apart, and fails a store whose keys drop them', async () => {
    const id = 'sids-differing-in-trailing-spaces-are-different-sessions';
    const padded = () => keyedStore((sid) => sid.replace(/ +$/, ''));
    expect(statuses(await results({ name: 'MemoryStore', makeStore: () => new MemoryStore(), http: false }, [id]))).toEqual({ [id]: 'pass' });
    expect(await results({ name: 'pad space', makeStore: padded, http: false }, [id])).toEqual({
      [id]: { status: 'fail', reason: expect.stringContaining('the session of') },
    });
  });
});

describe('a factory module is loaded and released as the runner does', () => {
  const exitCase = 'close-lets-the-process-exit';

  it('imports an ES module with top-level await', async () => {
    const factoryModule = path.join(FIXTURES, 'top-level-await-store.mjs');
    const outcome = await results({ name: 'top-level await', makeStore: () => new session.MemoryStore(), factoryModule, http: false }, [exitCase]);
    expect(outcome).toEqual({ [exitCase]: { status: 'pass' } });
  }, 60_000);

  it("releases the store with the module's disposeStore", async () => {
    const factoryModule = path.join(FIXTURES, 'dispose-store.js');
    const mod = require(factoryModule) as { createStore: () => Promise<Store>; disposeStore: (store: Store) => Promise<void> };
    const config = { name: 'disposeStore', makeStore: mod.createStore, disposeStore: mod.disposeStore, factoryModule, http: false };
    expect(await results(config, [exitCase])).toEqual({ [exitCase]: { status: 'pass' } });
  }, 60_000);
});

describe('a callback that throws', () => {
  const id = 'a-callback-that-throws-is-not-called-again';

  it('is called once by a store that leaves the throw to the process', async () => {
    const factoryModule = path.join(FIXTURES, 'memory-factory.ts');
    const outcome = await results({ name: 'MemoryStore', makeStore: () => new MemoryStore(), factoryModule, http: false }, [id]);
    expect(outcome).toEqual({ [id]: { status: 'pass' } });
  }, 60_000);

  it('fails a store that hands the throw back to the same callback', async () => {
    const factoryModule = path.join(FIXTURES, 'recalling-store.js');
    const outcome = await results({ name: 'recalling', makeStore: () => new session.MemoryStore(), factoryModule, http: false }, [id]);
    expect(outcome).toEqual({ [id]: { status: 'fail', reason: expect.stringContaining('get() called its throwing callback 2 times (no error, then its own error)') } });
  }, 60_000);
});

describe('the command line', () => {
  it('judges a store whose all() lists bare sessions, with no id, on the sessions it lists', async () => {
    const options = parseCli([path.join(FIXTURES, 'bare-all-store.js'), '--filter', 'namespaces-isolate-all,expired-sessions-not-in-all', '--no-color']);
    if (options === 'help') throw new Error('parseCli read --help');
    const lines: string[] = [];
    const { results: run } = await runCli(options, (line) => lines.push(line));
    expect(Object.fromEntries(run.map((r) => [r.id, r.status]))).toEqual({ 'namespaces-isolate-all': 'pass', 'expired-sessions-not-in-all': 'pass' });
  }, 60_000);
});
