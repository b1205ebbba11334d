import assert from 'node:assert/strict';
import type { SessionData, Store } from 'express-session';
import type { CaseContext, ConformanceCase, StoreFactoryOptions } from '../types';
import { assertMissing, assertNoProblems, assertPresent, preview } from './support';

// Sessions per user: the index userOf feeds, read by sessionsOf() and ended by destroySessionsOf().

/** The userOf the suite passes: the session's `user.name`, as the HTTP apps' login stores it. */
export const USER_OF: NonNullable<StoreFactoryOptions['userOf']> = (session: SessionData) => {
  const name = (session as unknown as { user?: { name?: unknown } }).user?.name;
  return typeof name === 'string' ? name : undefined;
};

/**
 * Sessions of other users that a user's list must not depend on: enough to catch a list that
 * filters instead of indexing wrongly, few enough for a server that scans on every write (FerretDB
 * v1) to write them within a case's time. How the cost grows with the store is the bench's to measure.
 */
const OTHER_SESSIONS = 300;

interface UserSessions {
  sessionsOf(user: string, callback: (error: unknown, sessions?: unknown) => void): void;
  destroySessionsOf(user: string, options: { except?: string | string[] }, callback: (error: unknown, destroyed?: unknown) => void): void;
  listedIdOf?(sid: string): string;
}

/** A store of the case whose sessions are indexed by USER_OF. */
export function userStore(ctx: CaseContext, options: StoreFactoryOptions = {}): Promise<Store> {
  return ctx.store({ userOf: USER_OF, ...options });
}

/** A user name no other case uses. */
export function userName(ctx: CaseContext): string {
  return ctx.sid('user');
}

/** The ids sessionsOf(user) lists, sorted, after checking each entry's shape. */
export async function listedIds(store: Store, user: string): Promise<string[]> {
  const sessions = await new Promise<unknown>((resolve, reject) =>
    (store as unknown as UserSessions).sessionsOf(user, (error, value) => (error ? reject(error) : resolve(value))),
  );
  assert.ok(Array.isArray(sessions), `sessionsOf() gave ${preview(sessions)}, not an array`);
  return sessions
    .map((entry: { id?: unknown; session?: unknown; expiresAt?: unknown }) => {
      assert.equal(typeof entry?.id, 'string', `sessionsOf() listed an entry without a string id: ${preview(entry)}`);
      assert.ok(entry.session !== null && typeof entry.session === 'object', 'sessionsOf() listed an entry without its session');
      assert.equal(typeof entry.expiresAt, 'number', 'sessionsOf() listed an entry without its expiresAt');
      return entry.id as string;
    })
    .sort();
}

/** How sessionsOf() names the session `sid`. */
export function listedId(store: Store, sid: string): string {
  const listedIdOf = (store as unknown as UserSessions).listedIdOf;
  return typeof listedIdOf === 'function' ? listedIdOf.call(store, sid) : sid;
}

function destroySessionsOf(store: Store, user: string, except: string[]): Promise<unknown> {
  return new Promise((resolve, reject) =>
    (store as unknown as UserSessions).destroySessionsOf(user, { except }, (error, destroyed) => (error ? reject(error) : resolve(destroyed))),
  );
}

async function assertListed(store: Store, user: string, sids: string[], what: string): Promise<void> {
  const expected = sids.map((sid) => listedId(store, sid)).sort();
  const listed = await listedIds(store, user);
  assert.deepEqual(listed, expected, `${what}: sessionsOf() listed ${listed.length} sessions, expected ${expected.length}${listed.length === expected.length ? ', other ones' : ''}`);
}

