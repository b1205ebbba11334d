import type { CaseContext, ConformanceCase, StoreFactoryOptions } from '../types';
import { assertMissing, assertPresent, dataOf } from './support';
import assert from 'node:assert/strict';

export const touchCases: ConformanceCase[] = [
  {
    id: 'touch-extends-expiry',
    group: 'touch',
    level: 'required',
    needs: ['touch'],
    waits: true,
    rule: 'After touch() with a later cookie.expires, the session outlives its original expiry with its data intact.',
    async run(ctx) {
      const { unit } = ctx.clock;
      const store = await ctx.store();
      const sid = ctx.sid();
      const start = ctx.clock.now();
      const stored = ctx.session({ user: 'ana' }, { expiresAt: start + 2 * unit });
      await ctx.call(store, 'set', sid, stored);
      await ctx.clock.advance(0.5 * unit);
      await ctx.call(store, 'touch', sid, ctx.session({ user: 'ana' }, { expiresAt: start + 5 * unit }));
      await ctx.clock.advance(3 * unit);
      const got = await ctx.call(store, 'get', sid);
      assertPresent(got, 'get() after the original expiry of a touched session');
      assert.deepEqual(dataOf(got), dataOf(stored), 'touch() changed the session data');
    },
  },
  {
    id: 'touch-extends-ttl-expiry',
    group: 'touch',
    level: 'required',
    needs: ['touch', 'ttl'],
    waits: true,
    rule: 'touch() of a session without cookie.expires restarts its ttl.',
    async run(ctx) {
      const { unit } = ctx.clock;
      const store = await ctx.store({ ttl: 5 * unit });
      const sid = ctx.sid();
      const stored = ctx.session({ user: 'ana' }, { expiresAt: null });
      await ctx.call(store, 'set', sid, stored);
      await ctx.clock.advance(3 * unit);
      await ctx.call(store, 'touch', sid, stored);
      await ctx.clock.advance(3.5 * unit);
      assertPresent(await ctx.call(store, 'get', sid), 'get() after the original ttl of a touched session');
    },
  },
  {
    id: 'touch-never-writes-data',
    group: 'touch',
    level: 'required',
    needs: ['touch'],
    rule: 'touch() with a stale session object never overwrites newer data stored by set().',
    async run(ctx) {
      const store = await ctx.store();
      const sid = ctx.sid();
      const stale = ctx.session({ version: 1 });
      await ctx.call(store, 'set', sid, stale);
      const newer = ctx.session({ version: 2, cart: ['book'] });
      await ctx.call(store, 'set', sid, newer);
      await ctx.call(store, 'touch', sid, { ...stale, cookie: ctx.session({}, { expiresAt: ctx.clock.now() + 7_200_000 }).cookie });
      const got = await ctx.call(store, 'get', sid);
      assertPresent(got, 'get() after touch()');
      assert.deepEqual(dataOf(got), dataOf(newer), 'touch() wrote the stale session over the newer one');
    },
  },
  {
    id: 'touch-never-creates-a-missing-session',
    group: 'touch',
    level: 'required',
    needs: ['touch'],
    rule: 'touch() of a sid that was never set does not create a session.',
    async run(ctx) {
      const store = await ctx.store();
      const sid = ctx.sid();
      await ctx.call(store, 'touch', sid, ctx.session({ user: 'ghost' }));
      assertMissing(await ctx.call(store, 'get', sid), 'get() after touch() of a missing sid');
    },
  },
  {
    id: 'touch-never-resurrects-a-destroyed-session',
    group: 'touch',
    level: 'required',
    needs: ['touch'],
    rule: 'touch() after destroy() does not bring the session back.',
    async run(ctx) {
      const store = await ctx.store();
      const sid = ctx.sid();
      const stored = ctx.session({ user: 'ana' });
      await ctx.call(store, 'set', sid, stored);
      await ctx.call(store, 'destroy', sid);
      await ctx.call(store, 'touch', sid, stored);
      assertMissing(await ctx.call(store, 'get', sid), 'get() after destroy() then touch()');
    },
  },
  {
    id: 'touch-never-resurrects-an-expired-session',
    group: 'touch',
    level: 'required',
    needs: ['touch'],
    waits: true,
    rule: 'touch() of a session whose expiry has passed does not bring it back, even with a later cookie.expires.',
    async run(ctx) {
      const { unit } = ctx.clock;
      const store = await ctx.store();
      const sid = ctx.sid();
      await ctx.call(store, 'set', sid, ctx.session({ user: 'ana' }, { expiresAt: ctx.clock.now() + unit }));
      await ctx.clock.advance(2.5 * unit);
      await ctx.call(store, 'touch', sid, ctx.session({ user: 'ana' }, { expiresAt: ctx.clock.now() + 10 * unit }));
      assertMissing(await ctx.call(store, 'get', sid), 'get() after touch() of an expired session');
    },
  },
  {
    id: 'touch-after-skips-a-recent-extension',
    group: 'touch',
    level: 'required',
    needs: ['touch', 'touchAfter'],
    waits: true,
    rule: 'With touchAfter, a touch() that would move the stored expiry by less than touchAfter is not written.',
    async run(ctx) {
      assertMissing(await getAfterTouch(ctx, { touchAfter: 4 * ctx.clock.unit }), 'get() past the original expiry (the skipped touch moved it)');
    },
  },
  {
    id: 'touch-after-writes-when-due',
    group: 'touch',
    level: 'required',
    needs: ['touch', 'touchAfter'],
    waits: true,
    rule: 'With touchAfter, a touch() that moves the stored expiry by touchAfter or more is written.',
    async run(ctx) {
      assertPresent(await getAfterTouch(ctx, { touchAfter: 2 * ctx.clock.unit }), 'get() past the original expiry of a touched session');
    },
  },
  {
    id: 'disable-touch-makes-touch-a-no-op',
    group: 'touch',
    level: 'required',
    needs: ['touch', 'disableTouch'],
    waits: true,
    rule: 'With disableTouch, touch() leaves the stored expiry where it was.',
    async run(ctx) {
      assertMissing(await getAfterTouch(ctx, { disableTouch: true }), 'get() past the original expiry (touch() extended it)');
    },
  },
];

/**
 * What express-session does with a rolling cookie of 4 units: sets a session expiring at start + 4
 * units; 3 units later loads it and touches it with the same lifetime (expiring at start + 7); reads
 * it at start + 5.5, 1.5 units from either expiry: present only if the store wrote that touch, which
 * moved the expiry by 3 units, 3 units after the last write (the two readings of touchAfter agree).
 */
async function getAfterTouch(ctx: CaseContext, options: StoreFactoryOptions): Promise<unknown> {
  const { unit } = ctx.clock;
  const store = await ctx.store(options);
  const sid = ctx.sid();
  const start = ctx.clock.now();
  await ctx.call(store, 'set', sid, ctx.session({}, { expiresAt: start + 4 * unit }));
  await ctx.clock.advance(3 * unit);
  // touch() gets the session get() loaded, with whatever the store put in it (connect-mongo's touchAfter reads its lastModified).
  const loaded = await ctx.call<Record<string, unknown> | null>(store, 'get', sid);
  await ctx.call(store, 'touch', sid, { ...loaded, ...ctx.session({}, { expiresAt: start + 7 * unit }) });
  await ctx.clock.advance(2.5 * unit);
  return ctx.call(store, 'get', sid);
}
