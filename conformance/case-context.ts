import { randomBytes } from 'node:crypto';
import type { Store } from 'express-session';
import type { ConformanceRun } from './conformance-run';
import { expressSessionCookie } from './express-cookie';
import { callMaybeCallback } from './store-calls';
import type { CaseContext, ConformanceConfig, SessionShape, StoreFactoryOptions, StoreMethod, StoreSession, SuiteClock } from './types';

const HOUR_MS = 60 * 60 * 1000;

/** Thrown by `ctx.skip`; the runner turns it into a `skip` result. */
export class CaseSkipped extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'CaseSkipped';
  }
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
