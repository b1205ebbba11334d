import { randomBytes } from 'node:crypto';
import { types } from 'node:util';
import type { Store } from 'express-session';
import type {
  CaseContext,
  ConformanceConfig,
  SessionShape,
  StoreFactoryOptions,
  StoreMethod,
  StoreSession,
  SuiteClock,
} from './types';

export const STORE_METHODS: readonly StoreMethod[] = ['all', 'ids', 'length', 'clear', 'touch', 'close', 'prune'];

const HOUR_MS = 60 * 60 * 1000;
const DISPOSE_TIMEOUT_MS = 5000;

export class FakeClock implements SuiteClock {
  readonly injectable = true;
  readonly unit = 60_000;
  private current = Date.now();

  now = (): number => this.current;

  async advance(ms: number): Promise<void> {
    this.current += ms;
  }
}

export class RealClock implements SuiteClock {
  readonly injectable = false;
  readonly unit = 1000;
  /** The ms asked to wait so far: a case that took much longer was held up, and its timing is off. */
  advanced = 0;

  now = (): number => Date.now();

  advance(ms: number): Promise<void> {
    this.advanced += Math.max(0, ms);
    return new Promise((resolve) => setTimeout(resolve, ms));
  }
}

/** Thrown by `ctx.skip`; the runner turns it into a `skip` result. */
export class CaseSkipped extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'CaseSkipped';
  }
}

/** State shared by every case of one run: the config, the namespace and the probed methods. */
export class ConformanceRun {
  readonly namespace: string;
  private namespaceCount = 0;
  private probed: Promise<Set<StoreMethod>> | undefined;
  /** Namespaces whose clean-up waits until no case runs alongside another (see `Context.dispose`). */
  private readonly uncleared = new Set<string>();

  constructor(readonly config: ConformanceConfig) {
    this.namespace = `conf_${randomBytes(4).toString('hex')}`;
    if (config.methods) this.useMethods(config.methods);
  }

  /** Records the store's optional methods, found by the caller, so no probe is made. */
  useMethods(methods: Iterable<StoreMethod>): void {
    this.probed = Promise.resolve(new Set(methods));
  }

  freshNamespace(): string {
    this.namespaceCount += 1;
    return `${this.namespace}_${this.namespaceCount}`;
  }

  clock(): SuiteClock {
    return this.config.clock === 'injectable' ? new FakeClock() : new RealClock();
  }

  /** The optional methods of the store, found once on a store made for the purpose. */
  methods(): Promise<Set<StoreMethod>> {
    this.probed ??= (async () => {
      const store = await this.config.makeStore(this.factoryOptions(new RealClock(), {}));
      try {
        return methodsOf(store);
      } finally {
        await this.dispose(store);
      }
    })();
    return this.probed;
  }

  factoryOptions(clock: SuiteClock, options: StoreFactoryOptions): StoreFactoryOptions {
    return {
      namespace: this.namespace,
      ...(clock.injectable ? { now: clock.now } : {}),
      ...options,
    };
  }

  /** Releases a store, bounded in time so a store whose close hangs cannot hang the run. */
  async dispose(store: Store): Promise<void> {
    const release = this.config.disposeStore
      ? () => this.config.disposeStore!(store)
      : () => (typeof (store as { close?: unknown }).close === 'function' ? closeStore(store) : undefined);
    await withDeadline(Promise.resolve().then(release), DISPOSE_TIMEOUT_MS, 'releasing the store');
  }

  /**
   * Uses a store of the run's namespace once, so a store that sets itself up on first use (creating
   * its table, say) has done so before cases share that namespace at once. Errors are the cases' to find.
   */
  async warmUp(): Promise<void> {
    try {
      const made = Promise.resolve().then(() => this.config.makeStore(this.factoryOptions(new RealClock(), {})));
      const store = await withDeadline(made, DISPOSE_TIMEOUT_MS, 'making a store');
      try {
        const sid = `warm-up-${randomBytes(8).toString('hex')}`;
        await withDeadline(callMaybeCallback(store, 'get', sid), DISPOSE_TIMEOUT_MS, 'get()');
      } finally {
        await this.dispose(store);
      }
    } catch {
      // The cases report what is wrong with the store.
    }
  }

  /** Leaves `namespace` to be emptied by `clearDeferred()`. */
  deferClear(namespace: string): void {
    this.uncleared.add(namespace);
  }

  /**
   * Empties the namespaces cases left behind while they ran alongside others: a store whose clear()
   * reaches past its namespace then deletes nothing another case is still waiting on.
   */
  async clearDeferred(): Promise<void> {
    const namespaces = [...this.uncleared];
    this.uncleared.clear();
    for (const namespace of namespaces) {
      try {
        const store = await this.config.makeStore(this.factoryOptions(new RealClock(), { namespace }));
        try {
          await callMaybeCallback(store, 'clear');
        } finally {
          await this.dispose(store);
        }
      } catch {
        // Clean-up only: what is wrong with the store is the cases' to report.
      }
    }
  }

  /** Empties this run's namespace (only when namespaces isolate it, so nothing else is touched) and runs the teardown. */
  async finish(): Promise<void> {
    try {
      await this.clearDeferred();
      if (this.config.supports?.namespaces && (await this.methods()).has('clear')) {
        const store = await this.config.makeStore(this.factoryOptions(new RealClock(), {}));
        try {
          await callMaybeCallback(store, 'clear');
        } finally {
          await this.dispose(store);
        }
      }
    } finally {
      await this.config.teardown?.();
    }
  }
}

export function methodsOf(store: Store): Set<StoreMethod> {
  const record = store as unknown as Record<string, unknown>;
  return new Set(STORE_METHODS.filter((method) => typeof record[method] === 'function'));
}

