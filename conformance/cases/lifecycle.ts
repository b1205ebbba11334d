import assert from 'node:assert/strict';
import { createHook } from 'node:async_hooks';
import type { Store } from 'express-session';
import type { ConformanceCase } from '../types';
import { spawnFactoryChild } from './child';
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
 * The child: loads the factory module as the runner does, uses a store as express-session would,
 * releases it as the runner does, runs the module's teardown, and must then exit on its own.
 */
const EXIT_CHECK = `
(async () => {
  const { factory, dispose, teardown } = await loadFactory();
  const store = await factory({ namespace: process.env.CONFORMANCE_NAMESPACE });
  const sid = 'exit-check';
  await call(store, 'set', sid, { cookie: cookie(), n: 1 });
  await call(store, 'get', sid);
  await call(store, 'destroy', sid);
  await dispose(store);
  if (teardown) await teardown();
  process.stdout.write('closed\\n');
})().catch((error) => {
  process.stderr.write(String(error && error.stack || error) + '\\n');
  process.exitCode = 1;
});
`;

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
    rule: "A process that loads the factory module, makes a store, uses it, releases it (the module's disposeStore, else close() when there is one) and runs the module's teardown exits on its own.",
    async run(ctx) {
      const child = spawnFactoryChild(ctx.config.factoryModule!, ctx.freshNamespace(), EXIT_CHECK);
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
