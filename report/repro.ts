/**
 * Reproduces by hand, outside the suite, every third-party failure the report states: each check
 * drives the store as express-session would (a real Cookie, a real express app where the effect is
 * a response), with waits of whole seconds so that rounding expiry to seconds cannot explain it.
 * Run: npx tsx report/repro.ts [store-module ...]
 */
import express from 'express';
import session, { type SessionData, type Store } from 'express-session';
import request from 'supertest';
import { ensureReportInstall } from './install';
import { provideMongoServer } from './mongo-server';
import type { ReportStoreModule } from './stores/support';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const Cookie = require('express-session/session/cookie') as new (options?: Record<string, unknown>) => { expires: Date | null };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const signature = require('cookie-signature') as { sign(value: string, secret: string): string };

type Check = (store: Store, mod: StoreModule) => Promise<string>;
type StoreModule = ReportStoreModule & { writeRaw?: (store: Store, sid: string, text: string) => unknown };

const SECRET = 'repro-secret';

function sessionFor(maxAgeMs: number, data: Record<string, unknown> = {}): SessionData {
  return { cookie: new Cookie({ maxAge: maxAgeMs, httpOnly: true, path: '/' }), ...data } as unknown as SessionData;
}

function call<T>(store: Store, method: string, ...args: unknown[]): Promise<T> {
  return new Promise((resolve, reject) => {
    const fn = (store as unknown as Record<string, (...a: unknown[]) => unknown>)[method]!;
    try {
      fn.call(store, ...args, (error: unknown, value: T) => (error ? reject(error) : resolve(value)));
    } catch (error) {
      reject(new Error(`${method}() threw synchronously: ${(error as Error).message}`));
    }
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let counter = 0;
const sid = (label: string) => `repro-${label}-${Date.now()}-${++counter}`;

/** What a browser holding the cookie of `id` gets from an express app on `store`. */
async function requestWithSession(store: Store, id: string): Promise<string> {
  const app = express();
  app.use(session({ store, secret: SECRET, resave: false, saveUninitialized: false }));
  app.get('/', (req, res) => res.json({ id: req.sessionID, data: Object.keys(req.session).filter((k) => k !== 'cookie') }));
  const cookie = `connect.sid=${encodeURIComponent(`s:${signature.sign(id, SECRET)}`)}`;
  const response = await request(app).get('/').set('Cookie', cookie);
  return response.status === 200 ? `200 ${JSON.stringify(response.body)}` : `${response.status} ${response.text.split('\n')[0]!.slice(0, 120)}`;
}

/** Runs `body`, reporting any uncaught exception or unhandled rejection it causes. */
async function watchingCrashes(body: () => Promise<string>): Promise<string> {
  const seen: string[] = [];
  const onError = (kind: string) => (error: unknown) => seen.push(`${kind}: ${(error as Error)?.message ?? String(error)}`);
  const onException = onError('uncaughtException');
  const onRejection = onError('unhandledRejection');
  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onRejection);
  let outcome: string;
  try {
    outcome = await Promise.race([body(), sleep(3000).then(() => 'no answer within 3 s')]);
  } catch (error) {
    outcome = `rejected: ${(error as Error).message}`;
  }
  await sleep(50);
  process.off('uncaughtException', onException);
  process.off('unhandledRejection', onRejection);
  return seen.length > 0 ? `${outcome}; the process saw ${seen.join('; ')}` : outcome;
}

/** How often `method` calls a callback that throws, with what; the throw itself is absorbed while it reaches the process. */
async function throwingCallback(store: Store, method: 'get' | 'set', id: string): Promise<string> {
  const thrown = new Error('thrown by the callback');
  const seen: string[] = [];
  const other: string[] = [];
  const absorb = (error: unknown) => void (error !== thrown && other.push(String((error as Error)?.message ?? error)));
  process.on('uncaughtException', absorb);
  process.on('unhandledRejection', absorb);
  try {
    const args = method === 'get' ? [id] : [id, sessionFor(3_600_000)];
    (store[method] as (...a: unknown[]) => unknown).call(store, ...args, (error: unknown) => {
      seen.push(error === thrown ? 'its own error' : error ? 'an error' : 'no error');
      throw thrown;
    });
    await sleep(500);
  } finally {
    process.off('uncaughtException', absorb);
    process.off('unhandledRejection', absorb);
  }
  return `called ${seen.length === 1 ? 'once' : `${seen.length} times`} (${seen.join(', then ')})${other.length > 0 ? `; the process also saw ${other.join('; ')}` : ''}`;
}

const checks: Record<string, Record<string, Check>> = {
  common: {
    'get() and set() with a callback that throws': async (store) => {
      const id = sid('throwing');
      await call(store, 'set', id, sessionFor(3_600_000));
      return `get: ${await throwingCallback(store, 'get', id)}; set: ${await throwingCallback(store, 'set', id)}`;
    },
    'all() shape and an expired session in it (after 2.5 s)': async (store) => {
      if (typeof (store as { all?: unknown }).all !== 'function') return 'no all()';
      const [live, expired] = [sid('live'), sid('expired')];
      await call(store, 'set', live, sessionFor(3_600_000, { marker: live }));
      await call(store, 'set', expired, sessionFor(1000, { marker: expired }));
      await sleep(2500);
      const all = await call<unknown>(store, 'all');
      const text = JSON.stringify(all);
      const shape = Array.isArray(all) ? `an array of ${typeof all[0] === 'object' ? Object.keys(all[0] as object).join('/') : typeof all[0]}` : 'an object';
      return `${shape}; live ${text.includes(live) ? 'in' : 'MISSING'}; expired ${text.includes(expired) ? 'INCLUDED' : 'left out'}`;
    },
    'length() with one live and one session expired 2.5 s ago': async (_store, mod) => {
      const store = await mod.createStore({ namespace: `repro_length_${Date.now()}` });
      if (typeof (store as { length?: unknown }).length !== 'function') return 'no length()';
      await call(store, 'set', sid('live'), sessionFor(3_600_000));
      await call(store, 'set', sid('expired'), sessionFor(1000));
      await sleep(2500);
      return `length ${await call<number>(store, 'length')} (expected 1)`;
    },
    'touch() of a session expired 2.5 s ago, then get': async (store) => {
      const id = sid('revive');
      await call(store, 'set', id, sessionFor(1000, { user: 'ana' }));
      await sleep(2500);
      await call(store, 'touch', id, sessionFor(3_600_000, { user: 'ana' }));
      return (await call(store, 'get', id)) ? 'REVIVED' : 'stays gone';
    },
    'a browser whose stored session is truncated JSON': async (store, mod) => {
      if (!mod.writeRaw) return 'no writeRaw';
      const id = sid('corrupt');
      await mod.writeRaw(store, id, '{"cookie":{"path":"/"},"token":"x"');
      return watchingCrashes(() => requestWithSession(store, id));
    },
    'a browser whose stored session is the JSON string "x"': async (store, mod) => {
      if (!mod.writeRaw) return 'no writeRaw';
      const id = sid('string');
      await mod.writeRaw(store, id, '"x"');
      return watchingCrashes(() => requestWithSession(store, id));
    },
    'a browser whose stored session is JSON null': async (store, mod) => {
      if (!mod.writeRaw) return 'no writeRaw';
      const id = sid('null');
      await mod.writeRaw(store, id, 'null');
      return watchingCrashes(() => requestWithSession(store, id));
    },
  },
  memorystore: {
    'ttl 1 s, cookie maxAge 1 h: get after 2 s': async (_store, mod) => {
      const store = await mod.createStore({ ttl: 1000 });
      const id = sid('ttl');
      await call(store, 'set', id, sessionFor(3_600_000));
      await sleep(2000);
      return (await call(store, 'get', id)) ? 'returned' : 'GONE (ttl overrides the cookie)';
    },
    'ttl 1 h, cookie maxAge 1 s: get after 2 s': async (_store, mod) => {
      const store = await mod.createStore({ ttl: 3_600_000 });
      const id = sid('ttl');
      await call(store, 'set', id, sessionFor(1000));
      await sleep(2000);
      return (await call(store, 'get', id)) ? 'RETURNED (ttl overrides the cookie)' : 'gone';
    },
  },
  'connect-mongo': {
    'touch() of a session that was never set': (store) =>
      call(store, 'touch', sid('missing'), sessionFor(3_600_000)).then(
        () => 'no error',
        (e: Error) => `ERROR: ${e.message}`,
      ),
  },
  'express-mysql-session': {
    'set "id" then set "id " (a trailing space), then get "id"': async (store) => {
      const id = sid('pad');
      await call(store, 'set', id, sessionFor(3_600_000, { owner: 'first' }));
      await call(store, 'set', `${id} `, sessionFor(3_600_000, { owner: 'second' }));
      const first = await call<{ owner?: string } | null>(store, 'get', id);
      return first?.owner === 'second' ? 'OVERWRITTEN by the id with a trailing space' : `kept (${first?.owner})`;
    },
    'a get() whose callback throws': async (store) => {
      let calls = 0;
      await new Promise<void>((resolve) => {
        (store.get as (id: string, callback: (error: unknown) => void) => void).call(store, sid('throwing'), () => {
          calls++;
          if (calls === 1) throw new Error('thrown by the callback');
        });
        setTimeout(resolve, 500);
      });
      return calls === 1 ? 'called once' : `callback CALLED ${calls} TIMES`;
    },
  },
};

async function reproduce(moduleName: string): Promise<void> {
  const mod = require(`./stores/${moduleName}`) as StoreModule;
  const reason = await mod.unavailable();
  process.stdout.write(`\n${mod.name}\n`);
  if (reason) {
    process.stdout.write(`  not run: ${reason}\n`);
    return;
  }
  const store = await mod.createStore({ namespace: 'repro' });
  try {
    const own = Object.entries({ ...checks.common, ...checks[moduleName] });
    for (const [title, check] of own) {
      const outcome = await check(store, mod).catch((e: Error) => `error: ${e.message}`);
      process.stdout.write(`  ${title}: ${outcome}\n`);
    }
  } finally {
    await mod.teardown().catch(() => undefined);
  }
}

const THIRD_PARTY = [
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

void (async () => {
  ensureReportInstall();
  await provideMongoServer();
  const selected = process.argv.slice(2);
  for (const name of selected.length > 0 ? selected : THIRD_PARTY) await reproduce(name);
  process.exit(0);
})();
