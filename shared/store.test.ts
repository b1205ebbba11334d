import { execFileSync } from 'node:child_process';
import path from 'node:path';
import type { SessionData } from 'express-session';
import { inspect } from 'node:util';
import { SessionStore, SessionStoreError, cleanCause, type StoredEntry, type StoredSession, type BaseStoreOptions, type CorruptRecordEvent } from '.';

const cookie = (expires?: Date) => ({ originalMaxAge: expires ? 60_000 : null, expires, path: '/', httpOnly: true });
const session = (extra: Record<string, unknown> = {}, expires?: Date) => ({ cookie: cookie(expires), ...extra }) as unknown as SessionData;

/** A backend whose every primitive can be made to hang or fail, to test what the base does about it. */
class ProgrammableStore extends SessionStore {
  readonly records = new Map<string, StoredSession>();
  mode: 'ok' | 'hang' | 'fail' = 'ok';
  writes = 0;
  /** Primitive calls that reached the backend, the probe's included. */
  reached = 0;

  constructor(options?: BaseStoreOptions, probeIntervalMs = 20) {
    super('programmable', options, { probeIntervalMs, ownOptions: [] });
  }

  private async act<T>(fn: () => T): Promise<T> {
    this.reached++;
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
  /** Batches of two, so an iteration spans several bounded steps. */
  protected async *scanRecords(): AsyncIterable<StoredEntry[]> {
    const entries = [...this.records].map(([key, r]) => ({ key, ...r }));
    for (let start = 0; start < entries.length; start += 2) yield entries.slice(start, start + 2);
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
    expect(JSON.parse(output)).toEqual({ calls: { memory: 1, async: 1 }, seen: ['uncaught:from the async callback', 'uncaught:from the memory callback'] });
  });

  it('calls a callback once when the backend answers after the operationTimeout: with the timeout, and never with the late answer', async () => {
    const store = new ProgrammableStore({ operationTimeout: 30 });
    store.on('disconnect', () => undefined);
    store.records.set('s', { payload: JSON.stringify(session()), expiresAt: Date.now() + 60_000 });
    let answer!: () => void;
    const late = new Promise<void>((resolve) => (answer = resolve));
    (store as unknown as { readRecord: (key: string) => Promise<StoredSession | undefined> }).readRecord = async (key) => {
      await late;
      return store.records.get(key);
    };
    const outcomes: unknown[] = [];
    const first = new Promise<void>((resolve) =>
      store.get('s', (error, value) => {
        outcomes.push(error ?? value);
        resolve();
      }),
    );
    await first;
    answer();
    await new Promise((resolve) => setImmediate(resolve));
    expect(outcomes).toEqual([expect.objectContaining({ code: 'ERR_SESSION_TIMEOUT' })]);
    await store.close();
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

const live = () => Date.now() + 60_000;

/** The reason a rejected promise gave, or a failure when it resolved. */
async function rejection(promise: Promise<unknown>): Promise<SessionStoreError> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: SessionStoreError) => error,
  );
}

