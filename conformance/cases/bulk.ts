import assert from 'node:assert/strict';
import type { Store } from 'express-session';
import type { CaseContext, ConformanceCase } from '../types';
import { assertMissing, assertSameSession, entriesOfAll, holdsMarker, preview } from './support';

/** A store whose namespace holds nothing else when namespaces are supported; the run's store otherwise. */
async function ownStore(ctx: CaseContext): Promise<{ store: Store; exact: boolean }> {
  if (ctx.config.supports?.namespaces) return { store: await ctx.isolatedStore(), exact: true };
  return { store: await ctx.store(), exact: false };
}

function assertPlainObject(value: unknown, what: string): asserts value is Record<string, unknown> {
  assert.ok(
    value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Map),
    `${what} called back ${preview(value)}, not an object keyed by sid`,
  );
}

/**
 * Two stores in different namespaces, each holding one session under the same sid and one of its
 * own; every session carries a marker of its own, so it can be found in all() of either shape.
 */
async function twoNamespaces(ctx: CaseContext) {
  const [first, second] = [await ctx.isolatedStore(), await ctx.isolatedStore()];
  const shared = ctx.sid('shared');
  const [onlyFirst, onlySecond] = [ctx.sid('first'), ctx.sid('second')];
  const markers = { shared: ctx.sid('mark'), onlyFirst: ctx.sid('mark'), sharedInSecond: ctx.sid('mark'), onlySecond: ctx.sid('mark') };
  const sessions = {
    first: ctx.session({ owner: 'first', marker: markers.shared }),
    onlyFirst: ctx.session({ owner: 'first', marker: markers.onlyFirst }),
    second: ctx.session({ owner: 'second', marker: markers.sharedInSecond }),
    onlySecond: ctx.session({ owner: 'second', marker: markers.onlySecond }),
  };
  await ctx.call(first, 'set', shared, sessions.first);
  await ctx.call(first, 'set', onlyFirst, sessions.onlyFirst);
  await ctx.call(second, 'set', shared, sessions.second);
  await ctx.call(second, 'set', onlySecond, sessions.onlySecond);
  return { first, second, shared, onlyFirst, onlySecond, sessions, markers };
}

