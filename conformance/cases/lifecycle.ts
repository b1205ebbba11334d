import assert from 'node:assert/strict';
import { createHook } from 'node:async_hooks';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Store } from 'express-session';
import type { ConformanceCase } from '../types';
import { closeStore, sleep } from './support';

/**
 * Watches the async resources created from now until `freeze()` and tells which of them still keep
 * the process alive (live and ref'd), so resources made before, or after by the check itself, do not count.
 */
function watchResources(): { freeze(): void; keepingAlive(): string[]; stop(): void } {
  const live = new Map<number, { type: string; resource: unknown }>();
  let recording = true;
  const hook = createHook({
    init: (id, type, _trigger, resource) => void (recording && live.set(id, { type, resource })),
    destroy: (id) => void live.delete(id),
  }).enable();
  return {
    freeze: () => void (recording = false),
    keepingAlive: () =>
      [...live.values()]
        .filter(({ resource }) => {
          const hasRef = (resource as { hasRef?: unknown } | null)?.hasRef;
          return typeof hasRef === 'function' && hasRef.call(resource) === true;
        })
        .map(({ type }) => type),
    stop: () => void hook.disable(),
  };
}

/** How long the child may live after close() resolved before it counts as kept alive. */
const EXIT_GRACE_MS = 3000;
const CHILD_DEADLINE_MS = 15_000;

/**
 * The child: loads the factory module, uses a store as express-session would, closes it if it can,
 * runs the module's teardown, and must then exit on its own.
 */
const CHILD_SCRIPT = `
const mod = require(process.env.CONFORMANCE_FACTORY_MODULE);
const pick = (m) => m && (m.createStore || m.makeStore || (typeof m.default === 'function' ? m.default : undefined));
const factory = pick(mod) || pick(mod.default);
const teardown = mod.teardown || (mod.default && mod.default.teardown);
const call = (store, method, ...args) => new Promise((resolve, reject) => {
  const returned = store[method](...args, (error, result) => (error ? reject(error) : resolve(result)));
  if (returned && typeof returned.then === 'function') returned.then(resolve, reject);
  else if (method === 'close' && store.close.length === 0) resolve();
});
const cookie = () => {
  const expires = new Date(Date.now() + 60000);
  if (!process.env.CONFORMANCE_COOKIE_MODULE) return { originalMaxAge: 60000, expires, httpOnly: true, path: '/' };
  const Cookie = require(process.env.CONFORMANCE_COOKIE_MODULE);
  const made = new Cookie({ httpOnly: true, path: '/' });
  made.expires = expires;
  return made;
};
(async () => {
  if (typeof factory !== 'function') throw new Error('the module exports no createStore, makeStore or default function');
  const store = await factory({ namespace: process.env.CONFORMANCE_NAMESPACE });
  const sid = 'exit-check';
  await call(store, 'set', sid, { cookie: cookie(), n: 1 });
  await call(store, 'get', sid);
  await call(store, 'destroy', sid);
  if (typeof store.close === 'function') await call(store, 'close');
  if (typeof teardown === 'function') await teardown();
  process.stdout.write('closed\\n');
})().catch((error) => {
  process.stderr.write(String(error && error.stack || error) + '\\n');
  process.exitCode = 1;
});
`;

/** Where express-session's Cookie is, for the child; empty when it cannot be found. */
function cookieModule(): string {
  try {
    return require.resolve('express-session/session/cookie');
  } catch {
    return '';
  }
}

function childArguments(modulePath: string): string[] {
  if (!/\.[cm]?tsx?$/.test(modulePath)) return [];
  try {
    return ['--import', pathToFileURL(require.resolve('tsx')).href];
  } catch {
    throw new Error(`loading ${modulePath} needs tsx, which is not installed`);
  }
}

export const lifecycleCases: ConformanceCase[] = [
  {
    id: 'store-is-an-express-session-store',
    group: 'lifecycle',
    level: 'required',
    needs: [],
    rule: 'The store is an EventEmitter with express-session’s Store methods (regenerate, load, createSession), as express-session calls them.',
    async run(ctx) {
      const store = (await ctx.store()) as unknown as Record<string, unknown>;
      for (const method of ['on', 'emit', 'regenerate', 'load', 'createSession', 'get', 'set', 'destroy']) {
        assert.equal(typeof store[method], 'function', `the store has no ${method}() method`);
      }
    },
  },
  {
    id: 'close-resolves-and-is-idempotent',
    group: 'lifecycle',
    level: 'recommended',
    needs: ['close'],
    rule: 'close() finishes without an error, and a second close() does too.',
    async run(ctx) {
      const store = await ctx.store();
      await ctx.call(store, 'set', ctx.sid(), ctx.session());
      await closeStore(store);
      await closeStore(store);
    },
  },
  {
    id: 'close-releases-every-handle',
    group: 'lifecycle',
    level: 'recommended',
    needs: ['close'],
    rule: 'After close(), the store holds no active timer, socket or other handle that would keep the process alive.',
    async run(ctx) {
      const resources = watchResources();
      try {
        const store: Store = await ctx.store();
        const sid = ctx.sid();
        await ctx.call(store, 'set', sid, ctx.session());
        await ctx.call(store, 'get', sid);
        await ctx.call(store, 'destroy', sid);
        await closeStore(store);
        resources.freeze();
        let kept = resources.keepingAlive();
        for (let waited = 0; kept.length > 0 && waited < 2000; waited += 50) {
          await sleep(50);
          kept = resources.keepingAlive();
        }
        assert.deepEqual(kept, [], `after close() the store still holds ${kept.join(', ')}`);
      } finally {
        resources.stop();
      }
    },
  },
  {
    id: 'close-lets-the-process-exit',
    group: 'lifecycle',
    level: 'recommended',
    needs: ['factoryModule'],
    rule: 'A process that makes a store, uses it, closes it if it can and releases what it handed the store exits on its own.',
    async run(ctx) {
      const modulePath = path.resolve(ctx.config.factoryModule!);
      const child = spawn(process.execPath, [...childArguments(modulePath), '-e', CHILD_SCRIPT], {
        env: {
          ...process.env,
          CONFORMANCE_FACTORY_MODULE: modulePath,
          CONFORMANCE_NAMESPACE: ctx.freshNamespace(),
          CONFORMANCE_COOKIE_MODULE: cookieModule(),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      let closedAt: number | undefined;
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (closedAt === undefined && stdout.includes('closed')) closedAt = Date.now();
      });
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      const started = Date.now();
      let code: number | null | undefined;
      while (code === undefined) {
        code = await Promise.race([exited, sleep(50).then(() => undefined)]);
        const now = Date.now();
        const kept = closedAt !== undefined && now - closedAt > EXIT_GRACE_MS;
        if (code === undefined && (kept || now - started > CHILD_DEADLINE_MS)) {
          child.kill('SIGKILL');
          await exited;
          assert.fail(
            kept
              ? `the process was still alive ${EXIT_GRACE_MS} ms after the store was closed and its module's teardown ran`
              : `the child did not finish within ${CHILD_DEADLINE_MS} ms (stderr: ${stderr.slice(0, 300)})`,
          );
        }
      }
      assert.equal(code, 0, `the child exited with ${code}: ${stderr.slice(0, 500)}`);
      assert.ok(closedAt !== undefined, 'the child exited before it had closed the store');
    },
  },
];
