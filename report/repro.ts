/**
 * Reproduces by hand, outside the suite, every failure and warning of a third-party store that the
 * report states: each note of notes.ts names one check here, which drives the store through its own
 * API, an express app on express-session or a fastify app on @fastify/session, on a store of its own
 * from the store's report module, and says whether the store showed the misbehaviour. Expiry checks
 * wait whole seconds, so rounding expiry to seconds cannot explain what they see (the sub-second
 * check aside, which looks for that rounding).
 * Run: npx tsx report/repro.ts [store-module ...]; exits 1 when a check does not show what its notes state.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import express from 'express';
import session, { type SessionData, type Store } from 'express-session';
import request from 'supertest';
import { ensureReportInstall } from './install';
import { provideMongoServer } from './mongo-server';
import { caseNotes, foundByHand } from './notes';
import type { ReportStoreModule } from './stores/support';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const Cookie = require('express-session/session/cookie') as new (options?: Record<string, unknown>) => { expires: Date | null };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const signature = require('cookie-signature') as { sign(value: string, secret: string): string };

type StoreModule = ReportStoreModule & { writeRaw?: (store: Store, sid: string, text: string) => unknown };

/** What a check saw, and whether that is the misbehaviour its notes state. */
export interface Shown {
  shows: boolean;
  seen: string;
}
/** Runs against `mod`, the report module `moduleName` under report/stores. */
type Check = (mod: StoreModule, moduleName: string) => Promise<Shown>;

const SECRET = 'repro-secret-of-at-least-thirty-two-characters';
/** Carried by every corrupt record, so an error quoting the stored data is seen. */
const MARK = 'REPRO-MARK-7f3a';

const shown = (shows: boolean, seen: string): Shown => ({ shows, seen });

function sessionFor(maxAgeMs: number, data: Record<string, unknown> = {}): SessionData {
  return { cookie: new Cookie({ maxAge: maxAgeMs, httpOnly: true, path: '/' }), ...data } as unknown as SessionData;
}

function sessionExpiringAt(expiresAt: number, data: Record<string, unknown> = {}): SessionData {
  const cookie = new Cookie({ httpOnly: true, path: '/' });
  cookie.expires = new Date(expiresAt);
  return { cookie, ...data } as unknown as SessionData;
}

type Method = (...args: unknown[]) => unknown;
const methodOf = (store: Store, name: string): Method | undefined => (store as unknown as Record<string, Method | undefined>)[name];