export class Context implements CaseContext {
  readonly config: ConformanceConfig;
  readonly clock: SuiteClock;
  /** Each store the case made, with its namespace when that is not the run's. */
  private readonly stores: Array<{ store: Store; namespace: string | undefined }> = [];
  private sidCount = 0;

  /**
   * `alongside`: other cases run at the same time, so emptying this case's namespaces waits for
   * them (`ConformanceRun.clearDeferred`).
   */
  constructor(
    private readonly run: ConformanceRun,
    readonly methods: ReadonlySet<StoreMethod>,
    private readonly alongside = false,
  ) {
    this.config = run.config;
    this.clock = run.clock();
  }

  async store(options: StoreFactoryOptions = {}): Promise<Store> {
    const store = await this.config.makeStore(this.run.factoryOptions(this.clock, options));
    const namespace = options.namespace !== undefined && options.namespace !== this.run.namespace ? options.namespace : undefined;
    this.stores.push({ store, namespace });
    return store;
  }

  isolatedStore(options: StoreFactoryOptions = {}): Promise<Store> {
    return this.store({ ...options, namespace: options.namespace ?? this.freshNamespace() });
  }

  freshNamespace(): string {
    return this.run.freshNamespace();
  }

  sid(label = 's'): string {
    this.sidCount += 1;
    return `${label}-${this.sidCount}-${randomBytes(12).toString('base64url')}`;
  }

  session(data: Record<string, unknown> = {}, shape: SessionShape = {}): StoreSession {
    const expiresAt = shape.expiresAt === undefined ? this.clock.now() + HOUR_MS : shape.expiresAt;
    const originalMaxAge =
      shape.originalMaxAge !== undefined ? shape.originalMaxAge : expiresAt === null ? null : expiresAt - this.clock.now();
    const expires = expiresAt === null ? null : new Date(expiresAt);
    const Cookie = expressSessionCookie();
    if (!Cookie) return { cookie: { originalMaxAge, expires, secure: false, httpOnly: true, path: '/' }, ...data } as unknown as StoreSession;
    const cookie = new Cookie({ secure: false, httpOnly: true, path: '/' });
    // The expires setter derives originalMaxAge from the wall clock; the suite's clock decides it instead.
    cookie.expires = expires;
    cookie.originalMaxAge = originalMaxAge;
    return { cookie, ...data } as unknown as StoreSession;
  }

  call<T = unknown>(store: Store, method: string, ...args: unknown[]): Promise<T> {
    return callMaybeCallback<T>(store, method, ...args);
  }

  skip(reason: string): never {
    throw new CaseSkipped(reason);
  }

  /** Releases every store the case made; empties isolated namespaces first so a shared backend keeps nothing. */
  async dispose(): Promise<void> {
    const stores = this.stores.splice(0);
    for (const { store, namespace } of stores) {
      if (namespace !== undefined && this.config.supports?.namespaces && this.methods.has('clear')) {
        if (this.alongside) this.run.deferClear(namespace);
        else await callMaybeCallback(store, 'clear').catch(() => undefined);
      }
      await this.run.dispose(store).catch(() => undefined);
    }
  }
}

/** express-session's Cookie: what it hands a store, with the `maxAge` getter (ms left) some stores read. */
export type ExpressSessionCookie = new (options?: Record<string, unknown>) => Record<string, unknown> & {
  expires: Date | null;
  originalMaxAge: number | null;
};

let cookieClass: ExpressSessionCookie | null | undefined;

/** express-session's Cookie class, loaded on first use; null where express-session does not expose it. */
export function expressSessionCookie(): ExpressSessionCookie | null {
  if (cookieClass === undefined) {
    try {
      cookieClass = require('express-session/session/cookie') as ExpressSessionCookie;
    } catch {
      cookieClass = null;
    }
  }
  return cookieClass;
}

export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function';
}

/**
 * Closes a store however its close() works: a returned promise, a callback, or synchronously.
 * Rejects when the store has no close().
 */
export async function closeStore(store: Store): Promise<void> {
  const close = (store as unknown as { close?: (...args: unknown[]) => unknown }).close;
  if (typeof close !== 'function') throw new Error('the store has no close() method');
  let done: (error?: unknown) => void = () => undefined;
  const viaCallback = new Promise<void>((resolve, reject) => (done = (error) => (error ? reject(error) : resolve())));
  const returned = close.call(store, (error: unknown) => done(error));
  if (isThenable(returned)) {
    await returned;
    return;
  }
  if (close.length >= 1) await viaCallback;
}

/** Calls a store method in callback form and settles with the first callback; a synchronous throw rejects. */
export function callMaybeCallback<T = unknown>(store: Store, method: string, ...args: unknown[]): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const fn = (store as unknown as Record<string, unknown>)[method];
    if (typeof fn !== 'function') {
      reject(new Error(`the store has no ${method}() method`));
      return;
    }
    try {
      fn.call(store, ...args, (error: unknown, result: T) => (error ? reject(error) : resolve(result)));
    } catch (error) {
      reject(new SyncThrow(method, error));
    }
  });
}

export class SyncThrow extends Error {
  constructor(method: string, readonly thrown: unknown) {
    super(`${method}() threw synchronously instead of calling back: ${describeError(thrown)}`);
    this.name = 'SyncThrow';
  }
}

/** Whether `value` is an Error from any realm (a test runner's sandbox has an Error of its own). */
export function isError(value: unknown): value is Error {
  return value instanceof Error || types.isNativeError(value);
}

export function describeError(error: unknown): string {
  if (isError(error)) {
    return (error as { code?: unknown }).code === 'ERR_ASSERTION' ? error.message : `${error.name}: ${error.message}`;
  }
  return String(error);
}

export function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    // Left ref'd: a caller's process must not exit while a case it awaits has not finished.
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
