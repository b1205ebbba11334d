import assert from 'node:assert/strict';
import type { Store } from 'express-session';
import type { CaseContext, ConformanceCase } from '../types';
import { assertMissing, assertPresent, dataOf, preview } from './support';
import { buildApp, cookieHeader, countingView, request, sessionCookie, unsignedSid, type AppOptions, type SetCookie } from './http-app';

/** Logs in on a fresh app and returns the app, the session cookie and the sid it names. */
async function loggedIn(ctx: CaseContext, options: AppOptions = {}, store?: Store) {
  const theStore = store ?? (await ctx.store());
  const app = buildApp(theStore, options);
  const response = await request(app).post('/login').send({ user: { name: 'ana', roles: ['admin'] } }).expect(200);
  const cookie = sessionCookie(response, options.name);
  assert.ok(cookie, 'login set no session cookie');
  const sid = unsignedSid(cookie!, firstSecret(options));
  assert.ok(sid, `the session cookie is not signed with the secret: ${cookie!.value}`);
  return { app, store: theStore, cookie: cookie!, sid: sid as string };
}

function firstSecret(options: AppOptions): string | undefined {
  const secret = Array.isArray(options.secret) ? options.secret[0] : options.secret;
  return typeof secret === 'string' ? secret : undefined;
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

async function me(app: Parameters<typeof request>[0], cookie: SetCookie, headers: Record<string, string> = {}) {
  const response = await request(app).get('/me').set('Cookie', cookieHeader(cookie)).set(headers).expect(200);
  return response.body as { id: string; data: Record<string, unknown>; cookie: { originalMaxAge: number | null; expires: string | null } };
}

export const httpCases: ConformanceCase[] = [
  {
    id: 'http-login-then-reload',
    group: 'http',
    level: 'required',
    needs: [],
    rule: 'A session saved by one request is loaded by the next request carrying its cookie, with the same id and data.',
    async run(ctx) {
      const { app, store, cookie, sid } = await loggedIn(ctx);
      const body = await me(app, cookie);
      assert.equal(body.id, sid, 'the reload got another session id');
      assert.deepEqual(body.data, { user: { name: 'ana', roles: ['admin'] } }, 'the reload lost the session data');
      assert.deepEqual(dataOf(await ctx.call(store, 'get', sid)), { user: { name: 'ana', roles: ['admin'] } });
    },
  },
  {
    id: 'http-nested-json-data-survives',
    group: 'http',
    level: 'required',
    needs: [],
    rule: 'Nested JSON put on req.session reads back identical on the next request.',
    async run(ctx) {
      const { app, cookie } = await loggedIn(ctx);
      const data = { cart: [{ sku: 'a-1', qty: 2, options: { gift: true, note: 'päckchen 🎁' } }], prefs: { theme: null, n: 1.5 } };
      await request(app).post('/data').set('Cookie', cookieHeader(cookie)).send(data).expect(200);
      assert.deepEqual((await me(app, cookie)).data.data, data);
    },
  },
  {
    id: 'http-regenerate-replaces-the-session',
    group: 'http',
    level: 'required',
    needs: [],
    rule: 'req.session.regenerate() issues a new id whose session is stored, and the old id is gone from the store.',
    async run(ctx) {
      const { app, store, cookie, sid } = await loggedIn(ctx);
      const response = await request(app).post('/regenerate').set('Cookie', cookieHeader(cookie)).expect(200);
      const newCookie = sessionCookie(response);
      assert.ok(newCookie, 'regenerate set no new cookie');
      const newSid = unsignedSid(newCookie!);
      assert.ok(newSid && newSid !== sid, 'regenerate kept the old session id');
      assertMissing(await ctx.call(store, 'get', sid), 'the old session after regenerate');
      assert.deepEqual((await me(app, newCookie!)).data, { user: { name: 'regenerated' } });
      assert.deepEqual((await me(app, cookie)).data, {}, 'the old cookie still loads a session');
    },
  },
  {
    id: 'http-destroy-ends-the-session',
    group: 'http',
    level: 'required',
    needs: [],
    rule: 'req.session.destroy() removes the session from the store, and its cookie then loads an empty session.',
    async run(ctx) {
      const { app, store, cookie, sid } = await loggedIn(ctx);
      await request(app).post('/logout').set('Cookie', cookieHeader(cookie)).expect(200);
      assertMissing(await ctx.call(store, 'get', sid), 'the session after destroy');
      assert.deepEqual((await me(app, cookie)).data, {}, 'the destroyed session still loads');
    },
  },
  {
    id: 'http-explicit-save-is-stored-at-once',
    group: 'http',
    level: 'required',
    needs: [],
    rule: 'When req.session.save() calls back, the store already returns the saved data.',
    async run(ctx) {
      const { app, cookie } = await loggedIn(ctx);
      const response = await request(app).post('/save').set('Cookie', cookieHeader(cookie)).expect(200);
      const stored = (response.body as { stored: unknown }).stored;
      assertPresent(stored, 'the store right after save()');
      assert.equal((stored as { saved?: unknown }).saved, 'explicitly', `the store returned ${preview(stored)}`);
    },
  },
  {
    id: 'http-unmodified-session-is-touched-not-saved',
    group: 'http',
    level: 'required',
    needs: ['touch'],
    waits: true,
    rule: 'With resave: false, a request that leaves the session unchanged calls touch() instead of set(), the data stays as stored and the expiry slides forward.',
    async run(ctx) {
      const { unit, injectable } = ctx.clock;
      if (injectable && !ctx.config.supports?.ttl) {
        ctx.skip('under an injectable clock the sliding expiry is observed through ttl, which the factory does not support');
      }
      // A fake clock slides a ttl-based expiry; on the real clock the cookie's maxAge slides.
      const store = injectable ? await ctx.store({ ttl: 5 * unit }) : await ctx.store();
      const calls = countingView(store);
      const { app, sid, cookie } = await loggedIn(ctx, injectable ? {} : { cookie: { maxAge: 5 * unit } }, calls.view);
      const before = dataOf(await ctx.call(store, 'get', sid));
      calls.reset();
      // Touched 2 units before the original expiry and read 1.5 units after it, 1.5 units before the new one.
      await ctx.clock.advance(3 * unit);
      await request(app).get('/noop').set('Cookie', cookieHeader(cookie)).expect(200);
      assert.equal(calls.counts.set, 0, 'an unmodified session was saved with set()');
      assert.equal(calls.counts.touch, 1, 'an unmodified session was not touched');
      await ctx.clock.advance(3.5 * unit);
      const after = await ctx.call(store, 'get', sid);
      assertPresent(after, 'the session past its original expiry (touch did not slide it)');
      assert.deepEqual(dataOf(after), before, 'touch changed the stored data');
    },
  },
  {
    id: 'http-rolling-sets-the-cookie-on-every-response',
    group: 'http',
    level: 'required',
    needs: [],
    rule: 'With rolling: true, every response carries the session cookie again, for the same session.',
    async run(ctx) {
      const { app, cookie, sid } = await loggedIn(ctx, { rolling: true, cookie: { maxAge: 3_600_000 } });
      for (let i = 0; i < 2; i++) {
        const response = await request(app).get('/noop').set('Cookie', cookieHeader(cookie)).expect(200);
        const again = sessionCookie(response);
        assert.ok(again, `response ${i + 1} set no cookie`);
        assert.equal(unsignedSid(again!), sid, 'the rolled cookie names another session');
      }
    },
  },
  {
    id: 'http-save-uninitialized-false-stores-nothing',
    group: 'http',
    level: 'required',
    needs: [],
    rule: 'With saveUninitialized: false, a request that does not touch req.session writes nothing to the store and sets no cookie.',
    async run(ctx) {
      const calls = countingView(await ctx.store());
      const response = await request(buildApp(calls.view, { saveUninitialized: false })).get('/noop').expect(200);
      assert.equal(sessionCookie(response), undefined, 'a cookie was set for an untouched session');
      assert.equal(calls.counts.set, 0, 'an untouched session was written to the store');
    },
  },
  {
    id: 'http-save-uninitialized-true-stores-a-new-session',
    group: 'http',
    level: 'required',
    needs: [],
    rule: 'With saveUninitialized: true, a first request stores a new empty session and sets its cookie.',
    async run(ctx) {
      const store = await ctx.store();
      const response = await request(buildApp(store, { saveUninitialized: true })).get('/noop').expect(200);
      const cookie = sessionCookie(response);
      assert.ok(cookie, 'no cookie was set');
      const sid = unsignedSid(cookie!);
      assert.ok(sid, 'the cookie is not signed with the secret');
      assertPresent(await ctx.call(store, 'get', sid), 'the new session in the store');
    },
  },
  {
    id: 'http-secret-rotation-keeps-old-cookies',
    group: 'http',
    level: 'required',
    needs: [],
    rule: 'After secret becomes [new, old], a cookie signed with the old secret still loads its session, and cookies set afterwards are signed with the new one.',
    async run(ctx) {
      // A cookie with an expiry, so express-session sends it again when the session changes.
      const cookieOptions = { maxAge: 3_600_000 };
      const { store, cookie, sid } = await loggedIn(ctx, { secret: ['old secret'], cookie: cookieOptions });
      const rotated = buildApp(store, { secret: ['new secret', 'old secret'], cookie: cookieOptions });
      assert.deepEqual((await me(rotated, cookie)).data, { user: { name: 'ana', roles: ['admin'] } }, 'the old cookie no longer loads');
      const changed = await request(rotated).post('/login').set('Cookie', cookieHeader(cookie)).send({ user: { name: 'bo' } }).expect(200);
      const resigned = sessionCookie(changed);
      assert.ok(resigned, 'changing the session set no cookie');
      assert.equal(unsignedSid(resigned!, 'new secret'), sid, 'the cookie set after rotation is not signed with the new secret');
      const fresh = sessionCookie(await request(rotated).post('/login').send({}).expect(200));
      assert.ok(fresh && unsignedSid(fresh, 'new secret'), 'a new session’s cookie is not signed with the new secret');
    },
  },
  {
    id: 'http-cookie-options-reach-the-browser-and-the-store',
    group: 'http',
    level: 'required',
    needs: [],
    rule: 'The cookie name, path, httpOnly, sameSite and maxAge options appear on Set-Cookie, and the stored cookie keeps path and originalMaxAge.',
    async run(ctx) {
      const options: AppOptions = {
        name: 'app.sid',
        base: '/app',
        cookie: { path: '/app', httpOnly: true, sameSite: 'strict', maxAge: 3_600_000 },
      };
      const store = await ctx.store();
      const app = buildApp(store, options);
      const started = Date.now();
      const response = await request(app).post('/app/login').send({}).expect(200);
      const cookie = sessionCookie(response, 'app.sid');
      assert.ok(cookie, `no app.sid cookie in ${preview(response.headers['set-cookie'])}`);
      assert.equal(cookie!.attributes.path, '/app');
      assert.equal(cookie!.attributes.httponly, true, 'the cookie is not HttpOnly');
      assert.equal(String(cookie!.attributes.samesite).toLowerCase(), 'strict');
      const expires = Date.parse(String(cookie!.attributes.expires));
      assert.ok(Math.abs(expires - (started + 3_600_000)) < 60_000, `Expires=${String(cookie!.attributes.expires)} is not an hour away`);
      const stored = await ctx.call<{ cookie: { path?: string; originalMaxAge?: number } }>(store, 'get', unsignedSid(cookie!) as string);
      assertPresent(stored, 'the stored session');
      assert.equal(stored.cookie.path, '/app', 'the stored cookie lost its path');
      assertMaxAge(stored.cookie.originalMaxAge, 3_600_000, 'the stored cookie.originalMaxAge');
      assert.equal(sessionCookie(await request(app).get('/elsewhere').expect(404), 'app.sid'), undefined, 'a cookie was set outside its path');
    },
  },
  {
    id: 'http-original-max-age-survives-reload',
    group: 'http',
    level: 'required',
    needs: [],
    rule: 'cookie.originalMaxAge set by the maxAge option is the same on the next request, so the expiry keeps its length.',
    async run(ctx) {
      const { app, cookie } = await loggedIn(ctx, { cookie: { maxAge: 3_600_000 } });
      const body = await me(app, cookie);
      assertMaxAge(body.cookie.originalMaxAge, 3_600_000, 'cookie.originalMaxAge on the next request');
      assert.ok(body.cookie.expires && Date.parse(body.cookie.expires) > Date.now() + 3_000_000, `cookie.expires is ${body.cookie.expires}`);
    },
  },
  {
    id: 'http-expired-session-starts-over',
    group: 'http',
    level: 'required',
    needs: [],
    waits: true,
    rule: 'A request carrying the cookie of a session past its maxAge gets a new, empty session.',
    async run(ctx) {
      const { unit } = ctx.clock;
      const { app, cookie, sid } = await loggedIn(ctx, { cookie: { maxAge: unit } });
      await ctx.clock.advance(2.5 * unit);
      const body = await me(app, cookie);
      assert.deepEqual(body.data, {}, 'the expired session still loads');
      assert.notEqual(body.id, sid, 'the expired session id was reused');
    },
  },
  {
    id: 'http-secure-cookie-behind-a-trusted-proxy',
    group: 'http',
    level: 'required',
    needs: [],
    rule: 'With trust proxy and cookie.secure, a request forwarded as https gets a Secure session cookie that loads the session, and a plain http one gets none.',
    async run(ctx) {
      await secureCookieCase(ctx, { trustProxy: true, cookie: { secure: true } });
    },
  },
  {
    id: 'http-proxy-option-trusts-forwarded-proto',
    group: 'http',
    level: 'required',
    needs: [],
    rule: 'With the session option proxy: true and cookie.secure, X-Forwarded-Proto: https is enough for a Secure cookie.',
    async run(ctx) {
      await secureCookieCase(ctx, { proxy: true, cookie: { secure: true } });
    },
  },
];

async function secureCookieCase(ctx: CaseContext, options: AppOptions): Promise<void> {
  const store = await ctx.store();
  const app = buildApp(store, options);
  const plain = await request(app).post('/login').send({}).expect(200);
  assert.equal(sessionCookie(plain), undefined, 'a secure cookie was set over plain http');
  const https = { 'X-Forwarded-Proto': 'https' };
  const forwarded = await request(app).post('/login').set(https).send({}).expect(200);
  const cookie = sessionCookie(forwarded);
  assert.ok(cookie, 'no cookie over forwarded https');
  assert.equal(cookie!.attributes.secure, true, 'the cookie is not Secure');
  assert.deepEqual((await me(app, cookie!, https)).data, { user: { name: 'ana' } });
}
