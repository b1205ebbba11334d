import { execFileSync } from 'node:child_process';
import path from 'node:path';
import type { SessionData } from 'express-session';
import { SessionStore, SessionStoreError, type StoredEntry, type StoredSession, type BaseStoreOptions } from '.';

const cookie = (expires?: Date) => ({ originalMaxAge: expires ? 60_000 : null, expires, path: '/', httpOnly: true });
const session = (extra: Record<string, unknown> = {}, expires?: Date) => ({ cookie: cookie(expires), ...extra }) as unknown as SessionData;

/** A backend whose every primitive can be made to hang or fail, to test what the base does about it. */
class ProgrammableStore extends SessionStore {
  readonly records = new Map<string, StoredSession>();
  mode: 'ok' | 'hang' | 'fail' = 'ok';
  writes = 0;

  constructor(options?: BaseStoreOptions) {
    super('programmable', options, { probeIntervalMs: 20 });
  }

  private async act<T>(fn: () => T): Promise<T> {
    if (this.mode === 'hang') return new Promise<T>(() => undefined);
    if (this.mode === 'fail') throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    return fn();
  }

  protected readRecord(key: string) {
    return this.act(() => this.records.get(key));
  }
  protected writeRecord(key: string, payload: string, expiresAt: number) {
    return this.act(() => {
      this.writes++;
      this.records.set(key, { payload, expiresAt });
    });
  }
  protected extendRecord(key: string, expiresAt: number, now: number, unlessExpiresAfter: number | undefined) {
    return this.act(() => {
      const record = this.records.get(key);
      if (!record || record.expiresAt <= now) return;
      if (unlessExpiresAfter !== undefined && record.expiresAt >= unlessExpiresAfter) return;
      this.writes++;
      record.expiresAt = expiresAt;
    });
  }
  protected removeRecord(key: string) {
    return this.act(() => void this.records.delete(key));
  }
  protected async *scanRecords(): AsyncIterable<StoredEntry[]> {
    yield [...this.records].map(([key, r]) => ({ key, ...r }));
  }
}

function clock(start = Date.UTC(2030, 0, 1)) {
  let t = start;
  const now = () => t;
  return { now, advance: (ms: number) => (t += ms) };
}

describe('SessionStore expiry', () => {
  it('uses cookie.expires over the ttl number', async () => {
    const c = clock();
    const store = new ProgrammableStore({ now: c.now, ttl: 1000 });
    await store.set('s', session({}, new Date(c.now() + 60_000)));
    c.advance(30_000);
    expect(await store.get('s')).not.toBeNull();
  });

  it('uses the ttl number for a browser-session cookie', async () => {
    const c = clock();
    const store = new ProgrammableStore({ now: c.now, ttl: 1000 });
    await store.set('s', session());
    expect(store.records.get('s')!.expiresAt).toBe(c.now() + 1000);
    c.advance(1000);
    expect(await store.get('s')).toBeNull();
  });

  it('lets a ttl function win over cookie.expires', async () => {
    const c = clock();
    const store = new ProgrammableStore({ now: c.now, ttl: (s) => ((s as { remember?: boolean }).remember ? 5000 : 10) });
    await store.set('s', session({ remember: true }, new Date(c.now() + 60_000)));
    expect(store.records.get('s')!.expiresAt).toBe(c.now() + 5000);
  });

  it('keeps expiry in milliseconds, never rounded to seconds', async () => {
    const c = clock(Date.UTC(2030, 0, 1) + 123);
    const store = new ProgrammableStore({ now: c.now, ttl: 1501 });
    await store.set('s', session());
    expect(store.records.get('s')!.expiresAt % 1000).toBe(624);
  });

  it('deletes instead of writing when set is given an already-expired session', async () => {
    const c = clock();
    const store = new ProgrammableStore({ now: c.now });
    await store.set('s', session());
    await store.set('s', session({}, new Date(c.now() - 1)));
    expect(store.records.has('s')).toBe(false);
  });
});

