import assert from 'node:assert/strict';
import type { Store } from 'express-session';
import type { CaseContext, ConformanceCase } from '../types';
import { spawnFactoryChild } from './child';
import {
  assertMissing,
  assertNoProblems,
  assertSameSession,
  closeStore,
  entriesOfAll,
  holdsMarker,
  observeCallback,
  onceProblems,
  viaPromise,
} from './support';

type Invoke = (callback: (...args: unknown[]) => void) => unknown;

/** One callback-form call of every method the store has, on sessions that exist where it matters. */
async function everyMethod(ctx: CaseContext, store: Store, prepare: boolean): Promise<Array<[string, Invoke]>> {
  const [existing, missing, fresh] = [ctx.sid('existing'), ctx.sid('missing'), ctx.sid('fresh')];
  const stored = ctx.session({ user: 'ana' });
  if (prepare) await ctx.call(store, 'set', existing, stored);
  const s = store as unknown as Record<string, (...args: unknown[]) => unknown>;
  const calls: Array<[string, Invoke]> = [
    ['get() of a stored sid', (cb) => s.get!.call(store, existing, cb)],
    ['get() of a missing sid', (cb) => s.get!.call(store, missing, cb)],
    ['set()', (cb) => s.set!.call(store, fresh, stored, cb)],
    ['destroy()', (cb) => s.destroy!.call(store, fresh, cb)],
  ];
  if (ctx.methods.has('touch')) calls.push(['touch()', (cb) => s.touch!.call(store, existing, stored, cb)]);
  for (const method of ['all', 'ids', 'length', 'clear'] as const) {
    if (ctx.methods.has(method)) calls.push([`${method}()`, (cb) => s[method]!.call(store, cb)]);
  }
  return calls;
}

/**
 * The child: calls get, set, touch and destroy each with a callback that throws, absorbs exactly
 * that throw when it reaches the process, and prints how each callback was called, as JSON.
 */
const THROWING_CALLBACKS = `
(async () => {
  const { factory, dispose, teardown } = await loadFactory();
  const store = await factory({ namespace: process.env.CONFORMANCE_NAMESPACE });
  const thrown = new Error('thrown by the callback');
  const other = [];
  const absorb = (error) => void (error !== thrown && other.push(String(error && error.message || error)));
  process.on('uncaughtException', absorb);
  process.on('unhandledRejection', absorb);
  const sid = 'throwing-callback-' + process.pid;
  const session = { cookie: cookie(), n: 1 };
  await call(store, 'set', sid, session);
  const calls = {};
  const methods = [['get', [sid]], ['set', [sid, session]], ['touch', [sid, session]], ['destroy', [sid]]];
  for (const [method, args] of methods) {
    if (typeof store[method] !== 'function') continue;
    const seen = (calls[method + '()'] = []);
    try {
      store[method](...args, (error) => {
        seen.push(error === thrown ? 'its own error' : error ? 'an error' : 'no error');
        throw thrown;
      });
    } catch (error) {
      if (error !== thrown) seen.push('a synchronous throw');
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  process.stdout.write(JSON.stringify({ calls, other }) + '\\n');
  await dispose(store);
  if (teardown) await teardown();
  process.exit(0);
})().catch((error) => {
  process.stderr.write(String(error && error.stack || error) + '\\n');
  process.exit(1);
});
`;

async function storeForBulk(ctx: CaseContext): Promise<Store> {
  return ctx.config.supports?.namespaces ? ctx.isolatedStore() : ctx.store();
}