function call<T>(store: Store, method: string, ...args: unknown[]): Promise<T> {
  return new Promise((resolve, reject) => {
    try {
      methodOf(store, method)!.call(store, ...args, (error: unknown, value: T) => (error ? reject(error) : resolve(value)));
    } catch (error) {
      reject(new Error(`${method}() threw synchronously: ${(error as Error).message}`));
    }
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let counter = 0;
const sid = (label: string) => `repro-${label}-${Date.now()}-${++counter}`;

/** A store of the module's in a namespace no other check uses. */
function fresh(mod: StoreModule, options: Record<string, unknown> = {}): Promise<Store> {
  return mod.createStore({ namespace: `repro_${++counter}`, ...options });
}

function preview(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

type Collector = (description: string, error: unknown) => void;
/** Who hears of what reaches the process uncaught, innermost last: each throw or rejection goes to the innermost alone. */
const collectors: Collector[] = [];
let listening = false;

function deliver(kind: string, error: unknown): void {
  const description = `${kind}: ${(error as Error)?.message ?? String(error)}`;
  const collector = collectors[collectors.length - 1];
  if (collector) collector(description, error);
  else process.stderr.write(`outside any check, the process saw ${description}\n`);
}

/** Hands what reaches the process uncaught to `collector` until the returned function is called. */
function collectCrashes(collector: Collector): () => void {
  if (!listening) {
    process.on('uncaughtException', (error) => deliver('an uncaught exception', error));
    process.on('unhandledRejection', (error) => deliver('an unhandled rejection', error));
    listening = true;
  }
  collectors.push(collector);
  return () => void collectors.splice(collectors.lastIndexOf(collector), 1);
}

/** How a callback-taking call went: every call of the callback, a synchronous one or throw, and what reached the process meanwhile. */
interface Observed {
  calls: unknown[][];
  synchronous: boolean;
  threw?: unknown;
  crashes: string[];
}

async function observe(invoke: (callback: (...args: unknown[]) => void) => unknown, waitMs = 3000): Promise<Observed> {
  const observed: Observed = { calls: [], synchronous: false, crashes: [] };
  const stop = collectCrashes((description) => observed.crashes.push(description));
  let returned = false;
  try {
    try {
      invoke((...args) => {
        observed.calls.push(args);
        if (!returned) observed.synchronous = true;
      });
    } catch (error) {
      observed.threw = error;
    }
    returned = true;
    for (let waited = 0; observed.calls.length === 0 && observed.threw === undefined && waited < waitMs; waited += 20) await sleep(20);
    await sleep(100);
  } finally {
    stop();
  }
  return observed;
}

/** One line for how a get()-like call answered. */
function answer(observed: Observed): string {
  const parts: string[] = [];
  if (observed.threw !== undefined) parts.push(`threw synchronously (${(observed.threw as Error).message})`);
  else if (observed.calls.length === 0) parts.push('never called back');
  else {
    const [error, value] = observed.calls[0]!;
    parts.push(error ? `called back ${(error as Error).name ?? 'an error'}: ${(error as Error).message}` : `called back (${preview(error)}, ${preview(value)})`);
    if (observed.calls.length > 1) parts.push(`called back ${observed.calls.length} times`);
  }
  if (observed.crashes.length > 0) parts.push(`the process saw ${observed.crashes.join('; ')}`);
  return parts.join(', ').replace(/\s+/g, ' ');
}

/** Writes `text` as the stored form of a new sid, below the store's codec. */
async function plant(store: Store, mod: StoreModule, text: string, label = 'raw'): Promise<string> {
  const id = sid(label);
  await mod.writeRaw!(store, id, text);
  return id;
}

async function observeGetOf(store: Store, mod: StoreModule, text: string): Promise<Observed> {
  const id = await plant(store, mod, text);
  return observe((callback) => store.get(id, callback));
}

/** Stored forms that are not a session; the unparsable ones last, since some stores crash on them. */
const NOT_SESSIONS: Array<[string, string]> = [
  ['a JSON string', JSON.stringify(MARK)],
  ['JSON null', 'null'],
  ['a JSON array', `["${MARK}"]`],
  ['an object without a cookie', `{"token":"${MARK}"}`],
  ['truncated JSON', `{"cookie":{"path":"/"},"token":"${MARK}"`],
  ['not JSON', `<${MARK}>`],
];

/** Sessions whose JSON parses but whose cookie express-session and @fastify/session cannot load. */
const UNLOADABLE_COOKIES: Array<[string, string]> = [
  ['originalMaxAge a string', '{"cookie":{"originalMaxAge":"soon","path":"/"}}'],
  ['expires not a date', '{"cookie":{"originalMaxAge":1000,"expires":"not a date","path":"/"}}'],
  ['a path with a semicolon', '{"cookie":{"originalMaxAge":null,"path":"/;Domain=evil.example"}}'],
  ['sameSite unknown', '{"cookie":{"originalMaxAge":null,"path":"/","sameSite":"sideways"}}'],
];

const DEEP_LEVELS = 100_000;
const deeplyNested = (levels: number) => `{"cookie":{"originalMaxAge":null,"path":"/","httpOnly":true},"tree":${'['.repeat(levels)}${']'.repeat(levels)}}`;

/** Whether express-session can build a session from the value get() called back. */
function loadable(value: unknown): boolean {
  if (value === null || value === undefined) return true;
  if (typeof value !== 'object' || Array.isArray(value)) return false;
  const cookie = (value as { cookie?: unknown }).cookie;
  return cookie !== null && typeof cookie === 'object';
}

/** Runs `body`, with any uncaught exception or unhandled rejection that reaches the process meanwhile. */
async function watchingCrashes<T>(body: () => Promise<T>): Promise<{ outcome: T | Error; crashes: string[] }> {
  const crashes: string[] = [];
  const stop = collectCrashes((description) => crashes.push(description));
  let outcome: T | Error;
  try {
    outcome = await body();
  } catch (error) {
    outcome = error instanceof Error ? error : new Error(String(error));
  }
  await sleep(100);
  stop();
  return { outcome, crashes };
}

/** What a browser holding the cookie of `id` gets from an express app on express-session and `store`. */
async function expressAnswer(store: Store, id: string): Promise<string> {
  const app = express();
  // Quiet: express's final handler would print the stack of an error the app cannot answer.
  app.set('env', 'test');
  app.use(session({ store, secret: SECRET, resave: false, saveUninitialized: false }));
  app.get('/', (req, res) => res.json({ data: Object.keys(req.session).filter((k) => k !== 'cookie') }));
  app.use((error: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => res.status(500).send(error.message));
  const cookie = `connect.sid=${encodeURIComponent(`s:${signature.sign(id, SECRET)}`)}`;
  return request(app)
    .get('/')
    .set('Cookie', cookie)
    .timeout(3000)
    .then(
      (response) => `${response.status} ${response.text.split('\n')[0]!.slice(0, 80)}`,
      (error: Error) => `no answer (${error.message})`,
    );
}

/** What a browser holding the cookie of `id` gets from a fastify app on @fastify/session and `store`. */
async function fastifyAnswer(store: Store, id: string): Promise<string> {
  const fastify = require('fastify') as (options?: object) => {
    register(plugin: unknown, options?: object): PromiseLike<unknown>;
    get(route: string, handler: (req: { session: Record<string, unknown> }) => Promise<unknown>): void;
    ready(): PromiseLike<unknown>;
    close(): PromiseLike<unknown>;
    server: import('node:http').Server;
  };
  const cookiePlugin = require('@fastify/cookie') as { Signer: new (secret: string, algorithm: string) => { sign(value: string): string } };
  const app = fastify();
  await app.register(cookiePlugin);
  await app.register(require('@fastify/session'), { store, secret: SECRET, cookie: { secure: false } });
  app.get('/', async (req) => ({ data: Object.keys(req.session).filter((k) => k !== 'cookie') }));
  await app.ready();
  const signed = new cookiePlugin.Signer(SECRET, 'sha256').sign(id);
  try {
    return await request(app.server)
      .get('/')
      .set('Cookie', `sessionId=${encodeURIComponent(signed)}`)
      .timeout(3000)
      .then(
        (response) => `${response.status} ${response.text.slice(0, 80)}`,
        (error: Error) => `no answer (${error.message})`,
      );
  } finally {
    await app.close();
  }
}

/** What a browser holding the cookie of a stored session with originalMaxAge a string, then of one nested 100000 levels deep, gets from an app. */
async function unloadableAnswers(mod: StoreModule, answerOf: (store: Store, id: string) => Promise<string>): Promise<Shown> {
  const store = await fresh(mod);
  const outcomes: string[] = [];
  let unanswered = 0;
  for (const [label, text] of [UNLOADABLE_COOKIES[0]!, [`${DEEP_LEVELS} levels deep`, deeplyNested(DEEP_LEVELS)]] as const) {
    const id = await plant(store, mod, text, 'unloadable');
    const { outcome, crashes } = await watchingCrashes(() => answerOf(store, id));
    const answered = outcome instanceof Error ? `the app failed: ${outcome.message}` : outcome;
    if (!/^\d{3} /.test(answered) || crashes.length > 0) unanswered++;
    outcomes.push(`${label}: ${answered}${crashes.length > 0 ? `; the process saw ${crashes.join('; ')}` : ''}`);
  }
  return shown(unanswered > 0, outcomes.join('; '));
}

/** How often each method, on a session stored as `id`, calls a callback that throws, with what; the throw is absorbed when it reaches the process. */
async function throwingCallbacks(store: Store, id: string, methods: string[]): Promise<Record<string, string[]>> {
  const thrown = new Error('thrown by the callback');
  const other: string[] = [];
  const stop = collectCrashes((description, error) => void (error !== thrown && other.push(description)));
  const seen: Record<string, string[]> = {};
  try {
    await call(store, 'set', id, sessionFor(3_600_000));
    const args: Record<string, unknown[]> = { get: [id], set: [id, sessionFor(3_600_000)], touch: [id, sessionFor(3_600_000)], destroy: [id] };
    for (const method of methods) {
      const calls = (seen[`${method}()`] = [] as string[]);
      try {
        methodOf(store, method)!.call(store, ...args[method]!, (error: unknown) => {
          calls.push(error === thrown ? 'its own error' : error ? 'an error' : 'no error');
          throw thrown;
        });
      } catch (error) {
        if (error !== thrown) calls.push('a synchronous throw');
      }
      await sleep(300);
    }
  } finally {
    stop();
  }
  if (other.length > 0) seen['the process also saw'] = other;
  return seen;
}

/** A live session and one that expired 2.5 s ago (1 s cookie), in a fresh namespace. */
async function liveAndExpired(mod: StoreModule): Promise<{ store: Store; live: string; expired: string }> {
  const store = await fresh(mod);
  const [live, expired] = [sid('live'), sid('expired')];
  await call(store, 'set', live, sessionFor(3_600_000, { marker: live }));
  await call(store, 'set', expired, sessionFor(1000, { marker: expired }));
  await sleep(3500);
  return { store, live, expired };
}

/**
 * Every check, in the order they run for a store: the ones that may crash the process or wedge a
 * store's connection (corrupt and unloadable records) last.
 */
export const checks: Record<string, Check> = {
  'get() of a sid never set': async (mod) => {
    const store = await fresh(mod);
    const observed = await observe((callback) => store.get(sid('missing'), callback));
    const [error, value] = observed.calls[0] ?? [];
    return shown(observed.calls.length === 1 && (error !== null || value !== null), answer(observed));
  },
  'set() without a callback': async (mod) => {
    const store = await fresh(mod);
    const returned = methodOf(store, 'set')!.call(store, sid('promise'), sessionFor(3_600_000));
    const thenable = typeof (returned as { then?: unknown } | undefined)?.then === 'function';
    if (thenable) await returned;
    else await sleep(300);
    return shown(!thenable, `set() returned ${thenable ? 'a promise' : preview(returned)}`);
  },
  'callbacks of get(), set() and destroy(), before they return': async (mod) => {
    const store = await fresh(mod);
    const id = sid('sync');
    const synchronous: string[] = [];
    for (const [label, invoke] of [
      ['set()', (cb: (...a: unknown[]) => void) => store.set(id, sessionFor(3_600_000), cb)],
      ['get()', (cb: (...a: unknown[]) => void) => store.get(id, cb)],
      ['destroy()', (cb: (...a: unknown[]) => void) => store.destroy(id, cb)],
    ] as const) {
      if ((await observe(invoke)).synchronous) synchronous.push(label);
    }
    return shown(synchronous.length > 0, synchronous.length > 0 ? `${synchronous.join(', ')} called back before returning` : 'every callback came after the call returned');
  },
  'callbacks that throw': async (mod) => {
    const store = await fresh(mod);
    const methods = ['get', 'set', 'touch', 'destroy'].filter((m) => typeof methodOf(store, m) === 'function');
    const seen = await throwingCallbacks(store, sid('throwing'), methods);
    const twice = Object.entries(seen).filter(([label, calls]) => label.endsWith('()') && calls.length > 1);
    return shown(twice.length > 0, Object.entries(seen).map(([label, calls]) => `${label}: ${calls.join(', then ') || 'never called'}`).join('; '));
  },
  'a get() whose callback throws, then the session': async (mod) => {
    const store = await fresh(mod);
    const id = sid('throwing');
    const seen = await throwingCallbacks(store, id, ['get']);
    const after = await Promise.race([call<unknown>(store, 'get', id).then((value) => (value ? 'still stored' : 'GONE from the store')), sleep(3000).then(() => 'NEVER ANSWERED: get() no longer calls back')]);
    return shown(seen['get()']!.length > 1 || after !== 'still stored', `get(): ${seen['get()']!.join(', then ')}; a get() of the session then: ${after}`);
  },
  'sub-second expiry on the wall clock': async (mod) => {
    const store = await fresh(mod);
    let last = '';
    for (let attempt = 1; attempt <= 3; attempt++) {
      const id = sid('subsecond');
      // Set on a whole second with 1.5 s to live, so rounding to seconds up, down or from the time of set() misses by 0.5 s.
      await sleep(1000 - (Date.now() % 1000));
      const expiresAt = Date.now() + 1500;
      await call(store, 'set', id, sessionExpiringAt(expiresAt, { user: 'ana' }));
      await sleep(expiresAt - 400 - Date.now());
      const beforeAt = Date.now() - expiresAt;
      const before = await call<unknown>(store, 'get', id);
      await sleep(expiresAt + 400 - Date.now());
      const afterAt = Date.now() - expiresAt;
      const after = await call<unknown>(store, 'get', id);
      last = `${before ? 'returned' : 'GONE'} ${-beforeAt} ms before its expiry, ${after ? 'RETURNED' : 'gone'} ${afterAt} ms after it`;
      const onTime = Math.abs(beforeAt + 400) < 200 && Math.abs(afterAt - 400) < 200;
      if (onTime) return shown(!before || Boolean(after), last);
    }
    return shown(false, `the machine was too slow to look on time: ${last}`);
  },
  'ttl 1 s, cookie maxAge 1 h: get after 2 s': async (mod) => {
    const store = await fresh(mod, { ttl: 1000 });
    const id = sid('ttl');
    await call(store, 'set', id, sessionFor(3_600_000));
    await sleep(2000);
    const found = await call(store, 'get', id);
    return shown(!found, found ? 'returned' : 'GONE (the ttl overrides the cookie)');
  },
  'ttl 1 h, cookie maxAge 1 s: get after 2 s': async (mod) => {
    const store = await fresh(mod, { ttl: 3_600_000 });
    const id = sid('ttl');
    await call(store, 'set', id, sessionFor(1000));
    await sleep(2000);
    const found = await call(store, 'get', id);
    return shown(Boolean(found), found ? 'RETURNED (the ttl overrides the cookie)' : 'gone');
  },
  'all() with one live session and one expired 2.5 s ago': async (mod) => {
    const { store, live, expired } = await liveAndExpired(mod);
    const text = JSON.stringify(await call<unknown>(store, 'all'));
    return shown(text.includes(expired), `the live session ${text.includes(live) ? 'in' : 'MISSING'}; the expired one ${text.includes(expired) ? 'INCLUDED' : 'left out'}`);
  },
  'ids() with one live session and one expired 2.5 s ago': async (mod) => {
    const { store, live, expired } = await liveAndExpired(mod);
    const ids = await call<string[]>(store, 'ids');
    return shown(ids.includes(expired), `the live sid ${ids.includes(live) ? 'in' : 'MISSING'}; the expired sid ${ids.includes(expired) ? 'INCLUDED' : 'left out'}`);
  },
  'length() with one live session and one expired 2.5 s ago': async (mod) => {
    const { store } = await liveAndExpired(mod);
    const length = await call<number>(store, 'length');
    return shown(length !== 1, `length ${length} (1 is live)`);
  },
  'touch() of a session expired 2.5 s ago, then get': async (mod) => {
    const store = await fresh(mod);
    const id = sid('revive');
    await call(store, 'set', id, sessionFor(1000, { user: 'ana' }));
    await sleep(3500);
    await call(store, 'touch', id, sessionFor(3_600_000, { user: 'ana' }));
    const revived = await call(store, 'get', id);
    return shown(Boolean(revived), revived ? 'REVIVED' : 'stays gone');
  },
  'touch() of a sid never set, and of one destroyed': async (mod) => {
    const store = await fresh(mod);
    const [missing, destroyed] = [sid('missing'), sid('destroyed')];
    await call(store, 'set', destroyed, sessionFor(3_600_000));
    await call(store, 'destroy', destroyed);
    const outcomes: string[] = [];
    let errors = 0;
    for (const [label, id] of [['never set', missing], ['destroyed', destroyed]] as const) {
      const error = await call(store, 'touch', id, sessionFor(3_600_000)).then(() => undefined, (e: Error) => e);
      if (error) errors++;
      const after = await call(store, 'get', id);
      outcomes.push(`${label}: ${error ? `ERROR "${error.message}"` : 'no error'}, then get() ${after ? 'RETURNS it' : 'finds nothing'}`);
    }
    return shown(errors > 0, outcomes.join('; '));
  },
  'all() of two sessions': async (mod) => {
    const store = await fresh(mod);
    const [a, b] = [sid('a'), sid('b')];
    await call(store, 'set', a, sessionFor(3_600_000, { marker: 'A' }));
    await call(store, 'set', b, sessionFor(3_600_000, { marker: 'B' }));
    const all = await call<unknown>(store, 'all');
    if (!Array.isArray(all)) {
      const keyed = all !== null && typeof all === 'object' && a in all && b in all;
      return shown(!keyed, keyed ? 'an object keyed by sid' : preview(all));
    }
    const fields = Object.keys((all[0] ?? {}) as object).join(', ');
    const named = JSON.stringify(all).includes(a);
    return shown(true, `an array of ${all.length} entries with the fields ${fields}${named ? '' : ', none naming its sid'}`);
  },
  "set('__proto__') then all()": async (mod) => {
    const store = await fresh(mod);
    await call(store, 'set', '__proto__', sessionFor(3_600_000, { marker: 'proto' }));
    try {
      const all = await call<object>(store, 'all');
      if (Array.isArray(all)) return shown(false, 'all() calls back an array, which has no sid keys');
      const prototype = Object.getPrototypeOf(all) as unknown;
      const own = Object.prototype.hasOwnProperty.call(all, '__proto__');
      const hijacked = prototype !== null && prototype !== Object.prototype;
      return shown(hijacked || !own, `${hijacked ? "the result's PROTOTYPE is the session" : "the result's prototype is untouched"}; '__proto__' ${own ? 'is' : 'is NOT'} an own key`);
    } finally {
      await call(store, 'destroy', '__proto__');
    }
  },
  'sids "\\ud800…", "\\udc00…" and "\\ufffd…"': async (mod) => {
    const store = await fresh(mod);
    const unique = sid('');
    const ids = ['\ud800', '\udc00', '\ufffd'].map((lone) => `${lone}${unique}`);
    for (const [i, id] of ids.entries()) await call(store, 'set', id, sessionFor(3_600_000, { i }));
    const read = await Promise.all(ids.map((id) => call<{ i?: number } | null>(store, 'get', id)));
    const collided = read.some((value, i) => value?.i !== i);
    return shown(collided, `get() of each reads i = ${read.map((value) => value?.i ?? 'none').join(', ')} (set as 0, 1, 2)`);
  },
  'a sid of 300 characters': async (mod) => {
    const store = await fresh(mod);
    const id = `${sid('long')}-${'x'.repeat(300)}`.slice(0, 300);
    const error = await call(store, 'set', id, sessionFor(3_600_000, { user: 'ana' })).then(() => undefined, (e: Error) => e);
    if (error) return shown(true, `set() called back ${error.message}`);
    const read = await call<{ user?: string } | null>(store, 'get', id);
    return shown(read?.user !== 'ana', read?.user === 'ana' ? 'stored and read back' : `read back ${preview(read)}`);
  },
  'close() twice': async (mod) => {
    const store = await fresh(mod);
    await call(store, 'set', sid('close'), sessionFor(3_600_000));
    const close = () => Promise.resolve((store as unknown as { close(): unknown }).close());
    await close();
    const second = await close().then(() => undefined, (e: Error) => e);
    return shown(second !== undefined, second ? `the second close() REJECTS: ${second.message}` : 'the second close() resolves');
  },
  'a process that uses a store and releases it': async (_mod, moduleName) => {
    const modulePath = path.join(__dirname, 'stores', `${moduleName}.ts`);
    // The factory module's own teardown releases what it opened (databases, clients) once the store has no close() to call.
    const script = `
      const mod = require(${JSON.stringify(modulePath)});
      const call = (store, method, ...args) => new Promise((resolve, reject) => store[method](...args, (e, v) => (e ? reject(e) : resolve(v))));
      (async () => {
        const store = await mod.createStore({ namespace: 'repro_exit' });
        const session = { cookie: { originalMaxAge: 3600000, expires: new Date(Date.now() + 3600000).toISOString(), path: '/' } };
        await call(store, 'set', 'exit', session);
        await call(store, 'get', 'exit');
        await call(store, 'destroy', 'exit');
        if (typeof store.close === 'function') await store.close();
        await mod.teardown();
        process.stdout.write('released\\n');
      })();`;
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], { cwd: __dirname, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let released: number | undefined;
    child.stdout.on('data', (chunk: Buffer) => void (chunk.toString().includes('released') && (released ??= Date.now())));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const deadline = Date.now() + 20_000;
    for (;;) {
      const code = await Promise.race([exited, sleep(100).then(() => 'running' as const)]);
      if (code !== 'running') return shown(false, `the process exited (${code}) ${released ? `${Date.now() - released} ms after the release` : 'before releasing the store'}`);
      if ((released !== undefined && Date.now() - released > 3000) || Date.now() > deadline) {
        child.kill('SIGKILL');
        return shown(released !== undefined, released ? 'the process is STILL ALIVE 3 s after the store and its database were released' : 'the child did not get to release the store');
      }
    }
  },
  'set() of a circular session and of one holding a BigInt': async (mod) => {
    const store = await fresh(mod);
    const circular = sessionFor(3_600_000) as unknown as Record<string, unknown>;
    circular.self = circular;
    const outcomes: string[] = [];
    let wrong = 0;
    for (const [label, value] of [
      ['circular', circular],
      ['a BigInt', sessionFor(3_600_000, { big: BigInt(1) })],
    ] as const) {
      const observed = await observe((callback) => store.set(sid('unserializable'), value as never, callback));
      const error = observed.calls[0]?.[0];
      if (observed.threw !== undefined || !(error instanceof Error)) wrong++;
      outcomes.push(`${label}: ${answer(observed)}`);
    }
    return shown(wrong > 0, outcomes.join('; '));
  },
  'methods called with an undefined sid or a null session': async (mod) => {
    const store = await fresh(mod);
    const existing = sid('existing');
    await call(store, 'set', existing, sessionFor(3_600_000));
    const threw: string[] = [];
    for (const [label, method, args] of [
      ['get(undefined)', 'get', [undefined]],
      ['set(sid, null)', 'set', [sid('null'), null]],
      ['set(sid, undefined)', 'set', [sid('undefined'), undefined]],
      ['touch(sid, null)', 'touch', [existing, null]],
      ['destroy(undefined)', 'destroy', [undefined]],
    ] as const) {
      if (typeof methodOf(store, method) !== 'function') continue;
      const observed = await observe((callback) => methodOf(store, method)!.call(store, ...args, callback), 1000);
      if (observed.threw !== undefined || observed.calls.length !== 1) threw.push(`${label} ${answer(observed)}`);
    }
    return shown(threw.length > 0, threw.length > 0 ? threw.join('; ') : 'each called back once');
  },
  'set() of sessions express-session could not load back': async (mod) => {
    const store = await fresh(mod);
    const accepted: string[] = [];
    for (const [label, value] of [
      ['no cookie', { user: 'ana' }],
      ['originalMaxAge a string', { cookie: { originalMaxAge: 'soon', path: '/' } }],
    ] as const) {
      const id = sid('unreadable');
      const error = await call(store, 'set', id, value).then(() => undefined, (e: Error) => e);
      const read = await call<unknown>(store, 'get', id).catch(() => null);
      if (!error && read) accepted.push(`${label}: set() called back no error and get() then gives ${preview(read)}`);
    }
    return shown(accepted.length > 0, accepted.length > 0 ? accepted.join('; ') : 'both refused');
  },
  'get() of stored sessions whose cookie cannot be loaded': async (mod) => {
    const store = await fresh(mod);
    const returned: string[] = [];
    for (const [label, text] of UNLOADABLE_COOKIES) {
      const observed = await observeGetOf(store, mod, text);
      const [error, value] = observed.calls[0] ?? [];
      if (!error && value) returned.push(label);
    }
    return shown(returned.length > 0, returned.length > 0 ? `handed back as the session: ${returned.join(', ')}` : 'none handed back');
  },
  [`get() of a stored session nested ${DEEP_LEVELS} levels deep`]: async (mod) => {
    const store = await fresh(mod);
    const observed = await observeGetOf(store, mod, deeplyNested(DEEP_LEVELS));
    const [error, value] = observed.calls[0] ?? [];
    const overflowed = error instanceof RangeError;
    return shown(overflowed || (!error && Boolean(value)), overflowed ? answer(observed) : !error && value ? 'handed back as the session' : answer(observed));
  },
  'a browser whose stored session cannot be loaded, through express-session': (mod) => unloadableAnswers(mod, expressAnswer),
  'a browser whose stored session cannot be loaded, through @fastify/session': (mod) => unloadableAnswers(mod, fastifyAnswer),
  'all() over a record that is truncated JSON': async (mod) => {
    const store = await fresh(mod);
    await call(store, 'set', sid('good'), sessionFor(3_600_000));
    await plant(store, mod, NOT_SESSIONS[4]![1]);
    const observed = await observe((callback) => methodOf(store, 'all')!.call(store, callback));
    const [error, all] = observed.calls[0] ?? [];
    const wrong =
      observed.threw !== undefined ||
      observed.calls.length !== 1 ||
      (error ? String((error as Error).message).includes(MARK) : JSON.stringify(all ?? null).includes(MARK));
    return shown(wrong, observed.threw !== undefined || error ? answer(observed) : `called back ${JSON.stringify(all).includes(MARK) ? 'the corrupt record among the sessions' : 'the sessions without it'}`);
  },
  'get() of records that are not sessions: what it calls back': async (mod) => {
    const store = await fresh(mod);
    const noError: string[] = [];
    for (const [label, text] of NOT_SESSIONS) {
      const observed = await observeGetOf(store, mod, text);
      if (observed.threw === undefined && observed.calls.length > 0 && !observed.calls[0]![0]) noError.push(`${label}: (null, ${preview(observed.calls[0]![1])})`);
    }
    return shown(noError.length > 0, noError.length > 0 ? `no Error for ${noError.join('; ')}` : 'an Error for each');
  },
  'get() of records that are not sessions: the error': async (mod) => {
    const store = await fresh(mod);
    const wrong: string[] = [];
    for (const [label, text] of NOT_SESSIONS) {
      const observed = await observeGetOf(store, mod, text);
      const error = (observed.threw ?? observed.calls[0]?.[0]) as (Error & { code?: unknown }) | undefined;
      if (!(error instanceof Error)) wrong.push(`${label}: no Error`);
      else if (String(error.message).includes(MARK)) wrong.push(`${label}: the message QUOTES the stored data`);
      else if (typeof error.code !== 'string') wrong.push(`${label}: no string code`);
    }
    return shown(wrong.length > 0, wrong.length > 0 ? wrong.join('; ') : 'each an Error with a code, quoting nothing');
  },
  'get() of records that are not sessions, and a browser holding their cookie': async (mod) => {
    const store = await fresh(mod);
    const wrong: string[] = [];
    for (const [label, text] of NOT_SESSIONS) {
      const id = await plant(store, mod, text, 'corrupt');
      const observed = await observe((callback) => store.get(id, callback));
      const [error, value] = observed.calls[0] ?? [];
      const bad = observed.threw !== undefined || observed.calls.length !== 1 || observed.crashes.length > 0 || (!error && !loadable(value));
      if (!bad) continue;
      const browser = observed.calls.length === 1 && observed.crashes.length === 0 ? `; express-session answers ${await expressAnswer(store, id)}` : '';
      wrong.push(`${label}: ${answer(observed)}${browser}`);
    }
    return shown(wrong.length > 0, wrong.length > 0 ? wrong.join(' | ') : 'an Error or no session for each');
  },
  'set "id" then set "id " (a trailing space), then get "id"': async (mod) => {
    const store = await fresh(mod);
    const id = sid('pad');
    await call(store, 'set', id, sessionFor(3_600_000, { owner: 'first' }));
    await call(store, 'set', `${id} `, sessionFor(3_600_000, { owner: 'second' }));
    const first = await call<{ owner?: string } | null>(store, 'get', id);
    return shown(first?.owner === 'second', first?.owner === 'second' ? 'OVERWRITTEN by the id with a trailing space' : `kept (${first?.owner})`);
  },
  'two tables in one schema': async () => {
    // Loaded here, not at the top: the support module reads MONGO_URL once, after provideMongoServer() has set it.
    const { POSTGRES_URL, RUN_ID } = require('./stores/support') as typeof import('./stores/support');
    const connectPgSimple = require('connect-pg-simple') as (s: typeof session) => new (options: Record<string, unknown>) => Store & { close(): Promise<void> };
    const { Pool } = require('pg') as typeof import('pg');
    const PGStore = connectPgSimple(session);
    const schemaName = `repro_tables_${RUN_ID}`;
    const admin = new Pool({ connectionString: POSTGRES_URL, max: 1 });
    await admin.query(`CREATE SCHEMA IF NOT EXISTS "${schemaName}"`);
    const stores = ['first_sessions', 'second_sessions'].map((tableName) => new PGStore({ conString: POSTGRES_URL, schemaName, tableName, createTableIfMissing: true }));
    try {
      const outcomes: string[] = [];
      for (const store of stores) {
        const error = await call(store, 'set', sid('table'), sessionFor(3_600_000)).then(() => undefined, (e: Error) => e);
        outcomes.push(error ? `FAILS: ${error.message}` : 'works');
      }
      return shown(outcomes[1] !== 'works', `the first store's set() ${outcomes[0]}; the second's ${outcomes[1]}`);
    } finally {
      for (const store of stores) await store.close();
      await admin.query(`DROP SCHEMA IF EXISTS "${schemaName}" CASCADE`);
      await admin.end();
    }
  },
};

/** The checks the notes of a store module name, each with the case ids (or finding) it backs, in run order. */
export function checksFor(moduleName: string): Array<{ check: string; backs: string[] }> {
  const backing = new Map<string, string[]>();
  for (const [id, note] of Object.entries(caseNotes[moduleName] ?? {})) backing.set(note.repro, [...(backing.get(note.repro) ?? []), `\`${id}\``]);
  for (const { repro } of foundByHand[moduleName] ?? []) backing.set(repro, [...(backing.get(repro) ?? []), 'a finding by hand']);
  return Object.keys(checks)
    .filter((check) => backing.has(check))
    .map((check) => ({ check, backs: backing.get(check)! }));
}

async function reproduce(moduleName: string): Promise<number> {
  const mod = require(`./stores/${moduleName}`) as StoreModule;
  process.stdout.write(`\n${mod.name}\n`);
  const reason = await mod.unavailable();
  if (reason) {
    process.stdout.write(`  not run: ${reason}\n`);
    return 0;
  }
  let notShown = 0;
  for (const { check, backs } of checksFor(moduleName)) {
    // A throw or rejection a check did not watch for is reported with it rather than ending the run.
    const { outcome: result, crashes } = await watchingCrashes(() => checks[check]!(mod, moduleName));
    const outcome: Shown = result instanceof Error ? { shows: false, seen: `the check failed: ${result.message}` } : result;
    if (crashes.length > 0) outcome.seen += `; the process also saw ${crashes.join('; ')}`;
    // What one check leaves behind (a wedged connection, say) never reaches the next: the module releases everything after each.
    await mod.teardown().catch(() => undefined);
    if (!outcome.shows) notShown++;
    process.stdout.write(`  ${outcome.shows ? 'shown' : 'NOT SHOWN'}: ${check}: ${outcome.seen} (backs ${backs.join(', ')})\n`);
  }
  return notShown;
}

export const THIRD_PARTY = [
  'express-session-memory',
  'memorystore',
  'connect-redis',
  'connect-pg-simple',
  'better-sqlite3-session-store',
  'connect-sqlite3',
  'connect-session-knex',
  'connect-mongo',
  'express-mysql-session',
];

if (require.main === module) {
  void (async () => {
    ensureReportInstall();
    await provideMongoServer();
    const selected = process.argv.slice(2);
    let notShown = 0;
    for (const name of selected.length > 0 ? selected : THIRD_PARTY) notShown += await reproduce(name);
    process.stdout.write(notShown > 0 ? `\n${notShown} check(s) did not show what their notes state\n` : '\nevery check showed what its notes state\n');
    process.exit(notShown > 0 ? 1 : 0);
  })();
}
