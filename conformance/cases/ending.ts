import assert from 'node:assert/strict';
import type { Store } from 'express-session';
import type { CaseContext, ConformanceCase, RawRecord } from '../types';
import { assertMissing, assertNoProblems, assertPresent, preview } from './support';

// How a session ends and stays ended: a destroy that a late save cannot undo (tombstones), and an absolute lifetime (maxLifetime).

/** A tombstone outlives every wait of these cases but the one that lets it lapse. */
const TOMBSTONE_UNITS = 2;
/** maxLifetime in the lifetime cases: longer than a cookie's 4 units, so only the cap can end the session in time. */
const LIFETIME_UNITS = 6;

/** What a slow request does after a logout: it loaded the session before, and saves it when it ends. */
async function setAfterDestroy(ctx: CaseContext, store: Store, lateStore: Store = store): Promise<string> {
  const sid = ctx.sid('tomb');
  await ctx.call(store, 'set', sid, ctx.session({ user: 'ana' }));
  const loaded = await ctx.call<Record<string, unknown>>(lateStore, 'get', sid);
  assertPresent(loaded, 'get() of the session before the logout');
  await ctx.call(store, 'destroy', sid);
  await ctx.call(lateStore, 'set', sid, { ...loaded, ...ctx.session({ user: 'ana', cart: ['late'] }) });
  return sid;
}

/** A store whose sessions live at most LIFETIME_UNITS after their first set(). */
function lifetimeStore(ctx: CaseContext): Promise<Store> {
  return ctx.store({ maxLifetime: LIFETIME_UNITS * ctx.clock.unit });
}

async function rawRecord(ctx: CaseContext, store: Store, sid: string): Promise<RawRecord> {
  const record = (await ctx.config.readRaw!(store, sid)) ?? null;
  assert.ok(record !== null, 'after set(), the backend holds no record for the sid');
  return record;
}

