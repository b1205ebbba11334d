import assert from 'node:assert/strict';
import type { SessionData, Store } from 'express-session';
import { isError } from '../describe-error';
import type { CaseContext, ConformanceCase } from '../types';
import { assertMissing, assertNoProblems, assertSameSession, observeCallback, onceProblems, preview } from './support';
import { cookieHeader } from './http-app';
import { httpCasesOf, type HttpCaseDefinition } from './http-frameworks';

const COOKIE = '"cookie":{"originalMaxAge":null,"path":"/","httpOnly":true}';
const DEEP_LEVELS = 100_000;

/** Stored sessions whose JSON parses but that express-session cannot load: it throws outside the store's callback. */
const UNLOADABLE_COOKIES: Array<[string, string]> = [
  ['originalMaxAge a string', '{"cookie":{"originalMaxAge":"soon","path":"/"}}'],
  ['expires not a date', '{"cookie":{"originalMaxAge":1000,"expires":"not a date","path":"/"}}'],
  ['expires a number', '{"cookie":{"originalMaxAge":1000,"expires":1700000000000,"path":"/"}}'],
  ['path with a semicolon', '{"cookie":{"originalMaxAge":null,"path":"/;Domain=evil.example"}}'],
  ['domain with a space', '{"cookie":{"originalMaxAge":null,"path":"/","domain":"a b"}}'],
  ['sameSite unknown', '{"cookie":{"originalMaxAge":null,"path":"/","sameSite":"sideways"}}'],
  ['priority unknown', '{"cookie":{"originalMaxAge":null,"path":"/","priority":"urgent"}}'],
  ['a __proto__ field', '{"cookie":{"originalMaxAge":null,"path":"/","__proto__":{}}}'],
  ['a serialize field', '{"cookie":{"originalMaxAge":null,"path":"/","serialize":1}}'],
  ['a cookie that is an array', '{"cookie":[]}'],
];

/** A session nested far deeper than express-session's recursive hash can walk. */
const deeplyNested = (levels: number) => `{${COOKIE},"tree":${'['.repeat(levels)}${']'.repeat(levels)}}`;

async function plant(ctx: CaseContext, store: Store, text: string, label = 'corrupt'): Promise<string> {
  const sid = ctx.sid(label);
  await ctx.config.writeRaw!(store, sid, text);
  return sid;
}

/** Problems with how get() answered for a record that is not a loadable session: it must call back once, with an Error or no session. */
async function refusedRead(store: Store, sid: string, label: string): Promise<string[]> {
  const observed = await observeCallback((callback) => store.get(sid, callback));
  const once = onceProblems('get()', observed);
  if (once.length > 0) return once.map((problem) => `${label}: ${problem}`);
  const [error, value] = observed.args[0]!;
  if (error instanceof RangeError) return [`${label}: get() overflowed the stack (${error.message})`];
  if (!error && value !== null && value !== undefined) return [`${label}: get() called back ${preview(value)} as the session`];
  return [];
}

const unloadableRecordAnswered: HttpCaseDefinition = {
  name: 'unloadable-record-still-gets-an-answer',
  level: 'recommended',
  needs: ['writeRaw'],
  rule: {
    express: `A request whose session record has a cookie express-session cannot load, or is nested ${DEEP_LEVELS} levels deep, is answered (an error page or a fresh session) instead of hanging.`,
    fastify: `A request whose session record has a cookie @fastify/session cannot load, or is nested ${DEEP_LEVELS} levels deep, is answered (an error page or a fresh session) instead of hanging.`,
  },
  async run(ctx, http) {
    const store = await ctx.store();
    const app = await http.app(store);
    const problems: string[] = [];
    for (const [label, text] of [UNLOADABLE_COOKIES[0]!, [`${DEEP_LEVELS} levels`, deeplyNested(DEEP_LEVELS)]] as const) {
      const login = await app.request().post('/login').send({ user: { name: 'ana' } }).expect(200);
      const cookie = http.sessionCookie(login);
      assert.ok(cookie, 'login set no session cookie');
      const sid = http.sid(cookie!);
      assert.ok(sid, 'the session cookie is not signed with the app secret');
      await ctx.config.writeRaw!(store, sid as string, text);
      const answered = await app
        .request()
        .get('/me')
        .set('Cookie', cookieHeader(cookie!))
        .timeout(3000)
        .then(
          (response) => response.status,
          (error: unknown) => error as Error,
        );
      if (answered instanceof Error) problems.push(`${label}: the request got no answer (${answered.message})`);
      else if (answered !== 500 && answered !== 200) problems.push(`${label}: the request was answered ${answered}`);
    }
    assertNoProblems(problems);
  },
};