export const userCases: ConformanceCase[] = [
  {
    id: 'sessions-of-lists-a-users-live-sessions-only',
    group: 'users',
    level: 'required',
    needs: ['userIndex'],
    rule: "sessionsOf(user) lists each live session userOf gives to that user, with its data and expiry, and never another user's, a destroyed one or one of no user.",
    async run(ctx) {
      const store = await userStore(ctx);
      const [user, other] = [userName(ctx), userName(ctx)];
      const mine = [ctx.sid('mine'), ctx.sid('mine')];
      for (const sid of mine) await ctx.call(store, 'set', sid, ctx.session({ user: { name: user }, device: 'phone' }));
      const others = ctx.sid('other');
      await ctx.call(store, 'set', others, ctx.session({ user: { name: other } }));
      await ctx.call(store, 'set', ctx.sid('anonymous'), ctx.session({ cart: [1] }));
      const destroyed = ctx.sid('destroyed');
      await ctx.call(store, 'set', destroyed, ctx.session({ user: { name: user } }));
      await ctx.call(store, 'destroy', destroyed);
      await assertListed(store, user, mine, 'two live sessions of the user, one destroyed');
      await assertListed(store, other, [others], 'the other user');
      await assertListed(store, userName(ctx), [], 'a user with no session');
    },
  },
  {
    id: 'sessions-of-never-lists-an-expired-session',
    group: 'users',
    level: 'required',
    needs: ['userIndex'],
    waits: true,
    rule: 'sessionsOf(user) leaves out a session of the user whose expiry has passed, even before the backend deletes it.',
    async run(ctx) {
      const store = await userStore(ctx);
      const user = userName(ctx);
      const live = ctx.sid('live');
      await ctx.call(store, 'set', ctx.sid('expiring'), ctx.session({ user: { name: user } }, { expiresAt: ctx.clock.now() + ctx.clock.unit }));
      await ctx.call(store, 'set', live, ctx.session({ user: { name: user } }, { expiresAt: ctx.clock.now() + 10 * ctx.clock.unit }));
      await ctx.clock.advance(2.5 * ctx.clock.unit);
      await assertListed(store, user, [live], 'one session expired, one live');
    },
  },
  {
    id: 'a-session-saved-under-another-user-leaves-the-first-list',
    group: 'users',
    level: 'required',
    needs: ['userIndex'],
    rule: "A session saved with another user (a login as someone else) moves to that user's list, and one saved with no user (a logout that keeps the session) leaves every list.",
    async run(ctx) {
      const store = await userStore(ctx);
      const [first, second] = [userName(ctx), userName(ctx)];
      const sid = ctx.sid('moving');
      await ctx.call(store, 'set', sid, ctx.session({ user: { name: first } }));
      await ctx.call(store, 'set', sid, ctx.session({ user: { name: second } }));
      await assertListed(store, first, [], 'the first user, after the session was saved as the second');
      await assertListed(store, second, [sid], 'the second user');
      await ctx.call(store, 'set', sid, ctx.session({ cart: ['kept'] }));
      await assertListed(store, second, [], 'the second user, after the session was saved with no user');
    },
  },
  {
    id: 'a-regenerated-session-is-listed-under-its-new-id-only',
    group: 'users',
    level: 'required',
    needs: ['userIndex'],
    rule: "After regenerate (destroy the old id, save under a new one), the user's list holds the new id and not the old one.",
    async run(ctx) {
      const store = await userStore(ctx);
      const user = userName(ctx);
      const [old, renewed] = [ctx.sid('old'), ctx.sid('renewed')];
      await ctx.call(store, 'set', old, ctx.session({ user: { name: user } }));
      await ctx.call(store, 'destroy', old);
      await ctx.call(store, 'set', renewed, ctx.session({ user: { name: user } }));
      await assertListed(store, user, [renewed], 'after regenerate');
    },
  },
  {
    id: 'destroy-sessions-of-ends-every-session-but-the-kept-one',
    group: 'users',
    level: 'required',
    needs: ['userIndex', 'sharedData'],
    rule: "destroySessionsOf(user, { except }) destroys the user's other sessions for every store on the backend at once, keeps the excepted one and other users' sessions, and resolves to how many it destroyed.",
    async run(ctx) {
      const store = await userStore(ctx);
      const elsewhere = await userStore(ctx);
      const [user, other] = [userName(ctx), userName(ctx)];
      const [kept, ...ended] = [ctx.sid('kept'), ctx.sid('ended'), ctx.sid('ended')];
      for (const sid of [kept!, ...ended]) await ctx.call(store, 'set', sid, ctx.session({ user: { name: user } }));
      const others = ctx.sid('other-user');
      await ctx.call(store, 'set', others, ctx.session({ user: { name: other } }));
      const destroyed = await destroySessionsOf(store, user, [kept!]);
      const problems: string[] = [];
      if (destroyed !== ended.length) problems.push(`destroySessionsOf() resolved to ${preview(destroyed)} for ${ended.length} sessions destroyed`);
      for (const sid of ended) {
        if ((await ctx.call(elsewhere, 'get', sid)) !== null) problems.push('another store still loads a destroyed session');
        if ((await ctx.call(store, 'get', sid)) !== null) problems.push('the store still loads a destroyed session');
      }
      assertNoProblems(problems);
      assertPresent(await ctx.call(store, 'get', kept), 'get() of the excepted session');
      assertPresent(await ctx.call(store, 'get', others), "get() of another user's session");
      await assertListed(store, user, [kept!], 'after destroySessionsOf()');
    },
  },
  {
    id: 'other-users-sessions-do-not-change-a-users-list',
    group: 'users',
    level: 'required',
    needs: ['userIndex'],
    rule: `sessionsOf(user) among ${OTHER_SESSIONS} sessions of other users lists exactly that user's sessions.`,
    async run(ctx) {
      // In a namespace of its own where the store has them: the crowd is then all the store holds besides the user's sessions.
      const store = ctx.config.supports?.namespaces ? await ctx.isolatedStore({ userOf: USER_OF }) : await userStore(ctx);
      const user = userName(ctx);
      const mine = [ctx.sid('mine'), ctx.sid('mine'), ctx.sid('mine')];
      const prefix = userName(ctx);
      const writes: Promise<unknown>[] = [];
      for (let i = 0; i < OTHER_SESSIONS; i++) {
        writes.push(ctx.call(store, 'set', ctx.sid('crowd'), ctx.session({ user: { name: `${prefix}-${i % 30}` } })));
        if (writes.length === 50) await Promise.all(writes.splice(0));
      }
      await Promise.all(writes);
      for (const sid of mine) await ctx.call(store, 'set', sid, ctx.session({ user: { name: user } }));
      await assertListed(store, user, mine, `among ${OTHER_SESSIONS} sessions of 30 other users`);
      assertMissing((await listedIds(store, `${prefix}-unused`))[0], 'a user of no session');
    },
  },
];
