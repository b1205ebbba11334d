import assert from 'node:assert/strict';
import type { Store } from 'express-session';
import { describeError } from '../describe-error';
import { isThenable } from '../store-calls';

export { closeStore, isThenable } from '../store-calls';

/** The JSON form of a value: what any store that serializes sessions gives back. */
export function plain<T>(value: T): unknown {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}

export function preview(value: unknown): string {
  if (value === undefined) return 'undefined';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 120 ? `${text.slice(0, 120)}…` : text;
}

/** The session read back equals the one stored, compared in JSON form (a Date equals its ISO string). */
export function assertSameSession(actual: unknown, expected: unknown, what = 'the session read back'): void {
  assert.ok(actual !== null && actual !== undefined, `${what}: expected a session, got ${preview(actual)}`);
  assert.deepStrictEqual(plain(actual), plain(expected), `${what} differs from the session stored`);
}

/** The session's data without its cookie, in JSON form. */
export function dataOf(session: unknown): unknown {
  const { cookie: _cookie, ...data } = plain(session) as Record<string, unknown>;
  return data;
}

export function assertMissing(value: unknown, what: string): void {
  assert.ok(value === null || value === undefined, `${what}: expected no session, got ${preview(value)}`);
}

export function assertPresent(value: unknown, what: string): void {
  assert.ok(value !== null && value !== undefined, `${what}: expected a session, got ${preview(value)}`);
}

/**
 * The entries all() called back, in either shape express-session allows: an object keyed by sid
 * (its MemoryStore) or an array (its README).
 */
export function entriesOfAll(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  assert.ok(
    value !== null && typeof value === 'object' && !(value instanceof Map),
    `all() called back ${preview(value)}, neither an array nor an object keyed by sid`,
  );
  return Object.values(value);
}

/** Whether an entry carries `marker` anywhere in its data, whatever form the store gives entries in. */
export function holdsMarker(entries: readonly unknown[], marker: string): boolean {
  return entries.some((entry) => {
    try {
      return (JSON.stringify(entry) ?? String(entry)).includes(marker);
    } catch {
      return String(entry).includes(marker);
    }
  });
}

/** Fails with every problem found, one sentence each. */
export function assertNoProblems(problems: string[]): void {
  if (problems.length > 0) assert.fail(problems.join('; '));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** How a callback-taking call behaved: calls, whether the first came synchronously, what it was given. */
export interface CallbackObservation {
  calls: number;
  synchronous: boolean;
  args: unknown[][];
  /** What the method threw synchronously, if it did. */
  threw?: unknown;
}

const FIRST_CALL_TIMEOUT_MS = 5000;
/** How long after the first call a second one is waited for. */
const SECOND_CALL_WAIT_MS = 25;

/** Calls `invoke` with a callback and watches it: each call, and whether it came before `invoke` returned. */
export async function observeCallback(invoke: (callback: (...args: unknown[]) => void) => unknown): Promise<CallbackObservation> {
  const observation: CallbackObservation = { calls: 0, synchronous: false, args: [] };
  let returned = false;
  let firstCall: () => void = () => undefined;
  const called = new Promise<void>((resolve) => (firstCall = resolve));
  try {
    invoke((...args: unknown[]) => {
      observation.calls += 1;
      observation.args.push(args);
      if (!returned) observation.synchronous = true;
      firstCall();
    });
  } catch (error) {
    observation.threw = error;
  }
  returned = true;
  if (observation.threw === undefined) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([called, new Promise((resolve) => (timer = setTimeout(resolve, FIRST_CALL_TIMEOUT_MS)))]);
    clearTimeout(timer);
    await sleep(SECOND_CALL_WAIT_MS);
  }
  return observation;
}

/** Describes what is wrong with an observation for "exactly once": empty when it is right. */
export function onceProblems(call: string, observation: CallbackObservation): string[] {
  if (observation.threw !== undefined) return [`${call} threw synchronously: ${describeError(observation.threw)}`];
  if (observation.calls === 0) return [`${call} never called back (waited ${FIRST_CALL_TIMEOUT_MS} ms)`];
  if (observation.calls > 1) return [`${call} called back ${observation.calls} times`];
  return [];
}

/** Calls a method without a callback and awaits the promise it must return. */
export async function viaPromise(store: Store, method: string, ...args: unknown[]): Promise<unknown> {
  const fn = (store as unknown as Record<string, unknown>)[method];
  assert.equal(typeof fn, 'function', `the store has no ${method}() method`);
  let returned: unknown;
  try {
    returned = (fn as (...a: unknown[]) => unknown).call(store, ...args);
  } catch (error) {
    assert.fail(`${method}() without a callback threw synchronously: ${describeError(error)}`);
  }
  assert.ok(isThenable(returned), `${method}() without a callback returned ${preview(returned)}, not a promise`);
  return returned;
}
