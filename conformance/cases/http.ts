import assert from 'node:assert/strict';
import type { Store } from 'express-session';
import type { CaseContext } from '../types';
import { assertMissing, assertPresent, dataOf, plain, preview } from './support';
import { cookieHeader, countingView, type AppOptions, type HttpApp, type HttpRun, type SetCookie } from './http-app';
import { httpCasesOf, type HttpCaseDefinition } from './http-frameworks';
import { listedId, listedIds, userName, userStore } from './users';

/** A browser of its own logged in as `user` on `app`: its session cookie and sid. */
async function browserOf(http: HttpRun, app: HttpApp, user: string) {
  const response = await app.request().post('/login').send({ user: { name: user } }).expect(200);
  const cookie = http.sessionCookie(response);
  assert.ok(cookie, 'login set no session cookie');
  return { cookie: cookie!, sid: http.sid(cookie!) as string };
}

/** Logs in on a fresh app and returns the app, the session cookie and the sid it names. */
async function loggedIn(ctx: CaseContext, http: HttpRun, options: AppOptions = {}, store?: Store) {
  const theStore = store ?? (await ctx.store());
  const app = await http.app(theStore, options);
  const response = await app.request().post('/login').send({ user: { name: 'ana', roles: ['admin'] } }).expect(200);
  const cookie = http.sessionCookie(response, options.name);
  assert.ok(cookie, 'login set no session cookie');
  const sid = http.sid(cookie!, firstSecret(options));
  assert.ok(sid, `the session cookie is not signed with the secret: ${cookie!.value}`);
  return { app, store: theStore, cookie: cookie!, sid: sid as string };
}

function firstSecret(options: AppOptions): string | undefined {
  return Array.isArray(options.secret) ? options.secret[0] : options.secret;
}

/**
 * express-session derives originalMaxAge as expires minus Date.now() each time it sets the expiry,
 * so it loses a millisecond whenever the clock ticks in between.
 */
const MAX_AGE_TOLERANCE_MS = 100;

function assertMaxAge(actual: unknown, expected: number, what: string): void {
  assert.ok(
    typeof actual === 'number' && actual <= expected && actual >= expected - MAX_AGE_TOLERANCE_MS,
    `${what} is ${preview(actual)}, not ${expected}`,
  );
}

