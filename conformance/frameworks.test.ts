import { execFile } from 'node:child_process';
import path from 'node:path';
import session, { type SessionData, type Store } from 'express-session';
import { MemoryStore } from '../stores/memory';
import { cases } from './cases';
import { SECRET, cookieHeader, setCookies } from './cases/http-app';
import { FRAMEWORKS } from './cases/http-frameworks';
import { runCases, selectCases, skipReason } from './core';
import type { ConformanceConfig, StoreFactoryOptions } from './types';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Callback = (error?: unknown, value?: any) => void;

const HOUR_MS = 60 * 60 * 1000;

/** A MemoryStore that keeps each session object set() was handed, as it was handed, and counts set() and touch(). */
function recordingStore() {
  const store = new MemoryStore();
  const handed: unknown[] = [];
  const counts = { set: 0, touch: 0 };
  const { set, touch } = { set: store.set.bind(store), touch: store.touch.bind(store) };
  store.set = ((sid: string, value: SessionData, callback?: Callback) => {
    counts.set += 1;
    handed.push(value);
    return set(sid, value, callback as never);
  }) as typeof store.set;
  store.touch = ((sid: string, value: SessionData, callback?: Callback) => {
    counts.touch += 1;
    return touch(sid, value, callback as never);
  }) as typeof store.touch;
  return { store, handed, counts };
}

/** The fastify app the cases build, logged in once: the app, its session cookie and the sid it names. */
async function fastifyLoggedIn(store: Store, options: Parameters<typeof FRAMEWORKS.fastify.build>[1] = {}) {
  const app = await FRAMEWORKS.fastify.build(store, options);
  const login = await app.request().post('/login').send({ user: 'ana' }).expect(200);
  const cookie = setCookies(login).find((c) => c.name === FRAMEWORKS.fastify.cookieName)!;
  return { app, cookie, sid: FRAMEWORKS.fastify.unsign(cookie.value, SECRET) as string };
}

describe('what the fastify cases rely on @fastify/session doing', () => {
  it('never calls touch(): with rolling, its default, it saves an unchanged session again with set()', async () => {
    const { store, counts } = recordingStore();
    const { app, cookie } = await fastifyLoggedIn(store);
    try {
      counts.set = 0;
      await app.request().get('/noop').set('Cookie', cookieHeader(cookie)).expect(200);
      expect(counts).toEqual({ set: 1, touch: 0 });
    } finally {
      await app.close();
    }
  });

  it('writes nothing for an unchanged session with rolling: false, and still calls no touch()', async () => {
    const { store, counts } = recordingStore();
    const { app, cookie } = await fastifyLoggedIn(store, { rolling: false });
    try {
      counts.set = 0;
      await app.request().get('/noop').set('Cookie', cookieHeader(cookie)).expect(200);
      expect(counts).toEqual({ set: 0, touch: 0 });
    } finally {
      await app.close();
    }
  });

  it('hands set() a Session whose cookie writes null sameSite and domain, and originalExpires from the second save on', async () => {
    const { store, handed } = recordingStore();
    const { app, cookie } = await fastifyLoggedIn(store, { cookie: { maxAge: HOUR_MS } });
    try {
      await app.request().get('/noop').set('Cookie', cookieHeader(cookie)).expect(200);
      expect(handed.map((value) => (value as object).constructor.name)).toEqual(['Session', 'Session']);
      const [first, second] = handed.map((value) => JSON.parse(JSON.stringify(value)) as { cookie: Record<string, unknown> });
      expect(first!.cookie).toEqual({ expires: expect.any(String), originalMaxAge: HOUR_MS, sameSite: null, secure: false, path: '/', httpOnly: true, domain: null });
      expect(second!.cookie).toMatchObject({ originalExpires: first!.cookie.expires, sameSite: null, domain: null });
      expect(Date.parse(second!.cookie.expires as string)).toBeGreaterThanOrEqual(Date.parse(first!.cookie.expires as string));
    } finally {
      await app.close();
    }
  });

  it('takes originalExpires from the stored expires, never from the stored originalExpires', async () => {
    const store = new MemoryStore();
    const { app, cookie, sid } = await fastifyLoggedIn(store, { cookie: { maxAge: HOUR_MS } });
    try {
      const stored = (await store.get(sid)) as unknown as { cookie: Record<string, unknown> };
      await store.set(sid, { ...stored, cookie: { ...stored.cookie, originalExpires: new Date(Date.now() - HOUR_MS) } } as unknown as SessionData);
      const me = await app.request().get('/me').set('Cookie', cookieHeader(cookie)).expect(200);
      expect(me.body).toMatchObject({ id: sid, data: { user: 'ana' } });
    } finally {
      await app.close();
    }
  });
});