export const bulkCases: ConformanceCase[] = [
  {
    id: 'all-returns-sessions-keyed-by-sid',
    group: 'bulk',
    level: 'recommended',
    needs: ['all', 'sessionIdListings'],
    rule: 'all() calls back a plain object mapping each sid to its session, like express-session’s MemoryStore.',
    async run(ctx) {
      const { store, exact } = await ownStore(ctx);
      if (exact) assert.deepEqual(Object.keys((await ctx.call(store, 'all')) as object), [], 'all() of an empty store');
      const [a, b] = [ctx.sid('a'), ctx.sid('b')];
      const sessions = { [a]: ctx.session({ who: 'a', nested: { n: 1 } }), [b]: ctx.session({ who: 'b' }) };
      await ctx.call(store, 'set', a, sessions[a]);
      await ctx.call(store, 'set', b, sessions[b]);
      const all = await ctx.call(store, 'all');
      assertPlainObject(all, 'all()');
      if (exact) assert.deepEqual(Object.keys(all).sort(), [a, b].sort(), 'all() keys');
      assertSameSession(all[a], sessions[a], `all()[${a}]`);
      assertSameSession(all[b], sessions[b], `all()[${b}]`);
    },
  },
  {
    id: 'ids-returns-an-array-of-sids',
    group: 'bulk',
    level: 'recommended',
    needs: ['ids', 'sessionIdListings'],
    rule: 'ids() calls back an array holding the sid of every live session.',
    async run(ctx) {
      const { store, exact } = await ownStore(ctx);
      if (exact) assert.deepEqual(await ctx.call(store, 'ids'), [], 'ids() of an empty store');
      const [a, b] = [ctx.sid('a'), ctx.sid('b')];
      await ctx.call(store, 'set', a, ctx.session());
      await ctx.call(store, 'set', b, ctx.session());
      const ids = await ctx.call<string[]>(store, 'ids');
      assert.ok(Array.isArray(ids), `ids() called back ${preview(ids)}, not an array`);
      if (exact) assert.deepEqual([...ids].sort(), [a, b].sort(), 'ids()');
      else assert.ok(ids.includes(a) && ids.includes(b), 'ids() lost a session');
    },
  },
  {
    id: 'length-counts-live-sessions',
    group: 'bulk',
    level: 'required',
    needs: ['length'],
    rule: 'length() calls back a number that grows with set() of a new sid and shrinks with destroy().',
    async run(ctx) {
      const { store, exact } = await ownStore(ctx);
      const before = await ctx.call<number>(store, 'length');
      assert.equal(typeof before, 'number', `length() called back ${preview(before)}, not a number`);
      if (exact) assert.equal(before, 0, 'length() of an empty store');
      const [a, b] = [ctx.sid('a'), ctx.sid('b')];
      await ctx.call(store, 'set', a, ctx.session());
      await ctx.call(store, 'set', b, ctx.session());
      await ctx.call(store, 'set', b, ctx.session({ again: true }));
      assert.equal(await ctx.call(store, 'length'), before + 2, 'length() after two new sessions');
      await ctx.call(store, 'destroy', a);
      assert.equal(await ctx.call(store, 'length'), before + 1, 'length() after destroy()');
    },
  },
  {
    id: 'clear-removes-every-session',
    group: 'bulk',
    level: 'required',
    needs: ['clear'],
    rule: 'After clear(), no session of the store is returned by get(), all() or length().',
    async run(ctx) {
      const { store } = await ownStore(ctx);
      const [a, b] = [ctx.sid('a'), ctx.sid('b')];
      await ctx.call(store, 'set', a, ctx.session({ marker: a }));
      await ctx.call(store, 'set', b, ctx.session({ marker: b }));
      await ctx.call(store, 'clear');
      assertMissing(await ctx.call(store, 'get', a), 'get() after clear()');
      assertMissing(await ctx.call(store, 'get', b), 'get() after clear()');
      if (ctx.methods.has('length')) assert.equal(await ctx.call(store, 'length'), 0, 'length() after clear()');
      if (ctx.methods.has('all')) {
        const entries = entriesOfAll(await ctx.call(store, 'all'));
        assert.ok(!holdsMarker(entries, a) && !holdsMarker(entries, b), 'all() after clear() still returns a cleared session');
        assert.equal(entries.length, 0, `all() after clear() returned ${preview(entries)}`);
      }
    },
  },
  {
    id: 'namespaces-isolate-get-set-destroy',
    group: 'namespaces',
    level: 'required',
    needs: ['namespaces'],
    rule: 'Two stores in different namespaces keep separate sessions under the same sid; destroy() in one leaves the other.',
    async run(ctx) {
      const { first, second, shared, sessions } = await twoNamespaces(ctx);
      assertSameSession(await ctx.call(first, 'get', shared), sessions.first, 'the first namespace');
      assertSameSession(await ctx.call(second, 'get', shared), sessions.second, 'the second namespace');
      await ctx.call(first, 'destroy', shared);
      assertMissing(await ctx.call(first, 'get', shared), 'get() after destroy() in the first namespace');
      assertSameSession(await ctx.call(second, 'get', shared), sessions.second, 'the second namespace after destroy() in the first');
    },
  },
  {
    id: 'namespaces-isolate-all',
    group: 'namespaces',
    level: 'required',
    needs: ['namespaces', 'all'],
    rule: 'all() returns only the sessions of the store’s own namespace.',
    async run(ctx) {
      const { first, markers } = await twoNamespaces(ctx);
      const entries = entriesOfAll(await ctx.call(first, 'all'));
      assert.ok(holdsMarker(entries, markers.shared) && holdsMarker(entries, markers.onlyFirst), 'all() lost a session of its own namespace');
      assert.ok(
        !holdsMarker(entries, markers.sharedInSecond) && !holdsMarker(entries, markers.onlySecond),
        'all() returned a session of the other namespace',
      );
      assert.equal(entries.length, 2, `all() returned ${entries.length} entries for the 2 sessions of its namespace`);
    },
  },
  {
    id: 'namespaces-isolate-ids',
    group: 'namespaces',
    level: 'recommended',
    needs: ['namespaces', 'ids', 'sessionIdListings'],
    rule: 'ids() returns only the sids of the store’s own namespace.',
    async run(ctx) {
      const { first, shared, onlyFirst } = await twoNamespaces(ctx);
      const ids = await ctx.call<string[]>(first, 'ids');
      assert.ok(Array.isArray(ids), `ids() called back ${preview(ids)}`);
      assert.deepEqual([...ids].sort(), [shared, onlyFirst].sort(), 'ids()');
    },
  },
  {
    id: 'namespaces-isolate-length',
    group: 'namespaces',
    level: 'required',
    needs: ['namespaces', 'length'],
    rule: 'length() counts only the sessions of the store’s own namespace.',
    async run(ctx) {
      const { first, second, onlySecond } = await twoNamespaces(ctx);
      await ctx.call(second, 'set', `${onlySecond}-more`, ctx.session());
      assert.equal(await ctx.call(first, 'length'), 2, 'length() of the first namespace');
      assert.equal(await ctx.call(second, 'length'), 3, 'length() of the second namespace');
    },
  },
  {
    id: 'namespaces-isolate-clear',
    group: 'namespaces',
    level: 'required',
    needs: ['namespaces', 'clear'],
    rule: 'clear() deletes the sessions of the store’s own namespace and nothing in another.',
    async run(ctx) {
      const { first, second, shared, onlySecond, sessions } = await twoNamespaces(ctx);
      await ctx.call(first, 'clear');
      assertMissing(await ctx.call(first, 'get', shared), 'get() in the cleared namespace');
      assertSameSession(await ctx.call(second, 'get', shared), sessions.second, 'the other namespace after clear()');
      assertSameSession(await ctx.call(second, 'get', onlySecond), sessions.onlySecond, 'the other namespace after clear()');
    },
  },
];