export const callbackCases: ConformanceCase[] = [
  {
    id: 'callbacks-are-called-exactly-once',
    group: 'callbacks',
    level: 'required',
    needs: [],
    rule: 'get, set, touch, destroy, all, ids, length and clear each call their callback exactly once.',
    async run(ctx) {
      const store = await storeForBulk(ctx);
      const problems: string[] = [];
      for (const [label, invoke] of await everyMethod(ctx, store, true)) {
        problems.push(...onceProblems(label, await observeCallback(invoke)));
      }
      assertNoProblems(problems);
    },
  },
  {
    id: 'callbacks-are-asynchronous',
    group: 'callbacks',
    level: 'recommended',
    needs: [],
    rule: 'Every callback is called after the method has returned, never from inside the caller’s stack.',
    async run(ctx) {
      const store = await storeForBulk(ctx);
      const problems: string[] = [];
      for (const [label, invoke] of await everyMethod(ctx, store, true)) {
        const observed = await observeCallback(invoke);
        if (observed.synchronous) problems.push(`${label} called back synchronously`);
      }
      assertNoProblems(problems);
    },
  },
  {
    id: 'callbacks-after-close-are-called-once-asynchronously',
    group: 'callbacks',
    level: 'recommended',
    needs: ['close'],
    rule: 'After close(), every method still calls its callback exactly once and asynchronously, leaving no unhandled rejection.',
    async run(ctx) {
      const store = await storeForBulk(ctx);
      const calls = await everyMethod(ctx, store, true);
      await closeStore(store);
      const problems: string[] = [];
      for (const [label, invoke] of calls) {
        const observed = await observeCallback(invoke);
        problems.push(...onceProblems(label, observed));
        if (observed.synchronous) problems.push(`${label} called back synchronously`);
      }
      assertNoProblems(problems);
    },
  },
  {
    id: 'a-callback-that-throws-is-not-called-again',
    group: 'callbacks',
    level: 'required',
    needs: ['factoryModule'],
    rule: "When express-session's callback throws, get, set, touch and destroy never call it a second time (with that error or any other): the throw is the app's, not the store's.",
    async run(ctx) {
      const child = spawnFactoryChild(ctx.config.factoryModule!, ctx.freshNamespace(), THROWING_CALLBACKS);
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      // A child that hangs is killed before the case's own deadline, so none outlives the run.
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve)).finally(() => clearTimeout(timer));
      // The counts are printed before the store is released: how releasing it goes is close-lets-the-process-exit's to judge.
      const line = stdout.trim().split('\n').find((text) => text.startsWith('{')) ?? '';
      assert.ok(line, `the child exited with ${code} before it had called every method: ${stderr.slice(0, 500)}`);
      const { calls } = JSON.parse(line) as { calls: Record<string, string[]> };
      const problems = Object.entries(calls)
        .filter(([, seen]) => seen.length !== 1)
        .map(([label, seen]) => `${label} called its throwing callback ${seen.length} times (${seen.join(', then ') || 'never'})`);
      assertNoProblems(problems);
    },
  },
  {
    id: 'promise-form-without-callback',
    group: 'callbacks',
    level: 'recommended',
    needs: [],
    rule: 'Every method called without a callback returns a promise of its result.',
    async run(ctx) {
      const store = await storeForBulk(ctx);
      const sid = ctx.sid();
      const stored = ctx.session({ user: 'ana', marker: sid });
      await viaPromise(store, 'set', sid, stored);
      assertSameSession(await viaPromise(store, 'get', sid), stored, 'get() as a promise');
      if (ctx.methods.has('touch')) await viaPromise(store, 'touch', sid, stored);
      if (ctx.methods.has('all')) assert.ok(holdsMarker(entriesOfAll(await viaPromise(store, 'all')), sid), 'all() as a promise');
      if (ctx.methods.has('ids')) {
        const ids = await viaPromise(store, 'ids');
        // With hashed ids a listing names storage ids, which the at-rest cases check.
        assert.ok(Array.isArray(ids) && (ctx.config.supports?.hashedIds || ids.includes(sid)), 'ids() as a promise');
      }
      if (ctx.methods.has('length')) assert.equal(typeof (await viaPromise(store, 'length')), 'number', 'length() as a promise');
      await viaPromise(store, 'destroy', sid);
      assertMissing(await viaPromise(store, 'get', sid), 'get() as a promise after destroy()');
      if (ctx.methods.has('clear')) await viaPromise(store, 'clear');
      if (ctx.methods.has('prune')) assert.equal(typeof (await viaPromise(store, 'prune')), 'number', 'prune() as a promise');
    },
  },
];
