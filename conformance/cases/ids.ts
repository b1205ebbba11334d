import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import type { ConformanceCase } from '../types';
import { assertMissing, assertSameSession } from './support';

/** The length of the ids express-session makes itself (uid-safe of 24 bytes, base64url). */
const EXPRESS_SESSION_SID_LENGTH = 32;
/** Characters each odd id keeps for a tag unique to the case, so runs on one backend never meet. */
const TAG_LENGTH = 8;

/**
 * Ids that break stores which splice them into SQL, glob patterns, key paths or cookies; each,
 * with its tag, no longer than express-session's own ids, so the characters are judged and not the length.
 */
const ODD_SIDS = [
  `it's`,
  `double"quote`,
  `semi;colon`,
  `x');DROP TABLE t;--`,
  `percent%sign`,
  `under_score`,
  `glob*star`,
  `glob?mark`,
  `[glob]brackets`,
  `back\\slash`,
  `with space`,
  `tab\tchar`,
  `colon:and/slash.dot`,
  `$dollar{brace}`,
  `ünïcødé-会话-🍪`,
];

export const idCases: ConformanceCase[] = [
  {
    id: 'odd-sids-round-trip',
    group: 'ids',
    level: 'required',
    needs: [],
    rule: `Session ids of at most ${EXPRESS_SESSION_SID_LENGTH} characters holding quotes, semicolons, SQL and glob metacharacters, backslashes, spaces, tabs and unicode each store and read back their own session.`,
    async run(ctx) {
      const store = await ctx.store();
      const tag = randomBytes(TAG_LENGTH).toString('base64url').slice(0, TAG_LENGTH);
      const entries = ODD_SIDS.map((odd, i) => ({ sid: `${odd}${tag}`, session: ctx.session({ i, odd }) }));
      const tooLong = entries.filter(({ sid }) => sid.length > EXPRESS_SESSION_SID_LENGTH);
      assert.deepEqual(tooLong, [], 'the suite made an odd id longer than express-session makes its own');
      for (const { sid, session } of entries) await ctx.call(store, 'set', sid, session);
      for (const { sid, session } of entries) assertSameSession(await ctx.call(store, 'get', sid), session, `the session of sid ${JSON.stringify(sid)}`);
      for (const { sid } of entries) await ctx.call(store, 'destroy', sid);
      for (const { sid } of entries) assertMissing(await ctx.call(store, 'get', sid), `get() of ${JSON.stringify(sid)} after destroy()`);
    },
  },
  {
    id: 'sids-of-the-lengths-express-session-makes-round-trip',
    group: 'ids',
    level: 'required',
    needs: [],
    rule: `A session id of ${EXPRESS_SESSION_SID_LENGTH} characters (express-session's own) and a UUID of 36 (a common genid) each store and read back their own session.`,
    async run(ctx) {
      const store = await ctx.store();
      const sids = [randomBytes(24).toString('base64url'), randomUUID()];
      assert.deepEqual(
        sids.map((sid) => sid.length),
        [EXPRESS_SESSION_SID_LENGTH, 36],
      );
      const entries = sids.map((sid, i) => ({ sid, session: ctx.session({ i }) }));
      for (const { sid, session } of entries) await ctx.call(store, 'set', sid, session);
      for (const { sid, session } of entries) assertSameSession(await ctx.call(store, 'get', sid), session, `the session of a ${sid.length}-character sid`);
      for (const { sid } of entries) await ctx.call(store, 'destroy', sid);
    },
  },
  {
    id: 'sids-differing-in-trailing-spaces-are-different-sessions',
    group: 'ids',
    level: 'required',
    needs: [],
    rule: 'Sids that differ only in trailing spaces ("pad" and "pad ") are different sessions: setting one never overwrites the other.',
    async run(ctx) {
      const store = await ctx.store();
      const base = ctx.sid('pad');
      const sids = [base, `${base} `, `${base}  `];
      const entries = sids.map((sid, spaces) => ({ sid, session: ctx.session({ spaces }) }));
      for (const { sid, session } of entries) await ctx.call(store, 'set', sid, session);
      for (const { sid, session } of entries) assertSameSession(await ctx.call(store, 'get', sid), session, `the session of ${JSON.stringify(sid)}`);
      await ctx.call(store, 'destroy', `${base} `);
      assertSameSession(await ctx.call(store, 'get', base), entries[0]!.session, `the session of ${JSON.stringify(base)} after destroying ${JSON.stringify(`${base} `)}`);
      for (const { sid } of entries) await ctx.call(store, 'destroy', sid);
    },
  },
  {
    id: 'pattern-sids-do-not-match-other-sids',
    group: 'ids',
    level: 'required',
    needs: [],
    rule: 'A sid containing wildcard characters (*, ?, [], %, _) names exactly itself: get() and destroy() never reach another sid it would match as a pattern.',
    async run(ctx) {
      const store = await ctx.store();
      const base = ctx.sid('p');
      const plainSids = [`${base}ab`, `${base}a`, `${base}abc`, `${base}Xb`];
      const patternSids = [`${base}a*`, `${base}a?`, `${base}[aX]b`, `${base}a%`, `${base}_b`];
      const sessions = new Map(plainSids.map((sid) => [sid, ctx.session({ sid })]));
      for (const [sid, session] of sessions) await ctx.call(store, 'set', sid, session);
      for (const sid of patternSids) {
        assertMissing(await ctx.call(store, 'get', sid), `get() of the never-set sid ${JSON.stringify(sid)}`);
        await ctx.call(store, 'destroy', sid);
      }
      for (const [sid, session] of sessions) {
        assertSameSession(await ctx.call(store, 'get', sid), session, `the session of ${JSON.stringify(sid)} after destroying pattern-like sids`);
      }
    },
  },
  {
    id: 'sids-are-case-sensitive',
    group: 'ids',
    level: 'required',
    needs: [],
    rule: 'Sids that differ only in letter case are different sessions.',
    async run(ctx) {
      const store = await ctx.store();
      const sid = ctx.sid('CaseSid');
      const [lower, upper] = [sid.toLowerCase(), sid.toUpperCase()];
      assert.notEqual(lower, upper);
      const [lowerSession, upperSession] = [ctx.session({ which: 'lower' }), ctx.session({ which: 'upper' })];
      await ctx.call(store, 'set', lower, lowerSession);
      await ctx.call(store, 'set', upper, upperSession);
      assertSameSession(await ctx.call(store, 'get', lower), lowerSession, 'the lower-case sid');
      assertSameSession(await ctx.call(store, 'get', upper), upperSession, 'the upper-case sid');
    },
  },
  {
    id: 'sid-prefixes-do-not-collide',
    group: 'ids',
    level: 'required',
    needs: [],
    rule: 'A sid that is a prefix of another is a different session, and destroying it leaves the longer one.',
    async run(ctx) {
      const store = await ctx.store();
      const short = ctx.sid('prefix');
      const long = `${short}-longer`;
      const longSession = ctx.session({ which: 'long' });
      await ctx.call(store, 'set', short, ctx.session({ which: 'short' }));
      await ctx.call(store, 'set', long, longSession);
      await ctx.call(store, 'destroy', short);
      assertSameSession(await ctx.call(store, 'get', long), longSession, 'the longer sid');
    },
  },
  {
    id: 'long-sids-round-trip',
    group: 'ids',
    level: 'recommended',
    needs: [],
    rule: 'A sid of 300 characters, longer than express-session’s own, stores and reads back its session.',
    async run(ctx) {
      const store = await ctx.store();
      const unique = ctx.sid('long');
      const sid = `${unique}${'x'.repeat(300 - unique.length)}`;
      const other = `${sid.slice(0, -1)}y`;
      assert.equal(sid.length, 300);
      const [longSession, otherSession] = [ctx.session({ which: 'long' }), ctx.session({ which: 'other' })];
      await ctx.call(store, 'set', sid, longSession);
      await ctx.call(store, 'set', other, otherSession);
      assertSameSession(await ctx.call(store, 'get', sid), longSession, 'the 300-character sid');
      assertSameSession(await ctx.call(store, 'get', other), otherSession, 'a 300-character sid differing in its last character');
    },
  },
];