describe('SessionStore decode', () => {
  const nested = (levels: number) => `{"cookie":{"originalMaxAge":null},"tree":${'['.repeat(levels)}${']'.repeat(levels)}}`;

  it.each([
    ['originalMaxAge a string', '{"cookie":{"originalMaxAge":"soon"}}'],
    ['maxAge a string', '{"cookie":{"maxAge":"soon"}}'],
    ['expires unparseable', '{"cookie":{"expires":"soon"}}'],
    ['expires a number', '{"cookie":{"expires":5}}'],
    ['path with a semicolon', '{"cookie":{"path":"/;x"}}'],
    ['path a number', '{"cookie":{"path":5}}'],
    ['httpOnly a string', '{"cookie":{"httpOnly":"yes"}}'],
    ['secure a number', '{"cookie":{"secure":1}}'],
    ['sameSite unknown', '{"cookie":{"sameSite":"sideways"}}'],
    ['domain with a space', '{"cookie":{"domain":"a b"}}'],
    ['a __proto__ field', '{"cookie":{"__proto__":{}}}'],
    ['a toJSON field', '{"cookie":{"toJSON":1}}'],
    ['an _expires field', '{"cookie":{"_expires":"2030-01-01T00:00:00.000Z"}}'],
    ['a cookie array', '{"cookie":[]}'],
    ['101 levels deep', nested(100)],
    ['100,000 levels deep', nested(100_000)],
  ])('reports a stored session with %s as corrupt', async (_label, payload) => {
    const store = new ProgrammableStore();
    store.records.set('abcdefghij', { payload, expiresAt: live() });
    await expect(store.get('abcdefghij')).rejects.toMatchObject({ code: 'ERR_SESSION_CORRUPT', sidPrefix: 'abcdef' });
  });

  it('reads back every cookie field express-session writes, and a session 100 levels deep', async () => {
    const store = new ProgrammableStore();
    const cookie = { originalMaxAge: 1000, expires: '2030-01-01T00:00:00.000Z', path: '/app', httpOnly: false, secure: true, domain: '.example.com', sameSite: 'Strict', priority: 'high', partitioned: true };
    store.records.set('full', { payload: JSON.stringify({ cookie }), expiresAt: live() });
    store.records.set('deep', { payload: nested(99), expiresAt: live() });
    expect(await store.get('full')).toEqual({ cookie });
    expect(await store.get('deep')).toMatchObject({ cookie: { originalMaxAge: null } });
  });
});

describe('SessionStore set refuses what it could not read back', () => {
  let deep: unknown = [];
  for (let level = 0; level < 100; level++) deep = [deep];
  it.each([
    ['no cookie', { user: 1 }],
    ['a cookie that is a string', { cookie: 'c' }],
    ['a toJSON returning a string', { cookie: {}, toJSON: () => 'ana' }],
    ['a cookie whose toJSON returns an array', { cookie: { toJSON: () => [] } }],
    ['originalMaxAge a string', { cookie: { originalMaxAge: 'soon' } }],
    ['expires an invalid Date', { cookie: { expires: new Date(NaN) } }],
    ['nesting deeper than 100 levels', { cookie: {}, deep }],
    ['a throwing toJSON', { cookie: {}, toJSON: () => { throw new Error('no'); } }],
  ])('with ERR_SESSION_ENCODE for a session with %s, writing nothing', async (_label, value) => {
    const store = new ProgrammableStore();
    await expect(store.set('s', value as unknown as SessionData)).rejects.toMatchObject({ code: 'ERR_SESSION_ENCODE' });
    expect(store.records.size).toBe(0);
  });

  it("accepts express-session's own Cookie, whose toJSON gives the stored fields", async () => {
    const { Cookie } = require('express-session') as { Cookie: new (options: object) => object };
    const store = new ProgrammableStore();
    await store.set('s', { cookie: new Cookie({ maxAge: 60_000, sameSite: 'lax', secure: true }) } as unknown as SessionData);
    expect(await store.get('s')).toMatchObject({ cookie: { originalMaxAge: 60_000, sameSite: 'lax', secure: true } });
  });

  it("accepts @fastify/session's Cookie, which writes sameSite, secure and domain as null", async () => {
    const Cookie = require('@fastify/session/lib/cookie') as new (options: object, request: object) => object;
    const store = new ProgrammableStore();
    await store.set('s', { cookie: new Cookie({ maxAge: 60_000 }, { protocol: 'http' }), user: 'ada' } as unknown as SessionData);
    expect(await store.get('s')).toMatchObject({ cookie: { originalMaxAge: 60_000, sameSite: null, secure: null, domain: null }, user: 'ada' });
  });
});

