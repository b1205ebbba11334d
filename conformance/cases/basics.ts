import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import session from 'express-session';
import { expressSessionCookie, type ExpressSessionCookie } from '../express-cookie';
import type { CaseContext, ConformanceCase, StoreSession } from '../types';
import { assertMissing, assertPresent, assertSameSession, dataOf, observeCallback, preview } from './support';

/** express-session's own Cookie class: the cookie cases store what express-session itself would hand over. */
function cookieClass(ctx: CaseContext): ExpressSessionCookie {
  return expressSessionCookie() ?? ctx.skip('express-session/session/cookie cannot be loaded here');
}

export const basicCases: ConformanceCase[] = [
  {
    id: 'get-missing-calls-back-nothing',
    group: 'basics',
    level: 'required',
    needs: [],
    rule: 'get() of a sid that was never set calls back without an error and without a session.',
    async run(ctx) {
      const store = await ctx.store();
      assertMissing(await ctx.call(store, 'get', ctx.sid()), 'get() of a missing sid');
    },
  },
  {
    id: 'get-missing-calls-back-null',
    group: 'basics',
    level: 'recommended',
    needs: [],
    rule: 'get() of a missing sid calls back exactly (null, null), not undefined.',
    async run(ctx) {
      const store = await ctx.store();
      const observed = await observeCallback((callback) => store.get(ctx.sid(), callback));
      assert.equal(observed.calls, 1, `get() called back ${observed.calls} times`);
      const [error, result] = observed.args[0]!;
      assert.equal(error, null, `get() called back with error ${preview(error)}`);
      assert.equal(result, null, `get() called back with session ${preview(result)}`);
    },
  },
  {
    id: 'set-get-round-trips-nested-data',
    group: 'basics',
    level: 'required',
    needs: [],
    rule: 'A session set with nested objects, arrays, numbers, booleans, null and empty values reads back deep-equal.',
    async run(ctx) {
      const stored = ctx.session({
        user: { id: 42, name: 'ana', roles: ['admin', 'user'], profile: { score: 31.5, active: true, nickname: null } },
        deep: { a: { b: { c: { d: [1, [2, [3, { e: 'f' }]]] } } } },
        flash: [],
        empty: {},
        counter: 0,
        negative: -7,
        big: Number.MAX_SAFE_INTEGER,
        emptyString: '',
        falsy: false,
      });
      await assertRoundTrip(ctx, stored);
    },
  },
  {
    id: 'set-get-round-trips-unicode',
    group: 'basics',
    level: 'required',
    needs: [],
    rule: 'Strings in any script, emoji, combining marks, astral characters, line separators and quotes read back unchanged.',
    async run(ctx) {
      const stored = ctx.session({
        scripts: 'héllo wörld ñ 中文 日本語 한국어 العربية עברית ελληνικά русский',
        emoji: '👩‍💻🎉🇪🇸🏳️‍🌈',
        combining: 'e\u0301 a\u030a',
        astral: '𝌆 𝟘 𠜎',
        separators: 'a\u2028b\u2029c',
        whitespace: 'tab\tnewline\ncr\r',
        quotes: `single ' double " back \\ slash /`,
        'clé ünïcødé 🔑': 'a key in unicode',
      });
      await assertRoundTrip(ctx, stored);
    },
  },
  {
    id: 'set-get-round-trips-odd-strings',
    group: 'basics',
    level: 'recommended',
    needs: [],
    rule: 'Strings holding a NUL character or a lone surrogate, which JSON can carry, read back unchanged.',
    async run(ctx) {
      const stored = ctx.session({ nul: 'a\u0000b', loneSurrogate: 'x\ud800y', control: '\u0001\u001f\u007f' });
      await assertRoundTrip(ctx, stored);
    },
  },
  {
    id: 'set-get-round-trips-keys-with-dots-and-dollars',
    group: 'basics',
    level: 'recommended',
    needs: [],
    rule: 'Data keys containing dots, dollar signs and other characters that document databases treat specially read back unchanged.',
    async run(ctx) {
      const stored = ctx.session({ 'a.b': 1, $where: 'x', nested: { $set: { 'c.d': true } }, '': 'empty key' });
      await assertRoundTrip(ctx, stored);
    },
  },
  {
    id: 'set-get-round-trips-a-large-session',
    group: 'basics',
    level: 'required',
    needs: [],
    rule: 'A session of one megabyte reads back unchanged.',
    async run(ctx) {
      const stored = ctx.session({
        blob: randomBytes(600 * 1024).toString('base64'),
        items: Array.from({ length: 2000 }, (_, i) => ({ i, label: `item ${i}` })),
      });
      assert.ok(JSON.stringify(stored).length >= 850 * 1024);
      await assertRoundTrip(ctx, stored);
    },
  },
  {
    id: 'set-overwrites-the-whole-session',
    group: 'basics',
    level: 'required',
    needs: [],
    rule: 'A second set() of a sid replaces the session entirely: fields absent from the new session are gone.',
    async run(ctx) {
      const store = await ctx.store();
      const sid = ctx.sid();
      await ctx.call(store, 'set', sid, ctx.session({ a: 1, b: { c: 2 } }));
      const replacement = ctx.session({ a: 3 });
      await ctx.call(store, 'set', sid, replacement);
      assertSameSession(await ctx.call(store, 'get', sid), replacement);
    },
  },
  {
    id: 'stored-session-is-a-copy',
    group: 'basics',
    level: 'recommended',
    needs: [],
    rule: 'Changing the object passed to set() or returned by get() afterwards does not change the stored session.',
    async run(ctx) {
      const store = await ctx.store();
      const sid = ctx.sid();
      const stored = ctx.session({ user: { name: 'ana' } });
      const expected = JSON.parse(JSON.stringify(stored));
      await ctx.call(store, 'set', sid, stored);
      ((stored as Record<string, unknown>).user as { name: string }).name = 'changed after set';
      const first = (await ctx.call(store, 'get', sid)) as { user: { name: string } };
      assertSameSession(first, expected, 'after changing the object given to set()');
      first.user.name = 'changed after get';
      assertSameSession(await ctx.call(store, 'get', sid), expected, 'after changing the object returned by get()');
    },
  },
  {
    id: 'destroy-removes-the-session',
    group: 'basics',
    level: 'required',
    needs: [],
    rule: 'After destroy(sid), get(sid) calls back no session.',
    async run(ctx) {
      const store = await ctx.store();
      const sid = ctx.sid();
      await ctx.call(store, 'set', sid, ctx.session({ user: 'ana' }));
      assertPresent(await ctx.call(store, 'get', sid), 'get() before destroy()');
      await ctx.call(store, 'destroy', sid);
      assertMissing(await ctx.call(store, 'get', sid), 'get() after destroy()');
    },
  },
  {
    id: 'destroy-is-idempotent',
    group: 'basics',
    level: 'required',
    needs: [],
    rule: 'destroy() of a missing sid, and a second destroy() of the same sid, call back without an error.',
    async run(ctx) {
      const store = await ctx.store();
      await ctx.call(store, 'destroy', ctx.sid());
      const sid = ctx.sid();
      await ctx.call(store, 'set', sid, ctx.session());
      await ctx.call(store, 'destroy', sid);
      await ctx.call(store, 'destroy', sid);
      assertMissing(await ctx.call(store, 'get', sid), 'get() after two destroy() calls');
    },
  },
  {
    id: 'sessions-are-independent',
    group: 'basics',
    level: 'required',
    needs: [],
    rule: 'Setting or destroying one sid never changes another sid’s session.',
    async run(ctx) {
      const store = await ctx.store();
      const [a, b] = [ctx.sid('a'), ctx.sid('b')];
      const sessionB = ctx.session({ who: 'b' });
      await ctx.call(store, 'set', a, ctx.session({ who: 'a' }));
      await ctx.call(store, 'set', b, sessionB);
      await ctx.call(store, 'set', a, ctx.session({ who: 'a again' }));
      await ctx.call(store, 'destroy', a);
      assertSameSession(await ctx.call(store, 'get', b), sessionB);
    },
  },
  {
    id: 'concurrent-sets-all-land',
    group: 'basics',
    level: 'required',
    needs: [],
    rule: 'Fifty set() calls of different sids issued at once all complete and each reads back its own session.',
    async run(ctx) {
      const store = await ctx.store();
      const entries = Array.from({ length: 50 }, (_, i) => ({ sid: ctx.sid(`c${i}`), session: ctx.session({ i }) }));
      await Promise.all(entries.map(({ sid, session: s }) => ctx.call(store, 'set', sid, s)));
      const read = await Promise.all(entries.map(({ sid }) => ctx.call(store, 'get', sid)));
      read.forEach((got, i) => assertSameSession(got, entries[i]!.session, `session ${i} of 50`));
    },
  },
  {
    id: 'cookie-round-trips-for-express-session',
    group: 'basics',
    level: 'required',
    needs: [],
    rule: 'A session with express-session’s Cookie (expires, originalMaxAge, httpOnly, path, sameSite) reads back in a form express-session rebuilds to the same cookie.',
    async run(ctx) {
      const store = await ctx.store();
      const sid = ctx.sid();
      const Cookie = cookieClass(ctx);
      const cookie = new Cookie({ maxAge: 3_600_000, httpOnly: true, path: '/app', sameSite: 'lax', secure: false });
      const expires = (cookie.expires as Date).getTime();
      // Cookie derives it from the wall clock, which may have ticked since it computed expires.
      const originalMaxAge = cookie.originalMaxAge;
      await ctx.call(store, 'set', sid, { cookie, user: 'ana' });
      const got = await ctx.call<Record<string, unknown>>(store, 'get', sid);
      assertPresent(got, 'get() after set()');
      const rebuilt = session.Store.prototype.createSession.call(store, { sessionID: sid } as never, got as never);
      const rebuiltCookie = rebuilt.cookie as unknown as Record<string, unknown>;
      assert.ok(rebuiltCookie.expires instanceof Date, `express-session rebuilt expires as ${preview(rebuiltCookie.expires)}`);
      assert.equal((rebuiltCookie.expires as Date).getTime(), expires, 'cookie.expires changed');
      assert.equal(rebuiltCookie.originalMaxAge, originalMaxAge, 'cookie.originalMaxAge changed');
      assert.equal(rebuiltCookie.httpOnly, true, 'cookie.httpOnly changed');
      assert.equal(rebuiltCookie.path, '/app', 'cookie.path changed');
      assert.equal(rebuiltCookie.sameSite, 'lax', 'cookie.sameSite changed');
      assert.equal(rebuiltCookie.secure, false, 'cookie.secure changed');
      assert.deepEqual(dataOf(rebuilt), { user: 'ana' });
    },
  },
  {
    id: 'browser-session-cookie-round-trips',
    group: 'basics',
    level: 'required',
    needs: [],
    rule: 'A session whose cookie has no expiry (expires and originalMaxAge null) reads back with no expiry.',
    async run(ctx) {
      const store = await ctx.store();
      const sid = ctx.sid();
      const Cookie = cookieClass(ctx);
      const cookie = new Cookie({ httpOnly: true, path: '/' });
      await ctx.call(store, 'set', sid, { cookie, user: 'ana' });
      const got = await ctx.call<Record<string, unknown>>(store, 'get', sid);
      assertPresent(got, 'get() after set()');
      const rebuilt = session.Store.prototype.createSession.call(store, { sessionID: sid } as never, got as never);
      const rebuiltCookie = rebuilt.cookie as unknown as Record<string, unknown>;
      assert.ok(!rebuiltCookie.expires, `cookie.expires read back as ${preview(rebuiltCookie.expires)}`);
      assert.equal(rebuiltCookie.originalMaxAge, null, 'cookie.originalMaxAge changed');
    },
  },
];

/** A session set under a fresh sid reads back deep-equal. */
async function assertRoundTrip(ctx: CaseContext, stored: StoreSession): Promise<void> {
  const store = await ctx.store();
  const sid = ctx.sid();
  await ctx.call(store, 'set', sid, stored);
  assertSameSession(await ctx.call(store, 'get', sid), stored);
}
