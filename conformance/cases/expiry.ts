import assert from 'node:assert/strict';
import type { SessionData, Store } from 'express-session';
import { isThenable } from '../store-calls';
import type { CaseContext, ConformanceCase } from '../types';
import { assertMissing, assertPresent, entriesOfAll, holdsMarker, preview } from './support';

// Each session is looked at 1.5 units or more from its expiry (see SuiteClock.unit), except in the two precision cases.

/** How late a wall-clock probe of the sub-second case may start and still be judged: well inside the 0.1 s it has to spare. */
const PROBE_SLACK_MS = 50;

async function storeForBulk(ctx: CaseContext): Promise<Store> {
  return ctx.config.supports?.namespaces ? ctx.isolatedStore() : ctx.store();
}

/** Calls prune() as the store defines it: with a callback, as a promise, or synchronously when it takes neither. */
async function prune(ctx: CaseContext, store: Store): Promise<{ counted: boolean; removed?: unknown }> {
  const fn = (store as unknown as { prune: (...args: unknown[]) => unknown }).prune;
  if (fn.length > 0) return { counted: true, removed: await ctx.call(store, 'prune') };
  const returned = fn.call(store);
  return isThenable(returned) ? { counted: true, removed: await returned } : { counted: false };
}

export const expiryCases: ConformanceCase[] = [
  {
    id: 'set-of-an-expired-session-deletes-it',
    group: 'expiry',
    level: 'required',
    needs: [],
    rule: 'set() of a session whose cookie.expires is already past removes the stored session instead of keeping it.',
    async run(ctx) {
      const store = await ctx.store();
      const sid = ctx.sid();
      await ctx.call(store, 'set', sid, ctx.session({ user: 'ana' }));
      await ctx.call(store, 'set', sid, ctx.session({ user: 'ana' }, { expiresAt: ctx.clock.now() - 2 * ctx.clock.unit }));
      assertMissing(await ctx.call(store, 'get', sid), 'get() after set() of an expired session');
    },
  },
  {
    id: 'expired-session-not-returned-by-get',
    group: 'expiry',
    level: 'required',
    needs: [],
    waits: true,
    rule: 'Once now reaches cookie.expires, get() calls back no session, even if the backend still holds the record.',
    async run(ctx) {
      const { unit } = ctx.clock;
      const store = await ctx.store();
      const sid = ctx.sid();
      await ctx.call(store, 'set', sid, ctx.session({ user: 'ana' }, { expiresAt: ctx.clock.now() + 2 * unit }));
      await ctx.clock.advance(0.5 * unit);
      assertPresent(await ctx.call(store, 'get', sid), 'get() before cookie.expires');
      await ctx.clock.advance(3 * unit);
      assertMissing(await ctx.call(store, 'get', sid), 'get() after cookie.expires');
    },
  },
  {
    id: 'expiry-is-exact-to-the-millisecond',
    group: 'expiry',
    level: 'recommended',
    needs: ['injectableClock'],
    waits: true,
    rule: 'A session is returned until the millisecond before its expiry and not at its expiry: expiry is never rounded to seconds.',
    async run(ctx) {
      const store = await ctx.store();
      const sid = ctx.sid();
      await ctx.call(store, 'set', sid, ctx.session({}, { expiresAt: ctx.clock.now() + 90_500 }));
      await ctx.clock.advance(90_499);
      assertPresent(await ctx.call(store, 'get', sid), 'get() 1 ms before expiry');
      await ctx.clock.advance(1);
      assertMissing(await ctx.call(store, 'get', sid), 'get() at the instant of expiry');
    },
  },
  {
    id: 'expiry-is-sub-second-on-the-wall-clock',
    group: 'expiry',
    level: 'recommended',
    needs: ['realClock'],
    waits: true,
    rule: 'On the wall clock, a session expiring half-way through a second is returned 0.4 s before its expiry and gone 0.4 s after it: expiry is not rounded to whole seconds.',
    async run(ctx) {
      const store = await ctx.store();
      const sid = ctx.sid();
      // Set on a whole second with 1.5 s to live, so rounding to seconds up, down or from now misses by 0.5 s.
      await ctx.clock.advance(1000 - (ctx.clock.now() % 1000));
      const expiresAt = ctx.clock.now() + 1500;
      await ctx.call(store, 'set', sid, ctx.session({}, { expiresAt }));
      // Each probe is timed from the expiry, not from when set() returned: a probe that starts late looks nearer a whole
      // second than planned, and one 0.1 s late after expiry would see a store that rounds up as correct.
      const probe = async (offsetMs: number, what: string) => {
        await ctx.clock.advance(Math.max(0, expiresAt + offsetMs - ctx.clock.now()));
        const lateMs = ctx.clock.now() - (expiresAt + offsetMs);
        if (lateMs > PROBE_SLACK_MS) return ctx.skip(`the machine was too slow to judge it: the get() ${what} started ${lateMs} ms late`);
        return ctx.call(store, 'get', sid);
      };
      assertPresent(await probe(-400, '0.4 s before expiry'), 'get() 0.4 s before expiry');
      assertMissing(await probe(400, '0.4 s after expiry'), 'get() 0.4 s after expiry');
    },
  },
  {
    id: 'ttl-applies-to-cookies-without-expires',
    group: 'expiry',
    level: 'required',
    needs: ['ttl'],
    waits: true,
    rule: 'A session whose cookie has no expires lives for the store’s ttl, then is gone.',
    async run(ctx) {
      const { unit } = ctx.clock;
      const store = await ctx.store({ ttl: 2 * unit });
      const sid = ctx.sid();
      await ctx.call(store, 'set', sid, ctx.session({}, { expiresAt: null }));
      await ctx.clock.advance(0.5 * unit);
      assertPresent(await ctx.call(store, 'get', sid), 'get() within ttl');
      await ctx.clock.advance(3 * unit);
      assertMissing(await ctx.call(store, 'get', sid), 'get() after ttl');
    },
  },
  {
    id: 'cookie-expires-wins-over-a-shorter-ttl',
    group: 'expiry',
    level: 'required',
    needs: ['ttl'],
    waits: true,
    rule: 'A cookie.expires later than now + ttl keeps the session alive past the ttl.',
    async run(ctx) {
      const { unit } = ctx.clock;
      const store = await ctx.store({ ttl: unit });
      const sid = ctx.sid();
      await ctx.call(store, 'set', sid, ctx.session({}, { expiresAt: ctx.clock.now() + 4 * unit }));
      await ctx.clock.advance(2.5 * unit);
      assertPresent(await ctx.call(store, 'get', sid), 'get() after ttl but before cookie.expires');
    },
  },
  {
    id: 'cookie-expires-wins-over-a-longer-ttl',
    group: 'expiry',
    level: 'required',
    needs: ['ttl'],
    waits: true,
    rule: 'A cookie.expires earlier than now + ttl ends the session at cookie.expires.',
    async run(ctx) {
      const { unit } = ctx.clock;
      const store = await ctx.store({ ttl: 10 * unit });
      const sid = ctx.sid();
      await ctx.call(store, 'set', sid, ctx.session({}, { expiresAt: ctx.clock.now() + unit }));
      await ctx.clock.advance(2.5 * unit);
      assertMissing(await ctx.call(store, 'get', sid), 'get() after cookie.expires but within ttl');
    },
  },
  {
    id: 'ttl-function-wins-over-cookie-expires',
    group: 'expiry',
    level: 'required',
    needs: ['ttlFunction'],
    waits: true,
    rule: 'A ttl function, called with (session, sid), decides the lifetime even when cookie.expires says otherwise.',
    async run(ctx) {
      const { unit } = ctx.clock;
      const calls: Array<[unknown, unknown]> = [];
      const ttl = (session: SessionData, sid: string): number => {
        calls.push([session, sid]);
        return (session as unknown as { long?: boolean }).long ? 4 * unit : unit;
      };
      const store = await ctx.store({ ttl });
      const [long, short] = [ctx.sid('long'), ctx.sid('short')];
      await ctx.call(store, 'set', long, ctx.session({ long: true }, { expiresAt: ctx.clock.now() + unit }));
      await ctx.call(store, 'set', short, ctx.session({ long: false }, { expiresAt: ctx.clock.now() + 6 * unit }));
      assert.ok(
        calls.some(([session, sid]) => sid === long && (session as { long?: boolean } | null)?.long === true),
        `the ttl function was not called with (session, sid); calls: ${preview(calls.map(([, sid]) => sid))}`,
      );
      await ctx.clock.advance(2.5 * unit);
      assertPresent(await ctx.call(store, 'get', long), 'get() of a session the ttl function keeps longer than its cookie');
      assertMissing(await ctx.call(store, 'get', short), 'get() of a session the ttl function ends before its cookie');
    },
  },
  {
    id: 'expired-sessions-not-in-all',
    group: 'expiry',
    level: 'required',
    needs: ['all'],
    waits: true,
    rule: 'all() leaves out sessions whose expiry has passed.',
    async run(ctx) {
      const { unit } = ctx.clock;
      const store = await storeForBulk(ctx);
      const [live, expiring] = [ctx.sid('live'), ctx.sid('expiring')];
      await ctx.call(store, 'set', live, ctx.session({ marker: live }));
      await ctx.call(store, 'set', expiring, ctx.session({ marker: expiring }, { expiresAt: ctx.clock.now() + 2 * unit }));
      await ctx.clock.advance(3.5 * unit);
      const entries = entriesOfAll(await ctx.call(store, 'all'));
      assert.ok(holdsMarker(entries, live), 'all() lost a live session');
      assert.ok(!holdsMarker(entries, expiring), 'all() returned an expired session');
    },
  },
  {
    id: 'expired-sessions-not-in-ids',
    group: 'expiry',
    level: 'recommended',
    needs: ['ids', 'sessionIdListings'],
    waits: true,
    rule: 'ids() leaves out sessions whose expiry has passed.',
    async run(ctx) {
      const { unit } = ctx.clock;
      const store = await storeForBulk(ctx);
      const [live, expiring] = [ctx.sid('live'), ctx.sid('expiring')];
      await ctx.call(store, 'set', live, ctx.session());
      await ctx.call(store, 'set', expiring, ctx.session({}, { expiresAt: ctx.clock.now() + 2 * unit }));
      await ctx.clock.advance(3.5 * unit);
      const ids = await ctx.call<string[]>(store, 'ids');
      assert.ok(Array.isArray(ids), `ids() called back ${preview(ids)}`);
      assert.ok(ids.includes(live), 'ids() lost a live session');
      assert.ok(!ids.includes(expiring), 'ids() returned an expired session');
    },
  },
  {
    id: 'expired-sessions-not-counted-by-length',
    group: 'expiry',
    level: 'required',
    needs: ['length'],
    waits: true,
    rule: 'length() does not count sessions whose expiry has passed.',
    async run(ctx) {
      const { unit } = ctx.clock;
      const store = await storeForBulk(ctx);
      const before = await ctx.call<number>(store, 'length');
      await ctx.call(store, 'set', ctx.sid('live'), ctx.session());
      await ctx.call(store, 'set', ctx.sid('expiring'), ctx.session({}, { expiresAt: ctx.clock.now() + 2 * unit }));
      assert.equal(await ctx.call(store, 'length'), before + 2, 'length() before expiry');
      await ctx.clock.advance(3.5 * unit);
      assert.equal(await ctx.call(store, 'length'), before + 1, 'length() counts an expired session');
    },
  },
  {
    id: 'prune-keeps-live-sessions',
    group: 'expiry',
    level: 'recommended',
    needs: ['prune'],
    waits: true,
    rule: 'prune() removes nothing live and expired sessions stay invisible afterwards; when it calls back or resolves, it gives the number of sessions removed.',
    async run(ctx) {
      const { unit } = ctx.clock;
      const store = await storeForBulk(ctx);
      const [live, expiring] = [ctx.sid('live'), ctx.sid('expiring')];
      await ctx.call(store, 'set', live, ctx.session({ user: 'ana' }));
      await ctx.call(store, 'set', expiring, ctx.session({}, { expiresAt: ctx.clock.now() + 2 * unit }));
      await ctx.clock.advance(3.5 * unit);
      const { counted, removed } = await prune(ctx, store);
      if (counted) assert.ok(typeof removed === 'number' && removed >= 0, `prune() gave ${preview(removed)}, not a count`);
      assertPresent(await ctx.call(store, 'get', live), 'get() of a live session after prune()');
      assertMissing(await ctx.call(store, 'get', expiring), 'get() of an expired session after prune()');
    },
  },
];