describe('SessionStore maxSessionBytes', () => {
  it('refuses a session whose UTF-8 encoding is larger, with ERR_SESSION_TOO_LARGE, and writes nothing', async () => {
    const store = new ProgrammableStore({ maxSessionBytes: 200 });
    const base = JSON.stringify(session()).length;
    await store.set('fits', session({ n: 'x'.repeat(200 - base - 8) }));
    // Each 'é' is one UTF-16 unit but two UTF-8 bytes: counted in bytes it no longer fits.
    const error = await rejection(store.set('over', session({ n: 'é'.repeat(200 - base - 8) })));
    expect(error).toMatchObject({ code: 'ERR_SESSION_TOO_LARGE' });
    expect(error.message).toMatch(/maxSessionBytes \(200\)/);
    expect([...store.records.keys()]).toEqual(['fits']);
  });

  it('defaults to 1 MiB and refuses a bad value at construction', async () => {
    const store = new ProgrammableStore();
    await store.set('s', session({ n: 'x'.repeat(1024 * 1024 - 200) }));
    await expect(store.set('s', session({ n: 'x'.repeat(1024 * 1024) }))).rejects.toMatchObject({ code: 'ERR_SESSION_TOO_LARGE' });
    for (const maxSessionBytes of [0, -1, 1.5, '10']) {
      expect(() => new ProgrammableStore({ maxSessionBytes } as BaseStoreOptions)).toThrow(expect.objectContaining({ code: 'ERR_SESSION_OPTIONS' }));
    }
  });
});

describe('SessionStore onCorrupt', () => {
  function withCorruptRecord(options: BaseStoreOptions = {}) {
    const store = new ProgrammableStore(options);
    const events: CorruptRecordEvent[] = [];
    store.on('corrupt', (event: CorruptRecordEvent) => events.push(event));
    store.records.set('abcdefghij', { payload: '{"token":"hunter2"', expiresAt: live() });
    return { store, events };
  }

  it("by default ('error') rejects, keeps the record and emits 'corrupt' with the sid prefix only", async () => {
    const { store, events } = withCorruptRecord();
    await expect(store.get('abcdefghij')).rejects.toMatchObject({ code: 'ERR_SESSION_CORRUPT' });
    expect(store.records.has('abcdefghij')).toBe(true);
    expect(events).toEqual([{ sidPrefix: 'abcdef', code: 'ERR_SESSION_CORRUPT', operation: 'get' }]);
  });

  it("with 'treat-as-missing' deletes the record and answers no session", async () => {
    const { store, events } = withCorruptRecord({ onCorrupt: 'treat-as-missing' });
    expect(await store.get('abcdefghij')).toBeNull();
    expect(store.records.has('abcdefghij')).toBe(false);
    expect(events).toEqual([{ sidPrefix: 'abcdef', code: 'ERR_SESSION_CORRUPT', operation: 'get' }]);
  });

  it('refuses an unknown value at construction', () => {
    expect(() => new ProgrammableStore({ onCorrupt: 'ignore' } as unknown as BaseStoreOptions)).toThrow(expect.objectContaining({ code: 'ERR_SESSION_OPTIONS' }));
  });

  it("all() and sessions() skip a corrupt record and report it, whatever onCorrupt says, deleting nothing", async () => {
    const { store, events } = withCorruptRecord({ onCorrupt: 'treat-as-missing' });
    await store.set('good', session({ n: 1 }));
    expect(Object.keys(await store.all())).toEqual(['good']);
    const listed: string[] = [];
    for await (const { id } of store.sessions()) listed.push(id);
    expect(listed).toEqual(['good']);
    expect(events.map((event) => event.operation)).toEqual(['all', 'sessions']);
    expect(store.records.has('abcdefghij')).toBe(true);
  });
});

describe('SessionStore listing', () => {
  it("lists a session named __proto__ as an own key of a result without a prototype", async () => {
    const store = new ProgrammableStore();
    await store.set('__proto__', session({ n: 1 }));
    await store.set('other', session({ n: 2 }));
    const all = await store.all();
    expect(Object.getPrototypeOf(all)).toBeNull();
    expect(Object.keys(all).sort()).toEqual(['__proto__', 'other']);
    expect(all['__proto__']).toMatchObject({ n: 1 });
  });

  it('sessions() streams batch by batch and releases the backend iterator when the caller stops early', async () => {
    const store = new ProgrammableStore();
    for (let i = 0; i < 5; i++) await store.set(`s${i}`, session({ i }));
    const seen: string[] = [];
    for await (const { id, session: listed } of store.sessions()) {
      seen.push(id);
      expect(listed).toMatchObject({ i: Number(id.slice(1)) });
      if (seen.length === 3) break;
    }
    expect(seen).toEqual(['s0', 's1', 's2']);
    await store.close();
    await expect(store.sessions().next()).rejects.toMatchObject({ code: 'ERR_SESSION_CLOSED' });
  });
});

