import type { SessionData, Store } from 'express-session';

/** What the suite asks of a store factory; a factory honours what it can and ignores the rest. */
export interface StoreFactoryOptions {
  /** The suite's clock, epoch ms. Passed only when the config says `clock: 'injectable'`. */
  now?: () => number;
  /**
   * Session lifetime in ms when the cookie has no expiry (passed when `supports.ttl` is set). A
   * function, passed only when `supports.ttlFunction` is set, computes it per session and wins over `cookie.expires`.
   */
  ttl?: number | ((session: SessionData, sid: string) => number);
  /** Skip touch writes for sessions extended less than this many ms ago. */
  touchAfter?: number;
  /** Make touch a no-op. */
  disableTouch?: boolean;
  /**
   * How long destroy() leaves a tombstone, in ms: passed when `supports.tombstones` is set, and as 0
   * (tombstones off) to the store with which the CLI destroys what its run wrote.
   */
  tombstoneTtl?: number;
  /** Absolute lifetime of a session after its first set(), in ms (passed when `supports.maxLifetime` is set). */
  maxLifetime?: number;
  /** Who a session belongs to (passed when `supports.userIndex` is set): the store indexes sessions by it. */
  userOf?: (session: SessionData) => string | undefined;
  /**
   * A name unique to this store instance's data (key prefix, table or collection suffix).
   * Always matches `/^[a-z][a-z0-9_]{0,39}$/`, so it can be used as an identifier as is.
   */
  namespace?: string;
}

export type StoreFactory = (options: StoreFactoryOptions) => Store | Promise<Store>;

/** Options a store's factory is known to honour; the cases that need one are skipped without it. */
export interface StoreSupport {
  /** `namespace` isolates two stores' data from each other. */
  namespaces?: boolean;
  /** Two stores the factory makes with the same namespace share their data, as two processes on one backend do. */
  sharedData?: boolean;
  /** `ttl` is honoured. */
  ttl?: boolean;
  /** `ttl` may also be a function `(session, sid) => ms`, which wins over `cookie.expires`. Not implied by `ttl`. */
  ttlFunction?: boolean;
  /** `touchAfter` is honoured. */
  touchAfter?: boolean;
  /** `disableTouch` is honoured. */
  disableTouch?: boolean;
  /**
   * The factory's stores key each record by a hash of its session id, never the id (our `hashIds`):
   * `ids()` and `all()` then name records by storage ids, which `destroy()` takes.
   */
  hashedIds?: boolean;
  /** The factory's stores encrypt every stored session, bound to its id (our `encryptionKeys`). */
  encryptedPayloads?: boolean;
  /**
   * destroy() leaves a tombstone for `tombstoneTtl` ms (the factory's default when not passed, at
   * least a minute): a set() of that id meanwhile writes nothing, and nothing lists it.
   */
  tombstones?: boolean;
  /** `maxLifetime` is honoured: no set() or touch() keeps a session past that long after its first set(). */
  maxLifetime?: boolean;
  /**
   * `userOf` is honoured, and the store has `sessionsOf(user)` (the user's live sessions, as
   * `{ id, session, expiresAt }`) and `destroySessionsOf(user, { except })`, both with a callback or
   * a promise; `listedIdOf(sid)`, where a store has it, gives the id `sessionsOf` lists for a session id.
   */
  userIndex?: boolean;
}

/** The optional methods a case may need; each is detected on a store made by the factory. */
export type StoreMethod = 'all' | 'ids' | 'length' | 'clear' | 'touch' | 'close' | 'prune';

export interface ConformanceConfig {
  /** Shown in test titles and reports. */
  name: string;
  makeStore: StoreFactory;
  /** `injectable`: the factory passes `now` to the store, so expiry cases move a fake clock. Default `real`. */
  clock?: 'injectable' | 'real';
  supports?: StoreSupport;
  /**
   * The HTTP cases, through real apps: `true` (the default) runs them through express with
   * express-session, and through fastify with @fastify/session where fastify, @fastify/cookie and
   * @fastify/session are installed (reported skipped, saying so, where they are not); a list runs
   * them through those frameworks only, each then required; `false` leaves them out.
   */
  http?: boolean | HttpFramework[];
  /** Run only the cases whose id this returns true for. */
  filter?: (caseId: string) => boolean;
  /**
   * Cases known to fail for this store, by id, with the reason: they still run and are reported,
   * but do not fail the run (for reporting on third-party stores). A listed case that passes fails
   * the run, so the list never goes stale.
   */
  knownFailures?: Record<string, string>;
  /** Treat a broken recommended rule (a `warn`) as a failure. Our own stores set it. */
  strict?: boolean;
  /**
   * Stores `text` as the raw stored form of session `sid` in `store`, bypassing the store's codec,
   * so the corrupt-data cases can run. Without it they are skipped.
   */
  writeRaw?: (store: Store, sid: string, text: string) => void | Promise<void>;
  /**
   * What the backend holds for session `sid` of `store`, below the codec: its stored payload and
   * exact expiry, expired or not, or null when it holds nothing, so the stored-record cases can
   * look at backend state. Without it they are skipped.
   */
  readRaw?: (store: Store, sid: string) => RawRecord | null | undefined | Promise<RawRecord | null | undefined>;
  /**
   * Path of a module whose `createStore`, `makeStore` or default export is this store's factory.
   * It lets the suite prove in a child process that the process exits after `close()`.
   */
  factoryModule?: string;
  /** Releases a store the suite is done with. Default: its `close()`, when it has one. */
  disposeStore?: (store: Store) => void | Promise<void>;
  /** Runs once after every case (closes a client the factory shares between stores, say). */
  teardown?: () => void | Promise<void>;
  /**
   * The optional methods the store has. By default the suite finds them on a store made by the
   * factory; give them here to spare that probe (the jest adapter needs them to skip visibly when
   * the factory is asynchronous).
   */
  methods?: StoreMethod[];
}