export const hardeningCases: ConformanceCase[] = [
  {
    id: 'unloadable-cookie-is-never-returned',
    group: 'errors',
    level: 'recommended',
    needs: ['writeRaw'],
    rule: 'get() of a stored session whose cookie express-session cannot load (originalMaxAge not a number, expires not a date, a bad path, domain, sameSite or priority, a field that shadows a Cookie member) calls back an Error or no session, never that session.',
    async run(ctx) {
      const store = await ctx.store();
      const problems: string[] = [];
      for (const [label, text] of UNLOADABLE_COOKIES) problems.push(...(await refusedRead(store, await plant(ctx, store, text), label)));
      assertNoProblems(problems);
    },
  },
  {
    id: 'deeply-nested-record-is-never-returned',
    group: 'errors',
    level: 'recommended',
    needs: ['writeRaw'],
    rule: `get() of a stored session nested ${DEEP_LEVELS} levels deep calls back an Error or no session, without overflowing the stack, and a session nested 20 levels deep still reads back.`,
    async run(ctx) {
      const store = await ctx.store();
      assertNoProblems(await refusedRead(store, await plant(ctx, store, deeplyNested(DEEP_LEVELS)), `${DEEP_LEVELS} levels`));
      const shallow = await plant(ctx, store, deeplyNested(20), 'nested');
      const session = await ctx.call<SessionData & { tree?: unknown }>(store, 'get', shallow);
      assert.ok(session && Array.isArray(session.tree), `a session nested 20 levels deep read back as ${preview(session)}`);
    },
  },
  {
    id: 'sessions-that-cannot-be-read-back-are-refused-at-set',
    group: 'errors',
    level: 'recommended',
    needs: [],
    rule: 'set() of a session the store could not hand back to express-session (no cookie object, a toJSON returning a string, originalMaxAge a string, nested 200 levels deep) calls back an Error and stores nothing.',
    async run(ctx) {
      const store = await ctx.store();
      let deep: unknown = [];
      for (let level = 0; level < 200; level++) deep = [deep];
      const unreadable: Array<[string, unknown]> = [
        ['no cookie', { user: 'ana' }],
        ['a toJSON returning a string', { ...ctx.session(), toJSON: () => 'ana' }],
        ['originalMaxAge a string', { cookie: { originalMaxAge: 'soon', path: '/' } }],
        ['nested 200 levels deep', ctx.session({ deep })],
      ];
      const problems: string[] = [];
      for (const [label, session] of unreadable) {
        const sid = ctx.sid('unreadable');
        const observed = await observeCallback((callback) => store.set(sid, session as never, callback));
        const once = onceProblems('set()', observed);
        if (once.length > 0) problems.push(`${label}: ${once.join(', ')}`);
        else if (!isError(observed.args[0]![0])) problems.push(`${label}: set() called back no Error`);
        const stored = await ctx.call(store, 'get', sid).catch(() => null);
        if (stored !== null && stored !== undefined) problems.push(`${label}: get() then called back ${preview(stored)}`);
      }
      assertNoProblems(problems);
    },
  },
  {
    id: 'lone-surrogate-sids-do-not-collide',
    group: 'ids',
    level: 'recommended',
    needs: [],
    rule: 'Session ids holding lone UTF-16 surrogates are refused with an Error or each keep their own session: "\\ud800…" and "\\udc00…" never name one record.',
    async run(ctx) {
      const store = await ctx.store();
      const unique = ctx.sid('');
      const entries = ['\ud800', '\udc00', '\ufffd'].map((lone, i) => ({ sid: `${lone}${unique}`, session: ctx.session({ i }) }));
      const stored: typeof entries = [];
      for (const entry of entries) {
        const refused = await ctx.call(store, 'set', entry.sid, entry.session).then(
          () => false,
          (error: unknown) => isError(error),
        );
        if (!refused) stored.push(entry);
      }
      for (const { sid, session } of stored) assertSameSession(await ctx.call(store, 'get', sid), session, `the session of ${JSON.stringify(sid)}`);
      for (const { sid } of stored) await ctx.call(store, 'destroy', sid);
    },
  },
  {
    id: 'control-characters-of-a-sid-never-reach-an-error-message',
    group: 'errors',
    level: 'recommended',
    needs: ['writeRaw'],
    rule: 'An error about a session whose id holds control characters (CR, LF, ESC) shows them escaped, so the id cannot forge or colour a log line.',
    async run(ctx) {
      const store = await ctx.store();
      const sid = `\r\n\u001b[31mFAKE ${ctx.sid('ctl')}`;
      const errors: unknown[] = [];
      await ctx.config.writeRaw!(store, sid, '{"truncated":');
      errors.push(await ctx.call(store, 'get', sid).then(() => undefined, (error: unknown) => error));
      errors.push(await ctx.call(store, 'get', `\r\nFAKE\u0000`).then(() => undefined, (error: unknown) => error));
      const problems = errors
        .filter(isError)
        .filter((error) => /[\r\n\u001b]/.test(String(error.message)))
        .map((error) => `the error message holds a raw control character: ${JSON.stringify(error.message)}`);
      assertNoProblems(problems);
    },
  },
  {
    id: 'all-lists-a-sid-named-like-a-prototype-as-its-own',
    group: 'bulk',
    level: 'recommended',
    needs: ['all', 'sessionIdListings'],
    rule: "all() after set('__proto__', session) lists that session under its own key, and the result's prototype stays what it was (none, or Object.prototype).",
    async run(ctx) {
      const store = ctx.config.supports?.namespaces ? await ctx.isolatedStore() : await ctx.store();
      const session = ctx.session({ marker: 'proto' });
      const refused = await ctx.call(store, 'set', '__proto__', session).then(
        () => false,
        (error: unknown) => isError(error),
      );
      if (refused) return;
      try {
        const all = await ctx.call<unknown>(store, 'all');
        if (Array.isArray(all)) return;
        assert.ok(all !== null && typeof all === 'object', `all() called back ${preview(all)}`);
        const prototype = Object.getPrototypeOf(all);
        assert.ok(prototype === null || prototype === Object.prototype, "all()'s result has the session as its prototype");
        assert.ok(Object.prototype.hasOwnProperty.call(all, '__proto__'), "all() does not list the session '__proto__' as an own key");
        assertSameSession((all as Record<string, unknown>)['__proto__'], session, "the session listed under '__proto__'");
      } finally {
        await ctx.call(store, 'destroy', '__proto__');
      }
    },
  },
  {
    id: 'sessions-iterator-streams-every-live-session',
    group: 'bulk',
    level: 'recommended',
    needs: ['writeRaw', 'sessionIdListings'],
    rule: 'A store with a sessions() async iterator yields every live session of its namespace once as { id, session }, skipping a corrupt record instead of failing.',
    async run(ctx) {
      const store = ctx.config.supports?.namespaces ? await ctx.isolatedStore() : await ctx.store();
      const iterate = (store as unknown as { sessions?: () => AsyncIterable<{ id: string; session: unknown }> }).sessions;
      if (typeof iterate !== 'function') return ctx.skip('the store has no sessions() iterator');
      const written = new Map(Array.from({ length: 5 }, (_, i) => [ctx.sid(`it${i}`), ctx.session({ i })]));
      for (const [sid, session] of written) await ctx.call(store, 'set', sid, session);
      const corrupt = await plant(ctx, store, '{"truncated":');
      const seen = new Map<string, unknown>();
      for await (const { id, session } of iterate.call(store)) {
        assert.ok(!seen.has(id), `sessions() yielded ${JSON.stringify(id)} twice`);
        seen.set(id, session);
      }
      assert.ok(!seen.has(corrupt), 'sessions() yielded the corrupt record');
      for (const [sid, session] of written) assertSameSession(seen.get(sid), session, `the session sessions() yielded for ${sid}`);
      await ctx.call(store, 'destroy', corrupt);
      assertMissing(await ctx.call(store, 'get', corrupt), 'the corrupt record after destroy()');
    },
  },
  // Last: through @fastify/session an unloadable record a store hands back crashes the process, and a run stops there.
  ...httpCasesOf([unloadableRecordAnswered]),
];