describe('SessionStore ids and messages', () => {
  it('refuses session ids that are not well-formed UTF-16, which would collide once encoded as UTF-8', async () => {
    const store = new ProgrammableStore();
    for (const sid of ['\ud800', '\udc00', 'a\ud800b', '\udc00\ud800']) {
      await expect(store.set(sid, session())).rejects.toMatchObject({ code: 'ERR_SESSION_ID' });
    }
    await store.set('\ud83c\udf6a', session());
    expect(store.records.has('\ud83c\udf6a')).toBe(true);
  });

  it('escapes control characters of a sid in the prefix an error shows', async () => {
    const store = new ProgrammableStore();
    store.records.set('\r\nFAKE log line', { payload: '{', expiresAt: live() });
    const error = await rejection(store.get('\r\nFAKE log line'));
    expect(error.sidPrefix).toBe('\\u000d\\u000aFAKE');
    expect(error.message).not.toMatch(/[\r\n]/);
    expect((await rejection(store.get('\u001b[31m\u0000'))).message).not.toContain('\u001b');
  });
});

describe('SessionStore unknown options', () => {
  it('refuses an option neither the base nor the store declares, naming it and the closest known one', () => {
    expect(() => new ProgrammableStore({ touchAfer: 10 } as BaseStoreOptions)).toThrow(
      expect.objectContaining({ code: 'ERR_SESSION_OPTIONS', message: expect.stringContaining('unknown option "touchAfer" (did you mean touchAfter?)') }),
    );
    expect(() => new ProgrammableStore({ compress: true } as BaseStoreOptions)).toThrow(
      expect.objectContaining({ code: 'ERR_SESSION_OPTIONS', message: expect.stringContaining('unknown option "compress"; this store accepts ttl') }),
    );
  });
});

