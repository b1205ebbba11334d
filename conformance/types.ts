import type { Store } from 'express-session';

/** What the suite asks of a store factory; a factory honours what it can and ignores the rest. */
export interface StoreFactoryOptions {
  /** The suite's clock, epoch ms. Passed only when the config says `clock: 'injectable'`. */
  now?: () => number;
  /** Session lifetime in ms when the cookie has no expiry. */
  ttl?: number;
  /** Skip touch writes for sessions extended less than this many ms ago. */
  touchAfter?: number;
  /** Make touch a no-op. */
  disableTouch?: boolean;
  /** A name unique to this store instance's data (key prefix, table or collection suffix). */
  namespace?: string;
}

export type StoreFactory = (options: StoreFactoryOptions) => Store | Promise<Store>;

/** Options a store's factory is known to honour; the cases that need one are skipped without it. */
export interface StoreSupport {
  /** `namespace` isolates two stores' data from each other. */
  namespaces?: boolean;
  /** `ttl` is honoured. */
  ttl?: boolean;
  /** `touchAfter` is honoured. */
  touchAfter?: boolean;
  /** `disableTouch` is honoured. */
  disableTouch?: boolean;
}

export interface ConformanceConfig {
  /** Shown in test titles and reports. */
  name: string;
  makeStore: StoreFactory;
  /** `injectable`: the factory passes `now` to the store, so expiry cases move a fake clock. Default `real`. */
  clock?: 'injectable' | 'real';
  supports?: StoreSupport;
  /** Include the HTTP cases (a real express app with express-session). Default true. */
  http?: boolean;
  /** Run only the cases whose id this returns true for. */
  filter?: (caseId: string) => boolean;
  /**
   * Cases known to fail for this store, by id, with the reason: they still run and are reported,
   * but do not fail the run (for reporting on third-party stores).
   */
  knownFailures?: Record<string, string>;
}