describe('SessionStore touch', () => {
  it('skips the backend write while the stored expiry is younger than touchAfter', async () => {
    const c = clock();
    const store = new ProgrammableStore({ now: c.now, ttl: 60_000, touchAfter: 10_000 });
    await store.set('s', session());
    const writes = store.writes;
    c.advance(5_000);
    await store.touch('s', session());
    expect(store.writes).toBe(writes);
    c.advance(6_000);
    await store.touch('s', session());
    expect(store.writes).toBe(writes + 1);
    expect(store.records.get('s')!.expiresAt).toBe(c.now() + 60_000);
  });

  it('does nothing at all with disableTouch', async () => {
    const c = clock();
    const store = new ProgrammableStore({ now: c.now, disableTouch: true });
    await store.set('s', session());
    const before = store.records.get('s')!.expiresAt;
    c.advance(1000);
    await store.touch('s', session());
    expect(store.records.get('s')!.expiresAt).toBe(before);
  });
});

describe('SessionStore options', () => {
  it.each([
    ['ttl 0', { ttl: 0 }],
    ['negative ttl', { ttl: -1 }],
    ['NaN ttl', { ttl: NaN }],
    ['string ttl', { ttl: '1000' as unknown as number }],
    ['negative touchAfter', { touchAfter: -5 }],
    ['operationTimeout 0', { operationTimeout: 0 }],
    ['non-function now', { now: 5 as unknown as () => number }],
    ['serializer without parse', { serializer: { stringify: JSON.stringify } as never }],
  ])('rejects %s at construction with ERR_SESSION_OPTIONS', (_name, options) => {
    expect(() => new ProgrammableStore(options as BaseStoreOptions)).toThrow(
      expect.objectContaining({ code: 'ERR_SESSION_OPTIONS', name: 'SessionStoreError' }),
    );
  });
});

