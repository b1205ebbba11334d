import { randomBytes } from 'node:crypto';
import type { Store } from 'express-session';
import { FakeClock, RealClock } from './clocks';
import { withDeadline } from './deadline';
import { callMaybeCallback, closeStore, methodsOf } from './store-calls';
import type { ConformanceConfig, StoreFactoryOptions, StoreMethod, SuiteClock } from './types';

const DISPOSE_TIMEOUT_MS = 5000;

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