/** A session's record as its backend holds it (see `ConformanceConfig.readRaw`). */
export interface RawRecord {
  /** The stored form, as the store's codec wrote it (or `writeRaw` did). */
  payload: string;
  /** The stored expiry, epoch ms. */
  expiresAt: number;
}

/** A framework the HTTP cases run through: express with express-session, or fastify with @fastify/cookie and @fastify/session. */
export type HttpFramework = 'express' | 'fastify';

/** Everything a case can need that a store or a config may lack. */
export type Capability =
  | StoreMethod
  | 'namespaces'
  | 'sharedData'
  | 'ttl'
  | 'ttlFunction'
  | 'touchAfter'
  | 'disableTouch'
  | 'hashedIds'
  | 'encryptedPayloads'
  | 'tombstones'
  | 'maxLifetime'
  | 'userIndex'
  | 'sessionIdListings'
  | 'injectableClock'
  | 'realClock'
  | 'writeRaw'
  | 'readRaw'
  | 'factoryModule';

export type CaseGroup =
  | 'basics'
  | 'expiry'
  | 'touch'
  | 'bulk'
  | 'namespaces'
  | 'ids'
  | 'errors'
  | 'callbacks'
  | 'lifecycle'
  | 'users'
  | 'http';

/**
 * `required`: express-session (or a user relying on it) breaks when the rule is broken; a failure fails.
 * `recommended`: a rule of this package's contract that express-session leaves open; a failure warns
 * (and fails under `strict`).
 */
export type CaseLevel = 'required' | 'recommended';

export type CaseStatus = 'pass' | 'fail' | 'skip' | 'warn';

/** The suite's clock: fake and moved by hand with `clock: 'injectable'`, the wall clock otherwise. */
export interface SuiteClock {
  readonly injectable: boolean;
  /** Epoch ms, as the store sees it. */
  now(): number;
  /** Moves the fake clock, or sleeps on the real one. */
  advance(ms: number): Promise<void>;
  /**
   * A duration that expiry cases count in: a minute on the fake clock, a second on the real one.
   * Cases look at a session at least 1.5 units before or after its expiry, so a store that keeps
   * expiry in whole seconds (Redis EX, SQLite datetime()) is judged fairly on the wall clock.
   */
  readonly unit: number;
}

/** Options of a session built by `CaseContext.session`. */
export interface SessionShape {
  /** Epoch ms of `cookie.expires`; `null` for a browser-session cookie. Default: an hour from now. */
  expiresAt?: number | null;
  originalMaxAge?: number | null;
}

export interface CaseContext {
  readonly config: ConformanceConfig;
  readonly clock: SuiteClock;
  /** The optional methods the store has. */
  readonly methods: ReadonlySet<StoreMethod>;
  /** A store from the factory, in this run's namespace unless `options.namespace` says otherwise; disposed after the case. */
  store(options?: StoreFactoryOptions): Promise<Store>;
  /** A store in a namespace of its own, empty at first (needs `namespaces`). */
  isolatedStore(options?: StoreFactoryOptions): Promise<Store>;
  /** A namespace no other store of the run uses. */
  freshNamespace(): string;
  /** A session id no other case uses; `label` is kept readable at its start. */
  sid(label?: string): string;
  /** A session as express-session hands it to a store: a cookie plus `data`. */
  session(data?: Record<string, unknown>, shape?: SessionShape): StoreSession;
  /** Calls `store[method](...args, callback)` and settles with the callback's outcome; a synchronous throw rejects. */
  call<T = unknown>(store: Store, method: string, ...args: unknown[]): Promise<T>;
  /** Ends the case as skipped (the store reported it cannot do what the case needs). */
  skip(reason: string): never;
}

/** The plain-object form of a session used by the cases. */
export type StoreSession = SessionData & Record<string, unknown>;

export interface ConformanceCase {
  /** Stable, kebab-case; what `filter`, `knownFailures` and reports refer to. */
  id: string;
  group: CaseGroup;
  /** The rule, in one sentence a store author can act on. */
  rule: string;
  level: CaseLevel;
  /** What the store or config must offer; without it the case is skipped and says why. */
  needs: Capability[];
  /** The framework an HTTP case runs through. */
  framework?: HttpFramework;
  /** Why the case does not apply to its framework; it is then reported skipped with this reason. */
  notApplicable?: string;
  /**
   * The case spends its time waiting on the clock. On the real clock such cases run alongside
   * each other, so a run lasts about as long as its longest wait rather than the sum of them.
   */
  waits?: boolean;
  run(ctx: CaseContext): Promise<void>;
}

export interface CaseResult {
  id: string;
  group: CaseGroup;
  level: CaseLevel;
  rule: string;
  status: CaseStatus;
  /** Why it failed, warned or was skipped. */
  reason?: string;
  ms: number;
  /** The `knownFailures` entry for this case, when there is one. */
  knownFailure?: string;
  /** The run stopped before this case (the store crashed the process): reported `skip`, counted as not run. */
  notRun?: true;
}
