import assert from 'node:assert/strict';
import type { Store } from 'express-session';
import { isError } from '../describe-error';
import type { CaseContext, ConformanceCase } from '../types';
import { assertNoProblems, entriesOfAll, holdsMarker, observeCallback, onceProblems, preview, type CallbackObservation } from './support';

const SECRET = 'TOPSECRET-c0ffee';

/** Stored forms that are not a session; each carries a secret that must never reach an error. */
const CORRUPT_PAYLOADS: Array<[string, string]> = [
  ['truncated JSON', `{"cookie":{"path":"/"},"token":"${SECRET}"`],
  ['not JSON at all', `<${SECRET}>`],
  ['a JSON string', JSON.stringify(SECRET)],
  ['JSON null', 'null'],
  ['a JSON array', `["${SECRET}"]`],
  ['an object without a cookie', `{"token":"${SECRET}"}`],
];

async function writeCorrupt(ctx: CaseContext, store: Store, text: string): Promise<string> {
  const sid = ctx.sid('corrupt');
  await ctx.config.writeRaw!(store, sid, text);
  return sid;
}

/** Writes each corrupt payload under a sid of its own and reads it back through get()'s callback. */
async function readEachCorrupt(ctx: CaseContext, store: Store): Promise<Array<[label: string, observed: CallbackObservation]>> {
  const reads: Array<[string, CallbackObservation]> = [];
  for (const [label, text] of CORRUPT_PAYLOADS) {
    const sid = await writeCorrupt(ctx, store, text);
    reads.push([label, await observeCallback((callback) => store.get(sid, callback))]);
  }
  return reads;
}

function mentionsSecret(error: unknown): boolean {
  const parts = [String((error as Error)?.message), String((error as Error)?.stack)];
  let cause = (error as { cause?: unknown })?.cause;
  for (let depth = 0; cause !== undefined && depth < 5; depth++) {
    parts.push(String((cause as Error)?.message), String((cause as Error)?.stack));
    cause = (cause as { cause?: unknown })?.cause;
  }
  return parts.some((part) => part.includes(SECRET) || part.includes('c0ffee'));
}

/** What express-session can load: no session at all, or an object with a cookie (its createSession reads sess.cookie). */
function loadable(value: unknown): boolean {
  if (value === null || value === undefined) return true;
  if (typeof value !== 'object' || Array.isArray(value)) return false;
  const cookie = (value as { cookie?: unknown }).cookie;
  return cookie !== null && typeof cookie === 'object';
}