/** What POST /slow waits on: `entered` resolves once a request is held there, `release()` lets it finish. */
function gate(): { hold: () => Promise<void>; entered: Promise<void>; release: () => void } {
  let enter!: () => void;
  let release!: () => void;
  const entered = new Promise<void>((resolve) => (enter = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  return { hold: () => (enter(), released), entered, release };
}

/**
 * A slow request that loaded the session of `cookie`, held while `meanwhile` runs, then let finish,
 * so it saves the session after whatever `meanwhile` did to it.
 */
async function overlappedBySlowRequest(ctx: CaseContext, http: HttpRun, meanwhile: (app: HttpApp, cookie: SetCookie) => Promise<void>) {
  const { hold, entered, release } = gate();
  const logged = await loggedIn(ctx, http, { hold });
  const slow = logged.app.request().post('/slow').set('Cookie', cookieHeader(logged.cookie)).then((response) => response);
  await entered;
  try {
    await meanwhile(logged.app, logged.cookie);
  } finally {
    release();
  }
  assert.equal((await slow).status, 200, 'the slow request failed');
  return logged;
}

async function me(app: HttpApp, cookie: SetCookie, headers: Record<string, string> = {}) {
  const response = await app.request().get('/me').set('Cookie', cookieHeader(cookie)).set(headers).expect(200);
  return response.body as { id: string; data: Record<string, unknown>; cookie: { originalMaxAge: number | null; expires: string | null } };
}

/**
 * The stored cookie has every attribute the framework saved, a null one absent or null. Not
 * originalExpires: @fastify/session takes it from the stored expires when it loads a session.
 */
function assertCookieAsSaved(stored: unknown, saved: unknown): void {
  const storedCookie = (plain(stored) ?? {}) as Record<string, unknown>;
  for (const [name, value] of Object.entries(saved as Record<string, unknown>)) {
    if (name === 'originalExpires') continue;
    if (value === null && (storedCookie[name] === null || storedCookie[name] === undefined)) continue;
    assert.deepEqual(storedCookie[name], value, `the stored cookie.${name} is ${preview(storedCookie[name])}, saved as ${preview(value)}`);
  }
}

export const httpDefinitions: HttpCaseDefinition[] = [
  {
    name: 'login-then-reload',
    level: 'required',
    needs: [],
    rule: 'A session saved by one request is loaded by the next request carrying its cookie, with the same id and data.',
    async run(ctx, http) {
      const { app, store, cookie, sid } = await loggedIn(ctx, http);
      const body = await me(app, cookie);
      assert.equal(body.id, sid, 'the reload got another session id');
      assert.deepEqual(body.data, { user: { name: 'ana', roles: ['admin'] } }, 'the reload lost the session data');
      assert.deepEqual(dataOf(await ctx.call(store, 'get', sid)), { user: { name: 'ana', roles: ['admin'] } });
    },
  },
  {
    name: 'nested-json-data-survives',
    level: 'required',
    needs: [],
    rule: {
      express: 'Nested JSON put on req.session reads back identical on the next request.',
      fastify: 'Nested JSON put on request.session reads back identical on the next request.',
    },
    async run(ctx, http) {
      const { app, cookie } = await loggedIn(ctx, http);
      const data = { cart: [{ sku: 'a-1', qty: 2, options: { gift: true, note: 'päckchen 🎁' } }], prefs: { theme: null, n: 1.5 } };
      await app.request().post('/data').set('Cookie', cookieHeader(cookie)).send(data).expect(200);
      assert.deepEqual((await me(app, cookie)).data.data, data);
    },
  },
  {
    name: 'regenerate-replaces-the-session',
    level: 'required',
    needs: [],
    rule: {
      express: 'req.session.regenerate() issues a new id whose session is stored, and the old id is gone from the store.',
      fastify: 'request.session.regenerate() issues a new id whose session is stored, and the old id is gone from the store.',
    },
    async run(ctx, http) {
      const { app, store, cookie, sid } = await loggedIn(ctx, http);
      const response = await app.request().post('/regenerate').set('Cookie', cookieHeader(cookie)).expect(200);
      const newCookie = http.sessionCookie(response);
      assert.ok(newCookie, 'regenerate set no new cookie');
      const newSid = http.sid(newCookie!);
      assert.ok(newSid && newSid !== sid, 'regenerate kept the old session id');
      assertMissing(await ctx.call(store, 'get', sid), 'the old session after regenerate');
      assert.deepEqual((await me(app, newCookie!)).data, { user: { name: 'regenerated' } });
      assert.deepEqual((await me(app, cookie)).data, {}, 'the old cookie still loads a session');
    },
  },
  {
    name: 'destroy-ends-the-session',
    level: 'required',
    needs: [],
    rule: {
      express: 'req.session.destroy() removes the session from the store, and its cookie then loads an empty session.',
      fastify: 'request.session.destroy() removes the session from the store, and its cookie then loads an empty session.',
    },
    async run(ctx, http) {
      const { app, store, cookie, sid } = await loggedIn(ctx, http);
      await app.request().post('/logout').set('Cookie', cookieHeader(cookie)).expect(200);
      assertMissing(await ctx.call(store, 'get', sid), 'the session after destroy');
      assert.deepEqual((await me(app, cookie)).data, {}, 'the destroyed session still loads');
    },
  },
  {
    name: 'a-slow-request-cannot-undo-a-logout',
    level: 'required',
    needs: ['tombstones'],
    rule: 'A request that loaded the session before a logout and saves it after cannot log the user back in: the old cookie then loads an empty session.',
    async run(ctx, http) {
      const { app, store, cookie, sid } = await overlappedBySlowRequest(ctx, http, async (app, cookie) => {
        await app.request().post('/logout').set('Cookie', cookieHeader(cookie)).expect(200);
      });
      assertMissing(await ctx.call(store, 'get', sid), 'the session after the slow request that outlived its logout');
      assert.deepEqual((await me(app, cookie)).data, {}, 'the logged-out cookie loads a session again');
    },
  },
  {
    name: 'a-slow-request-cannot-undo-a-regenerate',
    level: 'required',
    needs: ['tombstones'],
    rule: 'A request that loaded the session before a regenerate and saves it after cannot bring the old id back: the old cookie then loads an empty session.',
    async run(ctx, http) {
      let renewed: SetCookie | undefined;
      const { app, store, cookie, sid } = await overlappedBySlowRequest(ctx, http, async (app, cookie) => {
        renewed = http.sessionCookie(await app.request().post('/regenerate').set('Cookie', cookieHeader(cookie)).expect(200));
      });
      assertMissing(await ctx.call(store, 'get', sid), 'the old session after the slow request that outlived its regenerate');
      assert.deepEqual((await me(app, cookie)).data, {}, 'the old cookie loads a session again');
      assert.ok(renewed, 'regenerate set no new cookie');
      assert.deepEqual((await me(app, renewed!)).data, { user: { name: 'regenerated' } }, 'the regenerated session was lost');
    },
  },
  {
    name: 'log-out-everywhere-else-ends-the-other-browsers-session',
    level: 'required',
    needs: ['userIndex'],
    rule: "Two browsers log in as one user; when one logs out everywhere else (destroySessionsOf with its own id kept), the other's next request has no session and the first stays logged in.",
    async run(ctx, http) {
      const store = await userStore(ctx);
      const app = await http.app(store);
      const user = userName(ctx);
      const [laptop, phone] = [await browserOf(http, app, user), await browserOf(http, app, user)];
      await app.request().post('/login').send({ user: { name: userName(ctx) } }).expect(200);
      const { body } = await app.request().post('/logout-everywhere-else').set('Cookie', cookieHeader(laptop.cookie)).expect(200);
      assert.equal(body.destroyed, 1, `log out everywhere else destroyed ${preview(body.destroyed)} sessions, not the phone's one`);
      assert.deepEqual((await me(app, phone.cookie)).data, {}, "the other browser's session still loads");
      assert.deepEqual((await me(app, laptop.cookie)).data, { user: { name: user } }, 'the browser that logged out the others lost its own session');
      assert.deepEqual(await listedIds(store, user), [listedId(store, laptop.sid)], "the user's list after log out everywhere else");
    },
  },
  {
    name: 'logout-and-login-as-another-user-leave-the-users-list',
    level: 'required',
    needs: ['userIndex'],
    rule: "A browser that logs out leaves its user's list, and one that logs in as another user moves to that user's list.",
    async run(ctx, http) {
      const store = await userStore(ctx);
      const app = await http.app(store);
      const [user, other] = [userName(ctx), userName(ctx)];
      const leaving = await browserOf(http, app, user);
      const switching = await browserOf(http, app, user);
      await app.request().post('/logout').set('Cookie', cookieHeader(leaving.cookie)).expect(200);
      await app.request().post('/login').set('Cookie', cookieHeader(switching.cookie)).send({ user: { name: other } }).expect(200);
      assert.deepEqual(await listedIds(store, user), [], "the first user's list after one browser logged out and the other logged in as another user");
      assert.deepEqual(await listedIds(store, other), [listedId(store, switching.sid)], "the other user's list");
    },
  },
  {
    name: 'explicit-save-is-stored-at-once',
    level: 'required',
    needs: [],
    rule: {
      express: 'When req.session.save() calls back, the store already returns the saved data.',
      fastify: 'When request.session.save() resolves, the store already returns the saved data.',
    },
    async run(ctx, http) {
      const { app, cookie } = await loggedIn(ctx, http);
      const response = await app.request().post('/save').set('Cookie', cookieHeader(cookie)).expect(200);
      const stored = (response.body as { stored: unknown }).stored;
      assertPresent(stored, 'the store right after save()');
      assert.equal((stored as { saved?: unknown }).saved, 'explicitly', `the store returned ${preview(stored)}`);
    },
  },
  {
    name: 'unmodified-session-is-touched-not-saved',
    level: 'required',
    needs: ['touch'],
    uses: ['touch'],
    waits: true,
    rule: 'With resave: false, a request that leaves the session unchanged calls touch() instead of set(), the data stays as stored and the expiry slides forward.',
    async run(ctx, http) {
      const { unit, injectable } = ctx.clock;
      const store = await slidingStore(ctx);
      const calls = countingView(store);
      const { app, sid, cookie } = await loggedIn(ctx, http, injectable ? {} : { cookie: { maxAge: 5 * unit } }, calls.view);
      const before = dataOf(await ctx.call(store, 'get', sid));
      calls.reset();
      // Touched 2 units before the original expiry and read 1.5 units after it, 1.5 units before the new one.
      await ctx.clock.advance(3 * unit);
      await app.request().get('/noop').set('Cookie', cookieHeader(cookie)).expect(200);
      assert.equal(calls.counts.set, 0, 'an unmodified session was saved with set()');
      assert.equal(calls.counts.touch, 1, 'an unmodified session was not touched');
      await ctx.clock.advance(3.5 * unit);
      const after = await ctx.call(store, 'get', sid);
      assertPresent(after, 'the session past its original expiry (touch did not slide it)');
      assert.deepEqual(dataOf(after), before, 'touch changed the stored data');
    },
  },
  {
    name: 'unmodified-session-saved-again-slides-its-expiry',
    level: 'required',
    needs: [],
    waits: true,
    rule: {
      express:
        'With resave: true, a request that leaves the session unchanged saves it again with set(): it reads back with the data and cookie it was saved with, and its expiry slides forward.',
      fastify:
        'With rolling, its default, a request that leaves the session unchanged saves it again with set(), a cookie of null sameSite and domain (and originalExpires once it has an expiry): it reads back with the data and cookie it was saved with, and its expiry slides forward.',
    },
    async run(ctx, http) {
      const { unit, injectable } = ctx.clock;
      const store = await slidingStore(ctx);
      const calls = countingView(store);
      const options: AppOptions = { ...(http.framework.name === 'express' && { resave: true }), ...(!injectable && { cookie: { maxAge: 5 * unit } }) };
      const { app, sid, cookie } = await loggedIn(ctx, http, options, calls.view);
      const before = dataOf(await ctx.call(store, 'get', sid));
      calls.reset();
      await ctx.clock.advance(3 * unit);
      await app.request().get('/noop').set('Cookie', cookieHeader(cookie)).expect(200);
      if (calls.counts.set !== 1 || calls.counts.touch !== 0) {
        ctx.skip(`${http.framework.label} called set() ${calls.counts.set} and touch() ${calls.counts.touch} times for an unchanged session, not set() once: the case cannot judge the store`);
      }
      const saved = calls.lastSet() as { cookie?: unknown };
      const stored = await ctx.call<{ cookie?: unknown }>(store, 'get', sid);
      assertPresent(stored, 'the session saved again');
      assert.deepEqual(dataOf(stored), before, 'saving it again changed the stored data');
      assertCookieAsSaved(stored.cookie, saved.cookie);
      await ctx.clock.advance(3.5 * unit);
      assertPresent(await ctx.call(store, 'get', sid), 'the session past its original expiry (saving it again did not slide it)');
    },
  },
  {
    name: 'rolling-sets-the-cookie-on-every-response',
    level: 'required',
    needs: [],
    rule: 'With rolling: true, every response carries the session cookie again, for the same session.',
    async run(ctx, http) {
      const { app, cookie, sid } = await loggedIn(ctx, http, { rolling: true, cookie: { maxAge: 3_600_000 } });
      for (let i = 0; i < 2; i++) {
        const response = await app.request().get('/noop').set('Cookie', cookieHeader(cookie)).expect(200);
        const again = http.sessionCookie(response);
        assert.ok(again, `response ${i + 1} set no cookie`);
        assert.equal(http.sid(again!), sid, 'the rolled cookie names another session');
      }
    },
  },
  {
    name: 'save-uninitialized-false-stores-nothing',
    level: 'required',
    needs: [],
    rule: {
      express: 'With saveUninitialized: false, a request that does not touch req.session writes nothing to the store and sets no cookie.',
      fastify: 'With saveUninitialized: false, a request that does not touch request.session writes nothing to the store and sets no cookie.',
    },
    async run(ctx, http) {
      const calls = countingView(await ctx.store());
      const app = await http.app(calls.view, { saveUninitialized: false });
      const response = await app.request().get('/noop').expect(200);
      assert.equal(http.sessionCookie(response), undefined, 'a cookie was set for an untouched session');
      assert.equal(calls.counts.set, 0, 'an untouched session was written to the store');
    },
  },
  {
    name: 'save-uninitialized-true-stores-a-new-session',
    level: 'required',
    needs: [],
    rule: 'With saveUninitialized: true, a first request stores a new empty session and sets its cookie.',
    async run(ctx, http) {
      const store = await ctx.store();
      const app = await http.app(store, { saveUninitialized: true });
      const response = await app.request().get('/noop').expect(200);
      const cookie = http.sessionCookie(response);
      assert.ok(cookie, 'no cookie was set');
      const sid = http.sid(cookie!);
      assert.ok(sid, 'the cookie is not signed with the secret');
      assertPresent(await ctx.call(store, 'get', sid), 'the new session in the store');
    },
  },
  {
    name: 'secret-rotation-keeps-old-cookies',
    level: 'required',
    needs: [],
    rule: 'After secret becomes [new, old], a cookie signed with the old secret still loads its session, and cookies set afterwards are signed with the new one.',
    async run(ctx, http) {
      // A cookie with an expiry, so express-session sends it again when the session changes.
      const cookieOptions = { maxAge: 3_600_000 };
      const { store, cookie, sid } = await loggedIn(ctx, http, { secret: ['old secret'], cookie: cookieOptions });
      const rotated = await http.app(store, { secret: ['new secret', 'old secret'], cookie: cookieOptions });
      assert.deepEqual((await me(rotated, cookie)).data, { user: { name: 'ana', roles: ['admin'] } }, 'the old cookie no longer loads');
      const changed = await rotated.request().post('/login').set('Cookie', cookieHeader(cookie)).send({ user: { name: 'bo' } }).expect(200);
      const resigned = http.sessionCookie(changed);
      assert.ok(resigned, 'changing the session set no cookie');
      assert.equal(http.sid(resigned!, 'new secret'), sid, 'the cookie set after rotation is not signed with the new secret');
      const fresh = http.sessionCookie(await rotated.request().post('/login').send({}).expect(200));
      assert.ok(fresh && http.sid(fresh, 'new secret'), 'a new session’s cookie is not signed with the new secret');
    },
  },
  {
    name: 'cookie-options-reach-the-browser-and-the-store',
    level: 'required',
    needs: [],
    rule: 'The cookie name, path, httpOnly, sameSite and maxAge options appear on Set-Cookie, and the stored cookie keeps path and originalMaxAge.',
    async run(ctx, http) {
      const options: AppOptions = {
        name: 'app.sid',
        base: '/app',
        cookie: { path: '/app', httpOnly: true, sameSite: 'strict', maxAge: 3_600_000 },
      };
      const store = await ctx.store();
      const app = await http.app(store, options);
      const started = Date.now();
      const response = await app.request().post('/app/login').send({}).expect(200);
      const cookie = http.sessionCookie(response, 'app.sid');
      assert.ok(cookie, `no app.sid cookie in ${preview(response.headers['set-cookie'])}`);
      assert.equal(cookie!.attributes.path, '/app');
      assert.equal(cookie!.attributes.httponly, true, 'the cookie is not HttpOnly');
      assert.equal(String(cookie!.attributes.samesite).toLowerCase(), 'strict');
      const expires = Date.parse(String(cookie!.attributes.expires));
      assert.ok(Math.abs(expires - (started + 3_600_000)) < 60_000, `Expires=${String(cookie!.attributes.expires)} is not an hour away`);
      const stored = await ctx.call<{ cookie: { path?: string; originalMaxAge?: number } }>(store, 'get', http.sid(cookie!) as string);
      assertPresent(stored, 'the stored session');
      assert.equal(stored.cookie.path, '/app', 'the stored cookie lost its path');
      assertMaxAge(stored.cookie.originalMaxAge, 3_600_000, 'the stored cookie.originalMaxAge');
      const elsewhere = await app.request().get('/elsewhere').expect(404);
      assert.equal(http.sessionCookie(elsewhere, 'app.sid'), undefined, 'a cookie was set outside its path');
    },
  },
  {
    name: 'original-max-age-survives-reload',
    level: 'required',
    needs: [],
    rule: 'cookie.originalMaxAge set by the maxAge option is the same on the next request, so the expiry keeps its length.',
    async run(ctx, http) {
      const { app, cookie } = await loggedIn(ctx, http, { cookie: { maxAge: 3_600_000 } });
      const body = await me(app, cookie);
      assertMaxAge(body.cookie.originalMaxAge, 3_600_000, 'cookie.originalMaxAge on the next request');
      assert.ok(body.cookie.expires && Date.parse(body.cookie.expires) > Date.now() + 3_000_000, `cookie.expires is ${body.cookie.expires}`);
    },
  },
  {
    name: 'expired-session-starts-over',
    level: 'required',
    needs: [],
    waits: true,
    rule: 'A request carrying the cookie of a session past its maxAge gets a new, empty session.',
    async run(ctx, http) {
      const { unit } = ctx.clock;
      const { app, cookie, sid } = await loggedIn(ctx, http, { cookie: { maxAge: unit } });
      await ctx.clock.advance(2.5 * unit);
      const body = await me(app, cookie);
      assert.deepEqual(body.data, {}, 'the expired session still loads');
      assert.notEqual(body.id, sid, 'the expired session id was reused');
    },
  },
  {
    name: 'secure-cookie-behind-a-trusted-proxy',
    level: 'required',
    needs: [],
    rule: {
      express:
        'With trust proxy and cookie.secure, a request forwarded as https gets a Secure session cookie that loads the session, and a plain http one gets none.',
      fastify:
        'With trustProxy and cookie.secure, a request forwarded as https gets a Secure session cookie that loads the session, and a plain http one gets none.',
    },
    async run(ctx, http) {
      await secureCookieCase(ctx, http, { trustProxy: true, cookie: { secure: true } });
    },
  },
  {
    name: 'proxy-option-trusts-forwarded-proto',
    level: 'required',
    needs: [],
    uses: ['proxyOption'],
    rule: 'With the session option proxy: true and cookie.secure, X-Forwarded-Proto: https is enough for a Secure cookie.',
    async run(ctx, http) {
      await secureCookieCase(ctx, http, { proxy: true, cookie: { secure: true } });
    },
  },
];

async function secureCookieCase(ctx: CaseContext, http: HttpRun, options: AppOptions): Promise<void> {
  const store = await ctx.store();
  const app = await http.app(store, options);
  const plainHttp = await app.request().post('/login').send({}).expect(200);
  assert.equal(http.sessionCookie(plainHttp), undefined, 'a secure cookie was set over plain http');
  const https = { 'X-Forwarded-Proto': 'https' };
  const forwarded = await app.request().post('/login').set(https).send({}).expect(200);
  const cookie = http.sessionCookie(forwarded);
  assert.ok(cookie, 'no cookie over forwarded https');
  assert.equal(cookie!.attributes.secure, true, 'the cookie is not Secure');
  assert.deepEqual((await me(app, cookie!, https)).data, { user: { name: 'ana' } });
}

/** A store whose expiry a request can slide: a fake clock slides a ttl-based expiry, the real one the cookie's maxAge (5 units). */
async function slidingStore(ctx: CaseContext): Promise<Store> {
  if (ctx.clock.injectable && !ctx.config.supports?.ttl) {
    ctx.skip('under an injectable clock the sliding expiry is observed through ttl, which the factory does not support');
  }
  return ctx.clock.injectable ? ctx.store({ ttl: 5 * ctx.clock.unit }) : ctx.store();
}

export const httpCases = httpCasesOf(httpDefinitions);