/** Sessions in a map, as a store whose upsert writes the expiry on insert only: set() of a session it holds keeps that expiry; touch() moves it. */
class FirstWriteExpiryStore extends session.Store {
  private readonly records = new Map<string, { text: string; expiresAt: number }>();

  constructor(
    private readonly now: () => number,
    private readonly ttl: number,
  ) {
    super();
  }

  private expiryOf(value: SessionData): number {
    return value.cookie?.expires ? new Date(value.cookie.expires).getTime() : this.now() + this.ttl;
  }

  get(sid: string, callback: Callback): void {
    const record = this.records.get(sid);
    setImmediate(callback, null, record && record.expiresAt > this.now() ? JSON.parse(record.text) : null);
  }

  set(sid: string, value: SessionData, callback?: Callback): void {
    const kept = this.records.get(sid)?.expiresAt;
    this.records.set(sid, { text: JSON.stringify(value), expiresAt: kept ?? this.expiryOf(value) });
    setImmediate(() => callback?.());
  }

  touch(sid: string, value: SessionData, callback?: Callback): void {
    const record = this.records.get(sid);
    if (record) record.expiresAt = this.expiryOf(value);
    setImmediate(() => callback?.());
  }

  destroy(sid: string, callback?: Callback): void {
    this.records.delete(sid);
    setImmediate(() => callback?.());
  }
}

/** A MemoryStore that refuses a session whose cookie has a null sameSite, secure or domain, as this package's base once did. */
function nullRefusingStore(): Store {
  const store = new MemoryStore();
  const set = store.set.bind(store);
  store.set = ((sid: string, value: SessionData, callback?: Callback) => {
    const cookie = JSON.parse(JSON.stringify(value.cookie)) as Record<string, unknown>;
    const nulled = ['sameSite', 'secure', 'domain'].find((name) => cookie[name] === null);
    if (nulled) return void setImmediate(callback!, new Error(`cookie.${nulled} is not a valid attribute`));
    return set(sid, value, callback as never);
  }) as typeof store.set;
  return store;
}

describe('the fastify cases fail what only @fastify/session shows', () => {
  it('a store whose set() keeps the expiry of its first write: it slides under express-session, which touches, and not under @fastify/session', async () => {
    const config: ConformanceConfig = {
      name: 'first-write expiry',
      makeStore: (options: StoreFactoryOptions) => new FirstWriteExpiryStore(options.now!, (options.ttl as number | undefined) ?? 24 * HOUR_MS),
      clock: 'injectable',
      supports: { ttl: true },
    };
    const ids = ['http-unmodified-session-is-touched-not-saved', 'fastify-unmodified-session-saved-again-slides-its-expiry', 'fastify-login-then-reload'];
    const results = await runCases({ ...config, filter: (id) => ids.includes(id) });
    expect(Object.fromEntries(results.map((r) => [r.id, r.status]))).toEqual({
      'http-unmodified-session-is-touched-not-saved': 'pass',
      'fastify-unmodified-session-saved-again-slides-its-expiry': 'fail',
      'fastify-login-then-reload': 'pass',
    });
    expect(results.find((r) => r.status === 'fail')!.reason).toContain('saving it again did not slide it');
  });

  it('a store that refuses null cookie attributes: express-session writes none, @fastify/session writes three', async () => {
    const config: ConformanceConfig = { name: 'null-refusing', makeStore: nullRefusingStore };
    const results = await runCases({ ...config, filter: (id) => ['http-login-then-reload', 'fastify-login-then-reload'].includes(id) });
    expect(results.map((r) => [r.id, r.status])).toEqual([
      ['http-login-then-reload', 'pass'],
      ['fastify-login-then-reload', 'fail'],
    ]);
    expect(results[1]!.reason).toMatch(/expected 200 "OK", got 500/);
  });
});

