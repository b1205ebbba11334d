import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import type { Store } from 'express-session';
import type { CaseContext, ConformanceCase, RawRecord } from '../types';

// These cases look at what the backend holds (the config's readRaw), where get() cannot tell: a record it would hide, an expiry it rounds.

const HOUR_MS = 60 * 60 * 1000;
const MARKER = 'stored-case-marker-7d2a';

async function recordOf(ctx: CaseContext, store: Store, sid: string): Promise<RawRecord | null> {
  return (await ctx.config.readRaw!(store, sid)) ?? null;
}

function describeRecord(record: RawRecord): string {
  const expiry = Number.isFinite(record.expiresAt) ? new Date(record.expiresAt).toISOString() : String(record.expiresAt);
  return `a record of ${String(record.payload).length} characters expiring at ${expiry}`;
}

function assertNoRecord(record: RawRecord | null, what: string): void {
  if (record !== null) assert.fail(`${what}: the backend holds ${describeRecord(record)}`);
}

/**
 * After the session at `sid` ended: no record, or, for a store that declares tombstones, a record
 * that is not the session's (`stored` was its payload, `marker` in its data).
 */
function assertSessionGone(ctx: CaseContext, record: RawRecord | null, stored: unknown, what: string): void {
  if (record === null) return;
  const tombstone = ctx.config.supports?.tombstones === true && !isDeepStrictEqual(record.payload, stored) && !JSON.stringify(record.payload ?? '').includes(MARKER);
  if (!tombstone) assert.fail(`${what}: the backend still holds the session, as ${describeRecord(record)}`);
}

function assertRecord(record: RawRecord | null, what: string): asserts record is RawRecord {
  assert.ok(record !== null, `${what}: the backend holds no record`);
}

function assertExpiry(record: RawRecord | null, expiresAt: number, what: string): asserts record is RawRecord {
  assertRecord(record, what);
  if (record.expiresAt !== expiresAt) assert.fail(`${what}: the stored expiry is ${record.expiresAt - expiresAt} ms off`);
}

export const storedCases: ConformanceCase[] = [
  {
    id: 'set-stores-the-cookie-expiry-exactly',
    group: 'expiry',
    level: 'recommended',
    needs: ['readRaw'],
    rule: 'set() of a session with cookie.expires stores that instant as its expiry, to the millisecond.',
    async run(ctx) {
      const store = await ctx.store();
      const sid = ctx.sid();
      const expiresAt = Math.floor(ctx.clock.now()) + HOUR_MS + 123;
      await ctx.call(store, 'set', sid, ctx.session({ user: 'ana' }, { expiresAt }));
      assertExpiry(await recordOf(ctx, store, sid), expiresAt, 'after set()');
    },
  },
  {
    id: 'set-stores-the-ttl-expiry-exactly',
    group: 'expiry',
    level: 'recommended',
    needs: ['readRaw', 'ttl', 'injectableClock'],
    rule: 'set() of a session without cookie.expires stores now + ttl as its expiry, to the millisecond.',
    async run(ctx) {
      const store = await ctx.store({ ttl: 90_500 });
      const sid = ctx.sid();
      await ctx.call(store, 'set', sid, ctx.session({ user: 'ana' }, { expiresAt: null }));
      assertExpiry(await recordOf(ctx, store, sid), ctx.clock.now() + 90_500, 'after set() with a ttl of 90.5 s');
    },
  },
  {
    id: 'set-of-an-expired-session-leaves-no-record',
    group: 'expiry',
    level: 'recommended',
    needs: ['readRaw'],
    rule: 'set() of a session whose cookie.expires is already past deletes the record of its sid (or, with tombstones, leaves one in its place), not only hides it.',
    async run(ctx) {
      const store = await ctx.store();
      const sid = ctx.sid();
      await ctx.call(store, 'set', sid, ctx.session({ user: MARKER }));
      const live = await recordOf(ctx, store, sid);
      assertRecord(live, 'after set() of a live session');
      await ctx.call(store, 'set', sid, ctx.session({ user: MARKER }, { expiresAt: ctx.clock.now() - 2 * ctx.clock.unit }));
      assertSessionGone(ctx, await recordOf(ctx, store, sid), live.payload, 'after set() of the session already expired');
    },
  },
  {
    id: 'touch-never-creates-a-missing-record',
    group: 'touch',
    level: 'recommended',
    needs: ['touch', 'readRaw'],
    rule: 'touch() of a sid that was never set leaves the backend holding no record for it, not even one get() would hide.',
    async run(ctx) {
      const store = await ctx.store();
      const sid = ctx.sid();
      await ctx.call(store, 'touch', sid, ctx.session({ user: 'ghost' }));
      assertNoRecord(await recordOf(ctx, store, sid), 'after touch() of a sid never set');
    },
  },
  {
    id: 'touch-moves-the-stored-expiry-and-nothing-else',
    group: 'touch',
    level: 'recommended',
    needs: ['touch', 'readRaw'],
    rule: 'touch() sets the stored expiry to the new cookie.expires, to the millisecond, and leaves the stored payload as set() wrote it.',
    async run(ctx) {
      const store = await ctx.store();
      const sid = ctx.sid();
      const start = Math.floor(ctx.clock.now());
      await ctx.call(store, 'set', sid, ctx.session({ version: 'new' }, { expiresAt: start + HOUR_MS }));
      const written = await recordOf(ctx, store, sid);
      assertRecord(written, 'after set()');
      const later = start + 2 * HOUR_MS + 7;
      await ctx.call(store, 'touch', sid, ctx.session({ version: 'stale' }, { expiresAt: later }));
      const touched = await recordOf(ctx, store, sid);
      assertExpiry(touched, later, 'after touch()');
      // Compared as they are, never printed: a payload is session data.
      if (!isDeepStrictEqual(touched.payload, written.payload)) assert.fail('touch() changed the stored payload');
    },
  },
  {
    id: 'touch-leaves-an-expired-record-alone',
    group: 'touch',
    level: 'recommended',
    needs: ['touch', 'readRaw', 'injectableClock'],
    rule: 'touch() of a session whose expiry has passed leaves its stored expiry where it was (or the record gone), never moved.',
    async run(ctx) {
      const { unit } = ctx.clock;
      const store = await ctx.store();
      const sid = ctx.sid();
      const expiresAt = Math.floor(ctx.clock.now()) + unit;
      await ctx.call(store, 'set', sid, ctx.session({ user: 'ana' }, { expiresAt }));
      await ctx.clock.advance(2 * unit);
      await ctx.call(store, 'touch', sid, ctx.session({ user: 'ana' }, { expiresAt: ctx.clock.now() + 10 * unit }));
      const record = await recordOf(ctx, store, sid);
      if (record !== null) assertExpiry(record, expiresAt, 'after touch() of the expired session');
    },
  },
  {
    id: 'destroy-leaves-no-record',
    group: 'basics',
    level: 'recommended',
    needs: ['readRaw'],
    rule: 'After destroy(), the backend holds no record of the session, not even one get() would hide (with tombstones: a tombstone without its data).',
    async run(ctx) {
      const store = await ctx.store();
      const sid = ctx.sid();
      await ctx.call(store, 'set', sid, ctx.session({ user: MARKER }));
      const live = await recordOf(ctx, store, sid);
      assertRecord(live, 'after set()');
      await ctx.call(store, 'destroy', sid);
      assertSessionGone(ctx, await recordOf(ctx, store, sid), live.payload, 'after destroy()');
    },
  },
];