export const errorCases: ConformanceCase[] = [
  {
    id: 'corrupt-data-is-never-returned-as-a-session',
    group: 'errors',
    level: 'required',
    needs: ['writeRaw'],
    rule: 'get() of a stored record that is not a session (bad JSON, null, array, string, no cookie) calls back exactly once, never with a value lacking a cookie (which express-session cannot load), and never throws or crashes the process.',
    async run(ctx) {
      const store = await ctx.store();
      const problems: string[] = [];
      for (const [label, observed] of await readEachCorrupt(ctx, store)) {
        const once = onceProblems('get()', observed);
        if (once.length > 0) {
          problems.push(`${label}: ${once.join(', ')}`);
          continue;
        }
        const [error, value] = observed.args[0]!;
        if (!error && !loadable(value)) problems.push(`${label}: called back ${preview(value)} as the session`);
      }
      assertNoProblems(problems);
    },
  },
  {
    id: 'corrupt-data-calls-back-an-error',
    group: 'errors',
    level: 'recommended',
    needs: ['writeRaw'],
    rule: 'get() of a stored record that is not a session (bad JSON, null, array, string, no cookie) calls back an Error, so the app learns of it, rather than no session.',
    async run(ctx) {
      const store = await ctx.store();
      const problems: string[] = [];
      for (const [label, observed] of await readEachCorrupt(ctx, store)) {
        if (observed.threw !== undefined || observed.calls === 0) continue;
        if (!isError(observed.args[0]![0])) {
          problems.push(`${label}: called back (${preview(observed.args[0]![0])}, ${preview(observed.args[0]![1])}) instead of an Error`);
        }
      }
      assertNoProblems(problems);
    },
  },
  {
    id: 'corrupt-data-error-has-a-code-and-no-data',
    group: 'errors',
    level: 'recommended',
    needs: ['writeRaw'],
    rule: 'The error for corrupt stored data has a string code and its message, stack and causes never contain the stored data.',
    async run(ctx) {
      const store = await ctx.store();
      const problems: string[] = [];
      for (const [label, text] of CORRUPT_PAYLOADS) {
        const sid = await writeCorrupt(ctx, store, text);
        const error = await ctx.call(store, 'get', sid).then(
          () => undefined,
          (e: unknown) => e,
        );
        if (!isError(error)) {
          problems.push(`${label}: no Error`);
          continue;
        }
        if (typeof (error as { code?: unknown }).code !== 'string') problems.push(`${label}: the error has no string code`);
        if (mentionsSecret(error)) problems.push(`${label}: the error quotes the stored data (${preview(error.message)})`);
      }
      assertNoProblems(problems);
    },
  },
  {
    id: 'corrupt-data-in-all-calls-back-once',
    group: 'errors',
    level: 'recommended',
    needs: ['writeRaw', 'all'],
    rule: 'all() over a namespace holding a corrupt record calls back once, with an Error that does not contain the data or without that record, and never throws.',
    async run(ctx) {
      const store = ctx.config.supports?.namespaces ? await ctx.isolatedStore() : await ctx.store();
      await ctx.call(store, 'set', ctx.sid('good'), ctx.session());
      const sid = await writeCorrupt(ctx, store, CORRUPT_PAYLOADS[0]![1]);
      const observed = await observeCallback((callback) => (store as unknown as { all: (cb: unknown) => void }).all(callback));
      assertNoProblems(onceProblems('all()', observed));
      const [error, all] = observed.args[0]!;
      if (error) assert.ok(!mentionsSecret(error), `the error quotes the stored data (${preview((error as Error).message)})`);
      else {
        const returned = holdsMarker(entriesOfAll(all), SECRET) || (!Array.isArray(all) && sid in (all as object));
        assert.ok(!returned, 'all() returned the corrupt record');
      }
    },
  },
  {
    id: 'unserializable-session-calls-back-an-error',
    group: 'errors',
    level: 'recommended',
    needs: [],
    rule: 'set() of a session that cannot be serialized (a circular reference, a BigInt) calls back an Error instead of throwing.',
    async run(ctx) {
      const store = await ctx.store();
      const circular = ctx.session({ name: 'loop' }) as Record<string, unknown>;
      circular.self = circular;
      const problems: string[] = [];
      for (const [label, session] of [
        ['a circular session', circular],
        ['a session holding a BigInt', ctx.session({ big: BigInt(1) })],
      ] as const) {
        const observed = await observeCallback((callback) => store.set(ctx.sid(), session as never, callback));
        const once = onceProblems('set()', observed);
        if (once.length > 0) problems.push(`${label}: ${once.join(', ')}`);
        else if (!isError(observed.args[0]![0])) problems.push(`${label}: set() called back no Error`);
      }
      assertNoProblems(problems);
    },
  },
  {
    id: 'bad-arguments-never-throw',
    group: 'errors',
    level: 'recommended',
    needs: [],
    rule: 'Called with an undefined or empty sid or a null session, every method calls back once (usually with an Error) and never throws synchronously.',
    async run(ctx) {
      const store = await ctx.store();
      const existing = ctx.sid();
      await ctx.call(store, 'set', existing, ctx.session());
      const anyStore = store as unknown as Record<string, (...args: unknown[]) => unknown>;
      const calls: Array<[string, string, unknown[]]> = [
        ['get(undefined)', 'get', [undefined]],
        ["get('')", 'get', ['']],
        ['set(undefined, session)', 'set', [undefined, ctx.session()]],
        ['set(sid, null)', 'set', [ctx.sid(), null]],
        ['set(sid, undefined)', 'set', [ctx.sid(), undefined]],
        ['touch(undefined, session)', 'touch', [undefined, ctx.session()]],
        ['touch(sid, null)', 'touch', [existing, null]],
        ['destroy(undefined)', 'destroy', [undefined]],
      ];
      const problems: string[] = [];
      for (const [label, method, args] of calls) {
        if (typeof anyStore[method] !== 'function') continue;
        const observed = await observeCallback((callback) => anyStore[method]!.call(store, ...args, callback));
        problems.push(...onceProblems(label, observed));
      }
      assertNoProblems(problems);
    },
  },
];