export const endingCases: ConformanceCase[] = [
  {
    id: 'a-set-after-destroy-writes-nothing',
    group: 'basics',
    level: 'required',
    needs: ['tombstones'],
    rule: 'A set() of a destroyed id while its tombstone stands (a slow request ending after a logout) writes nothing: the session stays destroyed.',
    async run(ctx) {
      const store = await ctx.store();
      const sid = await setAfterDestroy(ctx, store);
      assertMissing(await ctx.call(store, 'get', sid), 'get() after a set() that followed destroy()');
    },
  },
  {
    id: 'a-tombstone-holds-for-every-store-on-the-backend',
    group: 'basics',
    level: 'required',
    needs: ['tombstones', 'sharedData'],
    rule: 'The tombstone destroy() leaves is in the backend: a set() of that id through another store on the same data (another process) writes nothing either.',
    async run(ctx) {
      const store = await ctx.store();
      const other = await ctx.store();
      const sid = await setAfterDestroy(ctx, store, other);
      assertMissing(await ctx.call(store, 'get', sid), 'get() through the store that destroyed the session');
      assertMissing(await ctx.call(other, 'get', sid), 'get() through the store that saved it late');
    },
  },
  {
    id: 'a-destroyed-id-is-new-once-its-tombstone-lapses',
    group: 'basics',
    level: 'required',
    needs: ['tombstones'],
    waits: true,
    rule: 'Once tombstoneTtl has passed since destroy(), a set() of that id stores a new session as for any new id.',
    async run(ctx) {
      const store = await ctx.store({ tombstoneTtl: TOMBSTONE_UNITS * ctx.clock.unit });
      const sid = ctx.sid('lapse');
      await ctx.call(store, 'set', sid, ctx.session({ user: 'ana' }));
      await ctx.call(store, 'destroy', sid);
      await ctx.clock.advance((TOMBSTONE_UNITS + 1) * ctx.clock.unit);
      await ctx.call(store, 'set', sid, ctx.session({ user: 'bo' }));
      assertPresent(await ctx.call(store, 'get', sid), 'get() of a session set after its tombstone lapsed');
    },
  },
  {
    id: 'a-tombstone-is-never-listed-or-counted',
    group: 'bulk',
    level: 'required',
    needs: ['tombstones', 'namespaces', 'ids', 'all', 'length'],
    rule: 'ids(), all() and length() leave tombstones out: they list and count live sessions only.',
    async run(ctx) {
      const store = await ctx.isolatedStore();
      await ctx.call(store, 'set', ctx.sid('kept'), ctx.session({ user: 'ana' }));
      await setAfterDestroy(ctx, store);
      await ctx.call(store, 'destroy', ctx.sid('never-set'));
      const problems: string[] = [];
      const ids = await ctx.call<unknown[]>(store, 'ids');
      if (!Array.isArray(ids) || ids.length !== 1) problems.push(`ids() listed ${preview(ids)} for one live session`);
      const all = Object.keys((await ctx.call<object>(store, 'all')) ?? {});
      if (all.length !== 1) problems.push(`all() has ${all.length} entries for one live session`);
      const length = await ctx.call(store, 'length');
      if (length !== 1) problems.push(`length() is ${preview(length)} for one live session`);
      assertNoProblems(problems);
    },
  },
  {
    id: 'touch-cannot-keep-a-session-past-max-lifetime',
    group: 'expiry',
    level: 'required',
    needs: ['maxLifetime', 'touch'],
    waits: true,
    rule: 'With maxLifetime, a session touched again and again ends maxLifetime after its first set().',
    async run(ctx) {
      const { unit } = ctx.clock;
      const store = await lifetimeStore(ctx);
      const sid = ctx.sid('life');
      const start = ctx.clock.now();
      await ctx.call(store, 'set', sid, ctx.session({ user: 'ana' }, { expiresAt: start + 4 * unit }));
      for (const at of [2, 4]) {
        await ctx.clock.advance(2 * unit);
        await ctx.call(store, 'touch', sid, ctx.session({ user: 'ana' }, { expiresAt: start + (at + 4) * unit }));
      }
      await ctx.clock.advance(0.5 * unit);
      assertPresent(await ctx.call(store, 'get', sid), 'get() within maxLifetime of a touched session');
      await ctx.clock.advance(2 * unit);
      assertMissing(await ctx.call(store, 'get', sid), `get() ${LIFETIME_UNITS + 0.5} units after the first set(), with maxLifetime ${LIFETIME_UNITS} units`);
    },
  },
  {
    id: 'set-cannot-keep-a-session-past-max-lifetime',
    group: 'expiry',
    level: 'required',
    needs: ['maxLifetime'],
    waits: true,
    rule: 'With maxLifetime, a session saved again and again, whatever its cookie says, ends maxLifetime after its first set().',
    async run(ctx) {
      const { unit } = ctx.clock;
      const store = await lifetimeStore(ctx);
      const sid = ctx.sid('life');
      const start = ctx.clock.now();
      await ctx.call(store, 'set', sid, ctx.session({ visits: 0 }, { expiresAt: start + 4 * unit }));
      for (const at of [2, 4]) {
        await ctx.clock.advance(2 * unit);
        await ctx.call(store, 'set', sid, ctx.session({ visits: at }, { expiresAt: start + (at + 4) * unit }));
      }
      await ctx.clock.advance(2.5 * unit);
      assertMissing(await ctx.call(store, 'get', sid), `get() ${LIFETIME_UNITS + 0.5} units after the first set(), with maxLifetime ${LIFETIME_UNITS} units`);
    },
  },
  {
    id: 'a-new-id-starts-a-new-lifetime',
    group: 'expiry',
    level: 'required',
    needs: ['maxLifetime'],
    waits: true,
    rule: 'With maxLifetime, the lifetime belongs to the id: a session regenerated under a new id lives maxLifetime from its own first set().',
    async run(ctx) {
      const { unit } = ctx.clock;
      const store = await lifetimeStore(ctx);
      const old = ctx.sid('old');
      const renewed = ctx.sid('renewed');
      await ctx.call(store, 'set', old, ctx.session({ user: 'ana' }, { expiresAt: ctx.clock.now() + 8 * unit }));
      await ctx.clock.advance(4 * unit);
      // What regenerate() does: destroy the old id, save the session under a new one.
      await ctx.call(store, 'destroy', old);
      await ctx.call(store, 'set', renewed, ctx.session({ user: 'ana' }, { expiresAt: ctx.clock.now() + 4 * unit }));
      await ctx.clock.advance(3 * unit);
      assertPresent(await ctx.call(store, 'get', renewed), 'get() of the new id 7 units after the old one was first set');
    },
  },
  {
    id: 'the-stored-expiry-never-passes-max-lifetime',
    group: 'expiry',
    level: 'recommended',
    needs: ['maxLifetime', 'touch', 'readRaw', 'injectableClock'],
    rule: "With maxLifetime, the expiry the backend holds is never later than the first set() + maxLifetime, so the backend's own expiry ends the session too.",
    async run(ctx) {
      const { unit } = ctx.clock;
      const store = await lifetimeStore(ctx);
      const sid = ctx.sid('life');
      const limit = Math.floor(ctx.clock.now()) + LIFETIME_UNITS * unit;
      await ctx.call(store, 'set', sid, ctx.session({ user: 'ana' }, { expiresAt: ctx.clock.now() + 10 * unit }));
      const problems: string[] = [];
      const check = async (what: string) => {
        const { expiresAt } = await rawRecord(ctx, store, sid);
        if (expiresAt > limit) problems.push(`after ${what} the stored expiry is ${expiresAt - limit} ms past the first set() + maxLifetime`);
      };
      await check('set()');
      await ctx.clock.advance(unit);
      await ctx.call(store, 'touch', sid, ctx.session({ user: 'ana' }, { expiresAt: ctx.clock.now() + 10 * unit }));
      await check('touch()');
      await ctx.call(store, 'set', sid, ctx.session({ user: 'bo' }, { expiresAt: ctx.clock.now() + 10 * unit }));
      await check('a second set()');
      assertNoProblems(problems);
    },
  },
];