describe('SessionStore errors and calling conventions', () => {
  it('reports corrupt data with a code, the store name and a sid prefix, never the data', async () => {
    const store = new ProgrammableStore();
    store.records.set('abcdefghij', { payload: '{"secret":"hunter2"', expiresAt: Date.now() + 10_000 });
    const error = await store.get('abcdefghij').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionStoreError);
    expect(error).toMatchObject({ code: 'ERR_SESSION_CORRUPT', store: 'programmable', sidPrefix: 'abcdef' });
    expect(String((error as Error).message)).not.toContain('hunter2');
    expect(String((error as Error).message)).not.toContain('abcdefghij');
  });

  it('reports a stored session without a cookie as corrupt, since express-session would crash on it', async () => {
    const store = new ProgrammableStore();
    store.records.set('s', { payload: '{"user":1}', expiresAt: Date.now() + 10_000 });
    await expect(store.get('s')).rejects.toMatchObject({ code: 'ERR_SESSION_CORRUPT' });
  });

  it('rejects bad session ids with ERR_SESSION_ID instead of throwing', async () => {
    const store = new ProgrammableStore();
    for (const sid of [undefined, '', 'a\0b', 'x'.repeat(1025), 42]) {
      await expect(store.get(sid as string)).rejects.toMatchObject({ code: 'ERR_SESSION_ID' });
    }
  });

  it('rejects, never throws, when the injected clock or ttl function throws, and calls the callback with the error', async () => {
    const failing = () => {
      throw new Error('clock broke');
    };
    const session = { cookie: { originalMaxAge: null } } as unknown as SessionData;
    const brokenClock = new ProgrammableStore({ now: failing });
    const brokenTtl = new ProgrammableStore({ ttl: failing });
    const calls = [
      () => brokenClock.get('abc'),
      () => brokenClock.set('abc', session),
      () => brokenClock.touch('abc', session),
      () => brokenTtl.set('abc', session),
      () => brokenTtl.touch('abc', session),
    ];
    for (const call of calls) await expect(call()).rejects.toThrow('clock broke');
    expect(await new Promise((resolve) => brokenClock.get('abc', resolve))).toMatchObject({ message: 'clock broke' });
  });

  it('calls a callback once, on a later tick, and lets an exception it throws escape as the caller’s own', () => {
    const fixture = path.join(__dirname, 'fixtures', 'callback-throws.ts');
    const output = execFileSync(process.execPath, ['--import', 'tsx', fixture], { encoding: 'utf8' });
    expect(JSON.parse(output)).toEqual({ calls: 1, seen: ['uncaught:from the callback'] });
  });

  it('bounds a hung backend call by operationTimeout and emits disconnect, then connect when it answers again', async () => {
    const store = new ProgrammableStore({ operationTimeout: 50 });
    const events: string[] = [];
    store.on('disconnect', () => events.push('disconnect'));
    store.on('connect', () => events.push('connect'));
    store.mode = 'hang';
    await expect(store.get('s')).rejects.toMatchObject({ code: 'ERR_SESSION_TIMEOUT' });
    expect(events).toEqual(['disconnect']);
    expect(store.isAvailable).toBe(false);
    store.mode = 'ok';
    await new Promise<void>((resolve) => store.once('connect', () => resolve()));
    expect(events).toEqual(['disconnect', 'connect']);
    await store.close();
  });

  it('treats a connection-refused driver error as unavailability and wraps it with its cause', async () => {
    const store = new ProgrammableStore();
    store.on('disconnect', () => undefined);
    store.mode = 'fail';
    const error = await store.set('s', session()).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_SESSION_BACKEND' });
    expect((error as Error & { cause?: { code?: string } }).cause?.code).toBe('ECONNREFUSED');
    expect(store.isAvailable).toBe(false);
    await store.close();
  });

  it('refuses calls after close with ERR_SESSION_CLOSED', async () => {
    const store = new ProgrammableStore();
    await store.close();
    await expect(store.get('s')).rejects.toMatchObject({ code: 'ERR_SESSION_CLOSED' });
    await expect(store.close()).resolves.toBeUndefined();
  });

  it('reports an unencodable session as ERR_SESSION_ENCODE without writing', async () => {
    const store = new ProgrammableStore();
    const circular = session({ n: 1n });
    await expect(store.set('s', circular)).rejects.toMatchObject({ code: 'ERR_SESSION_ENCODE' });
    expect(store.records.size).toBe(0);
  });
});

describe('SessionStore availability events', () => {
  it('does not announce a reconnect because a call that started before the disconnect succeeded', async () => {
    const store = new ProgrammableStore({ operationTimeout: 50 });
    const events: string[] = [];
    store.on('disconnect', () => events.push('disconnect'));
    store.on('connect', () => events.push('connect'));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    // A read already under way when the backend is declared down.
    const originalRead = (store as any).readRecord.bind(store);
    (store as any).readRecord = (key: string) => gate.then(() => originalRead(key));
    const pending = store.get('s');
    store.mode = 'hang';
    (store as any).readRecord = originalRead;
    await expect(store.get('t')).rejects.toMatchObject({ code: 'ERR_SESSION_TIMEOUT' });
    store.mode = 'ok';
    release();
    await pending.catch(() => undefined);
    expect(events).toEqual(['disconnect']);
    await new Promise<void>((resolve) => store.once('connect', () => resolve()));
    expect(events).toEqual(['disconnect', 'connect']);
    await store.close();
  });
});

describe('SessionStore bulk calls', () => {
  class BatchedClearStore extends ProgrammableStore {
    steps = 0;
    protected async *removeAllRecords(): AsyncIterable<number> {
      for (let batch = 0; batch < 5; batch++) {
        await new Promise((resolve) => setTimeout(resolve, 30));
        this.steps++;
        yield 1;
      }
    }
  }

  it('bounds each step of a batched clear on its own, so a long clear neither times out nor reports a disconnect', async () => {
    const store = new BatchedClearStore({ operationTimeout: 100 });
    const events: string[] = [];
    store.on('disconnect', () => events.push('disconnect'));
    await store.clear();
    expect(store.steps).toBe(5);
    expect(events).toEqual([]);
  });
});