describe('SessionStore error causes', () => {
  const SID = 'sidsidSECRETSECRETSECRET';
  const PAYLOAD = '{"cookie":{},"token":"PAYLOAD-c0ffee"}';

  /** Driver errors as ioredis, pg and mongodb build them, each carrying a secret in a field of its own. */
  const driverErrors = () => [
    Object.assign(new Error('WRONGTYPE Operation against a key holding the wrong kind of value'), {
      name: 'ReplyError',
      command: { name: 'set', args: [`sess:${SID}`, PAYLOAD, 'PXAT', '1'] },
    }),
    Object.assign(new Error('WRONGPASS invalid username-password pair'), { command: { name: 'auth', args: ['user', 'hunter2-password'] } }),
    Object.assign(new Error('duplicate key value violates unique constraint "express_sessions_pkey"'), {
      code: '23505',
      detail: `Key (sid)=(${SID}) already exists.`,
      query: `INSERT INTO t VALUES ('${SID}', '${PAYLOAD}')`,
      parameters: [SID, PAYLOAD],
    }),
    Object.assign(new Error(`E11000 duplicate key error collection: test.sessions index: _id_ dup key: { _id: "${SID}" }`), {
      code: 11000,
      keyValue: { _id: SID },
      errInfo: { session: PAYLOAD },
    }),
    new Error(`connect failed for redis://user:hunter2-password@127.0.0.1:6379: ERR unknown command 'SET', with args beginning with: 'sess:${SID}' '${PAYLOAD}'`),
    new AggregateError([Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED', errno: -111, syscall: 'connect', address: '127.0.0.1' })], ''),
    new Error('outer', { cause: Object.assign(new Error(`inner for ${SID}`), { input: PAYLOAD }) }),
  ];

  it.each(driverErrors().map((error, index) => [index, error]))('hands out driver error %i without a password, the full sid or session data, cause chain included', async (_index, driverError) => {
    const store = new ProgrammableStore();
    (store as unknown as { readRecord: () => Promise<never> }).readRecord = () => Promise.reject(driverError);
    const error = await rejection(store.get(SID));
    const printed = inspect(error, { depth: 10 });
    for (const secret of [SID, 'PAYLOAD-c0ffee', 'hunter2']) expect(printed).not.toContain(secret);
    expect(error.message).not.toContain(SID);
  });

  it('keeps the name, code, errno and syscall, identifiers in quotes, and the stack frames', () => {
    const original = Object.assign(new Error('relation "express_sessions" does not exist'), { name: 'DatabaseError', code: '42P01', detail: 'secret' });
    const copy = cleanCause(original) as Error & { code?: string; detail?: unknown };
    expect(copy).toMatchObject({ name: 'DatabaseError', code: '42P01', message: 'relation "express_sessions" does not exist' });
    expect(copy.detail).toBeUndefined();
    expect(copy.stack).toContain(__filename);
    const refused = cleanCause(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED', errno: -111, syscall: 'connect' }));
    expect(refused).toMatchObject({ code: 'ECONNREFUSED', errno: -111, syscall: 'connect' });
  });
});

describe('SessionStore while its backend is down', () => {
  afterEach(() => jest.useRealTimers());

  it('refuses every call at once with ERR_SESSION_UNAVAILABLE, without reaching the backend, until the probe succeeds', async () => {
    const store = new ProgrammableStore();
    store.on('disconnect', () => undefined);
    store.mode = 'fail';
    await expect(store.get('s')).rejects.toMatchObject({ code: 'ERR_SESSION_BACKEND' });
    const reached = store.reached;
    for (const call of [() => store.get('s'), () => store.set('s', session()), () => store.touch('s', session()), () => store.destroy('s'), () => store.all(), () => store.length()]) {
      await expect(call()).rejects.toMatchObject({ code: 'ERR_SESSION_UNAVAILABLE', store: 'programmable' });
    }
    expect(store.reached).toBe(reached);
    store.mode = 'ok';
    await new Promise<void>((resolve) => store.once('connect', () => resolve()));
    await store.set('s', session());
    expect(await store.get('s')).not.toBeNull();
    await store.close();
  });

  it('lets a call already in flight keep its own deadline, and close() still runs', async () => {
    const store = new ProgrammableStore({ operationTimeout: 50 });
    store.on('disconnect', () => undefined);
    store.mode = 'hang';
    const inFlight = store.get('a');
    store.mode = 'fail';
    await expect(store.get('c')).rejects.toMatchObject({ code: 'ERR_SESSION_BACKEND' });
    await expect(store.get('b')).rejects.toMatchObject({ code: 'ERR_SESSION_UNAVAILABLE' });
    await expect(inFlight).rejects.toMatchObject({ code: 'ERR_SESSION_TIMEOUT' });
    await expect(store.close()).resolves.toBeUndefined();
  });

  it('does not report the backend down again for a call that began before the outage and times out after it', async () => {
    // Deadline far after the first probe (50 ms): the backend is back before the stale call gives up.
    const store = new ProgrammableStore({ operationTimeout: 400 });
    const events: string[] = [];
    store.on('disconnect', () => events.push('disconnect'));
    store.on('connect', () => events.push('connect'));
    store.mode = 'hang';
    const begunBefore = store.get('a');
    store.mode = 'fail';
    await expect(store.get('b')).rejects.toMatchObject({ code: 'ERR_SESSION_BACKEND' });
    store.mode = 'ok';
    await new Promise<void>((resolve) => store.once('connect', () => resolve()));
    await expect(begunBefore).rejects.toMatchObject({ code: 'ERR_SESSION_TIMEOUT' });
    expect(events).toEqual(['disconnect', 'connect']);
    expect(store.isAvailable).toBe(true);
    await store.close();
  });

  it('probes 50 ms after the outage begins, then backs off by doubling to probeIntervalMs', async () => {
    jest.useFakeTimers();
    const store = new ProgrammableStore({}, 250);
    store.on('disconnect', () => undefined);
    store.mode = 'fail';
    await expect(store.get('s')).rejects.toMatchObject({ code: 'ERR_SESSION_BACKEND' });
    const probesAt: number[] = [];
    let elapsed = 0;
    for (let reached = store.reached; elapsed < 1000; elapsed += 5) {
      await jest.advanceTimersByTimeAsync(5);
      if (store.reached > reached) probesAt.push(elapsed + 5);
      reached = store.reached;
    }
    expect(probesAt).toEqual([50, 150, 350, 600, 850]);
    store.mode = 'ok';
    await jest.advanceTimersByTimeAsync(250);
    expect(store.isAvailable).toBe(true);
    await store.close();
  });
});