describe('choosing the frameworks', () => {
  const config = (http: ConformanceConfig['http']): ConformanceConfig => ({ name: 'choice', makeStore: () => new MemoryStore(), http });
  const frameworksOf = (http: ConformanceConfig['http']) => [...new Set(selectCases(config(http)).map((c) => c.framework).filter(Boolean))];

  it('runs the HTTP cases through express and fastify by default, through those listed, or not at all', () => {
    expect(frameworksOf(undefined)).toEqual(['express', 'fastify']);
    expect(frameworksOf(true)).toEqual(['express', 'fastify']);
    expect(frameworksOf(['fastify'])).toEqual(['fastify']);
    expect(frameworksOf(['express'])).toEqual(['express']);
    expect(frameworksOf(false)).toEqual([]);
  });

  it('has each HTTP case through each framework, under the same name', () => {
    const names = (prefix: string) => cases.filter((c) => c.id.startsWith(prefix)).map((c) => c.id.slice(prefix.length));
    expect(names('fastify-').sort()).toEqual(names('http-').sort());
    expect(cases.filter((c) => c.group === 'http').every((c) => c.framework !== undefined)).toBe(true);
  });

  it('reports a case through a framework that lacks what it needs as not applicable, saying why', () => {
    const notApplicable = cases.filter((c) => skipReason(c, config(true))?.startsWith('not applicable')).map((c) => c.id);
    expect(notApplicable).toEqual(['fastify-unmodified-session-is-touched-not-saved', 'fastify-proxy-option-trusts-forwarded-proto']);
    expect(skipReason(cases.find((c) => c.id === 'fastify-unmodified-session-is-touched-not-saved')!, config(true))).toMatch(
      /^not applicable to @fastify\/session: @fastify\/session never calls touch\(\)/,
    );
  });
});

describe('where fastify is not installed', () => {
  /** The login-then-reload cases run by runCases with `http`, in a process where @fastify/session does not resolve. */
  function loginCases(http: ConformanceConfig['http']): Promise<Array<{ id: string; status: string; reason?: string }>> {
    const fixtures = path.join(__dirname, 'fixtures');
    const args = ['--import', 'tsx', '--import', path.join(fixtures, 'without-module.mjs'), path.join(fixtures, 'login-cases.ts'), JSON.stringify(http)];
    const env = { ...process.env, CONFORMANCE_WITHOUT_MODULE: '@fastify/session' };
    return new Promise((resolve, reject) =>
      execFile(process.execPath, args, { cwd: path.join(__dirname, '..'), env }, (error, stdout, stderr) =>
        error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(JSON.parse(stdout)),
      ),
    );
  }

  it('skips the fastify cases by default, saying what to install, and runs the express ones', async () => {
    expect(await loginCases(true)).toEqual([
      { id: 'http-login-then-reload', status: 'pass' },
      {
        id: 'fastify-login-then-reload',
        status: 'skip',
        reason: '@fastify/session cannot be loaded: npm install --save-dev fastify @fastify/cookie @fastify/session supertest runs the cases through @fastify/session',
      },
    ]);
  }, 30_000);

  it('fails them, saying what to install, when the config names fastify', async () => {
    expect(await loginCases(['fastify'])).toEqual([
      {
        id: 'fastify-login-then-reload',
        status: 'fail',
        reason:
          "the HTTP cases need fastify, @fastify/cookie, @fastify/session and supertest (@fastify/session cannot be loaded): npm install --save-dev fastify @fastify/cookie @fastify/session supertest, or leave fastify out of the config's http",
      },
    ]);
  }, 30_000);
});
