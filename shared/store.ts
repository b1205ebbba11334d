import { Store, type SessionData } from 'express-session';
import { settle, isPromiseLike, type Callback } from './callbacks';
import { Codec } from './codec';
import { DeadlineQueue } from './deadlines';
import { cleanCause } from './causes';
import { SessionStoreError, sidPrefixOf, type SessionStoreErrorCode } from './errors';
import { expiresAtOf } from './expiry';
import { resolveBaseOptions, type BaseStoreOptions, type CorruptRecordEvent, type ResolvedBaseOptions } from './options';
import { Reaper } from './reaper';

type MaybePromise<T> = T | Promise<T>;

/** A record as a backend holds it: the encoded session and its absolute expiry in epoch ms. */
export interface StoredSession {
  payload: unknown;
  expiresAt: number;
}

/** One record met while iterating a store's namespace; `payload` is present when it was asked for. */
export interface StoredEntry {
  key: string;
  expiresAt: number;
  payload?: unknown;
}

/** How a backend fits under the base, fixed by the store's constructor. */
export interface BackendSettings {
  /** Prepended to every session id to form the backend key (Redis' `sess:`); '' where a table is the namespace. */
  keyPrefix?: string;
  /** Milliseconds between reaper runs, for backends that implement `removeExpiredRecords`; 0 = off. */
  pruneIntervalMs?: number;
  /** Most records one `removeExpiredRecords` call deletes. Default 1000. */
  pruneBatchSize?: number;
  /**
   * Longest wait, in milliseconds, between reachability probes while the backend is down: the first
   * probe runs 50 ms after the outage begins and the wait doubles up to this. Default 250.
   */
  probeIntervalMs?: number;
  /** The names of the store's own options; with it, the base refuses any option neither it nor the store knows. */
  ownOptions?: readonly string[];
}

/** One live session met by `sessions()`. */
export interface ListedSession {
  id: string;
  session: SessionData;
  /** The expiry the backend holds, in epoch ms: later than `session.cookie.expires` once a touch extended it. */
  expiresAt: number;
}

export const MAX_SID_LENGTH = 1024;
const FIRST_PROBE_DELAY_MS = 50;
const DEFAULT_PROBE_INTERVAL_MS = 250;

const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ECONNABORTED',
  '57P01', // Postgres: admin_shutdown
  '57P02', // Postgres: crash_shutdown
  '57P03', // Postgres: cannot_connect_now
]);

/**
 * The abstract base of every store in this package. It owns the whole session contract
 * (callbacks and promises, expiry, touch, codec, errors, time bounds, availability events, the
 * reaper) and asks a backend only for the primitive operations below, on storage keys.
 */
export abstract class SessionStore extends Store {
  /** Short name used in errors and reports, e.g. `redis`. */
  readonly storeName: string;
  protected readonly settings: ResolvedBaseOptions;
  private readonly codec: Codec;
  private readonly keyPrefix: string;
  private readonly reaper: Reaper | undefined;
  private readonly pruneBatchSize: number;
  private readonly probeIntervalMs: number;
  private probeTimer: NodeJS.Timeout | undefined;
  private nextProbeDelayMs = FIRST_PROBE_DELAY_MS;
  private closing: Promise<void> | undefined;
  private reachable = true;
  /** Bumped at each disconnect, so a call that was already in flight cannot announce a reconnect. */
  private outages = 0;
  /** Bumped at each reconnect, so a call begun before it cannot report the backend down again. */
  private recoveries = 0;
  /** The operationTimeout bounds of in-flight calls; none when the bound is Infinity. */
  private readonly deadlines: DeadlineQueue | undefined;

  protected constructor(storeName: string, options: BaseStoreOptions | undefined, backend: BackendSettings = {}) {
    super();
    this.storeName = storeName;
    this.settings = resolveBaseOptions(storeName, options, backend.ownOptions);
    this.codec = new Codec(storeName, this.settings.serializer, this.settings.maxSessionBytes);
    this.keyPrefix = backend.keyPrefix ?? '';
    this.pruneBatchSize = backend.pruneBatchSize ?? 1000;
    this.probeIntervalMs = backend.probeIntervalMs ?? DEFAULT_PROBE_INTERVAL_MS;
    const boundMs = this.settings.operationTimeoutMs;
    this.deadlines = boundMs === Infinity ? undefined : new DeadlineQueue(boundMs);
    const pruneIntervalMs = backend.pruneIntervalMs ?? 0;
    if (this.removeExpiredRecords && pruneIntervalMs > 0) {
      this.reaper = new Reaper(pruneIntervalMs, () => this.pruneExpired());
    }
  }

  // The backend primitives. Keys are already namespaced; expiry filtering is also done here, so a
  // backend may return an expired record, but one that filters in its query saves a transfer.

  /** The record at `key`, or nothing. */
  protected abstract readRecord(key: string, now: number): MaybePromise<StoredSession | null | undefined>;
  // What the write primitives return or resolve to is discarded: a backend may hand back its driver's promise as it is.

  /** Creates or replaces the record at `key`. */
  protected abstract writeRecord(key: string, payload: string, expiresAt: number, now: number): MaybePromise<unknown>;
  /**
   * Sets the expiry of the record at `key` to `expiresAt` when the record exists and is live
   * (expiry after `now`) and, when `unlessExpiresAfter` is given, its expiry is before that instant.
   * Never creates a record and never changes its payload.
   */
  protected abstract extendRecord(
    key: string,
    expiresAt: number,
    now: number,
    unlessExpiresAfter: number | undefined,
  ): MaybePromise<unknown>;
  /** Deletes the record at `key`; deleting a missing record is not an error. */
  protected abstract removeRecord(key: string): MaybePromise<unknown>;
  /** Iterates this store's namespace in batches, without blocking the backend. */
  protected scanRecords?(now: number, withPayload: boolean): AsyncIterable<StoredEntry[]>;
  /** Counts live records without fetching them. Without it, `length` counts a scan. */
  protected countRecords?(now: number): MaybePromise<number>;
  /**
   * Deletes every record of this store's namespace, and nothing outside it. A backend that must
   * work in batches returns an async iterable with one step per batch: each step gets its own time bound.
   */
  protected removeAllRecords?(): MaybePromise<void> | AsyncIterable<unknown>;
  /** Deletes at most `limit` expired records; returns how many. Only for backends without native expiry. */
  protected removeExpiredRecords?(now: number, limit: number): MaybePromise<number>;
  /** Cheapest round trip that proves the backend answers. Default: a read of an unused key. */
  protected ping?(): MaybePromise<void>;
  /** Releases what the store itself opened; never a client, pool or database the caller passed in. */
  protected closeBackend?(): MaybePromise<void>;
  /** Whether a driver error means the backend cannot be reached (as opposed to a bad query). */
  protected isUnavailableError(error: unknown): boolean {
    const code = (error as { code?: unknown } | null)?.code;
    if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true;
    const message = error instanceof Error ? error.message : '';
    return /connection (is )?(closed|terminated|lost)|ECONNREFUSED|socket (hang up|closed)/i.test(message);
  }

  /** Starts the reaper; a store calls this at the end of its constructor once its backend is ready. */
  protected startReaper(): void {
    this.reaper?.start();
  }

  /** A backend whose client reports its own connection state calls these. */
  protected markUnavailable(): void {
    if (!this.reachable || this.closing) return;
    this.reachable = false;
    this.outages++;
    this.nextProbeDelayMs = FIRST_PROBE_DELAY_MS;
    this.emit('disconnect');
    this.scheduleProbe();
  }

  protected markAvailable(): void {
    if (this.reachable || this.closing) return;
    this.reachable = true;
    this.recoveries++;
    if (this.probeTimer) clearTimeout(this.probeTimer);
    this.probeTimer = undefined;
    this.emit('connect');
  }

  /**
   * Whether the last backend call (or the client's own state) says the backend answers. While it is
   * false every call but the probe fails at once with `ERR_SESSION_UNAVAILABLE`.
   */
  get isAvailable(): boolean {
    return this.reachable;
  }

  get(sid: string): Promise<SessionData | null>;
  get(sid: string, callback: Callback<SessionData | null>): void;
  get(sid: string, callback?: Callback<SessionData | null>): Promise<SessionData | null> | void {
    return settle(this.doGet(sid), callback);
  }

  set(sid: string, session: SessionData): Promise<void>;
  set(sid: string, session: SessionData, callback: Callback<void>): void;
  set(sid: string, session: SessionData, callback?: Callback<void>): Promise<void> | void {
    return settle(this.doSet(sid, session), callback);
  }

  touch(sid: string, session: SessionData): Promise<void>;
  touch(sid: string, session: SessionData, callback: Callback<void>): void;
  touch(sid: string, session: SessionData, callback?: Callback<void>): Promise<void> | void {
    return settle(this.doTouch(sid, session), callback);
  }

  destroy(sid: string): Promise<void>;
  destroy(sid: string, callback: Callback<void>): void;
  destroy(sid: string, callback?: Callback<void>): Promise<void> | void {
    return settle(this.doDestroy(sid), callback);
  }

  /**
   * Every live session, keyed by id (the shape of express-session's MemoryStore, without a
   * prototype), held in memory at once: for a large store iterate `sessions()` instead. A record
   * that cannot be decoded is left out and reported by the `'corrupt'` event.
   */
  all(): Promise<Record<string, SessionData>>;
  all(callback: Callback<Record<string, SessionData>>): void;
  all(callback?: Callback<Record<string, SessionData>>): Promise<Record<string, SessionData>> | void {
    return settle(this.doAll(), callback);
  }

  /**
   * Streams every live session in the backend's batches, each batch bounded by operationTimeout;
   * undecodable records are skipped and reported by the `'corrupt'` event, as in `all()`.
   */
  sessions(): AsyncGenerator<ListedSession, void, undefined> {
    return this.decodedSessions('sessions');
  }

  /** The ids of every live session. */
  ids(): Promise<string[]>;
  ids(callback: Callback<string[]>): void;
  ids(callback?: Callback<string[]>): Promise<string[]> | void {
    return settle(this.doIds(), callback);
  }

  /** How many live sessions the store holds. */
  length(): Promise<number>;
  length(callback: Callback<number>): void;
  length(callback?: Callback<number>): Promise<number> | void {
    return settle(this.doLength(), callback);
  }

  /** Deletes every session of this store's namespace. */
  clear(): Promise<void>;
  clear(callback: Callback<void>): void;
  clear(callback?: Callback<void>): Promise<void> | void {
    return settle(this.doClear(), callback);
  }

  /** Deletes expired sessions now, in bounded batches; resolves to how many. 0 where the backend expires natively. */
  prune(): Promise<number>;
  prune(callback: Callback<number>): void;
  prune(callback?: Callback<number>): Promise<number> | void {
    return settle(this.doPrune(), callback);
  }

  /** Stops timers and releases what the store opened. Idempotent. */
  close(): Promise<void>;
  close(callback: Callback<void>): void;
  close(callback?: Callback<void>): Promise<void> | void {
    return settle(this.doClose(), callback);
  }

  /** Maps a session id to its storage key: the one place where ids meet the backend. */
  protected keyFor(sid: unknown): string {
    if (typeof sid !== 'string' || sid.length === 0 || sid.length > MAX_SID_LENGTH || sid.includes('\0') || !isWellFormed(sid)) {
      throw new SessionStoreError(
        'ERR_SESSION_ID',
        `session id must be a non-empty, well-formed UTF-16 string of at most ${MAX_SID_LENGTH} characters without NUL, got ${
          typeof sid === 'string' ? `a string of ${sid.length} characters` : typeof sid
        }`,
        { store: this.storeName, sidPrefix: sidPrefixOf(sid) },
      );
    }
    return this.keyPrefix + sid;
  }

  protected sidFor(key: string): string {
    return key.slice(this.keyPrefix.length);
  }

  // The four per-request operations are plain functions around one call(): no extra promise per request.

  private doGet(sid: string): Promise<SessionData | null> {
    try {
      const key = this.openKey(sid);
      const now = this.settings.now();
      return this.call(
        'get',
        sid,
        () => this.readRecord(key, now),
        (record) => (record && record.expiresAt > now ? this.decodeRead(sid, key, record.payload) : null),
      ) as Promise<SessionData | null>;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private doSet(sid: string, session: SessionData): Promise<void> {
    try {
      const key = this.openKey(sid);
      if (session === null || typeof session !== 'object') {
        throw new SessionStoreError('ERR_SESSION_ENCODE', `session must be an object, got ${session === null ? 'null' : typeof session}`, {
          store: this.storeName,
          sidPrefix: sidPrefixOf(sid),
        });
      }
      const now = this.settings.now();
      const expiresAt = this.expiresAt(sid, session, now);
      if (!(expiresAt > now)) return this.call('set', sid, () => this.removeRecord(key), nothing);
      const payload = this.codec.encode(sid, session);
      return this.call('set', sid, () => this.writeRecord(key, payload, expiresAt, now), nothing);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private doTouch(sid: string, session: SessionData): Promise<void> {
    try {
      const key = this.openKey(sid);
      if (this.settings.disableTouch) return Promise.resolve();
      const now = this.settings.now();
      const expiresAt = this.expiresAt(sid, session, now);
      const unlessExpiresAfter = this.settings.touchAfterMs > 0 ? expiresAt - this.settings.touchAfterMs : undefined;
      return this.call('touch', sid, () => this.extendRecord(key, expiresAt, now, unlessExpiresAfter), nothing);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private doDestroy(sid: string): Promise<void> {
    try {
      const key = this.openKey(sid);
      return this.call('destroy', sid, () => this.removeRecord(key), nothing);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** The session at `sid`, or what `onCorrupt` makes of a record that is not one. */
  private decodeRead(sid: string, key: string, payload: unknown): SessionData | Promise<null> {
    try {
      return this.codec.decode(sid, payload);
    } catch (error) {
      this.reportCorrupt('get', sid);
      if (this.settings.onCorrupt === 'error') throw error;
      return this.call('get', sid, () => this.removeRecord(key), () => null);
    }
  }

  private reportCorrupt(operation: string, sid: string): void {
    const event: CorruptRecordEvent = { sidPrefix: sidPrefixOf(sid), code: 'ERR_SESSION_CORRUPT', operation };
    this.emit('corrupt', event);
  }

  private async doAll(): Promise<Record<string, SessionData>> {
    // Keyed by ids a client chose: with a prototype, a session named __proto__ would become it.
    const sessions = Object.create(null) as Record<string, SessionData>;
    for await (const { id, session } of this.decodedSessions('all')) sessions[id] = session;
    return sessions;
  }

  private async *decodedSessions(operation: string): AsyncGenerator<ListedSession, void, undefined> {
    for await (const entries of this.liveEntries(operation, true)) {
      for (const entry of entries) {
        const id = this.sidFor(entry.key);
        let session: SessionData;
        try {
          session = this.codec.decode(id, entry.payload);
        } catch {
          this.reportCorrupt(operation, id);
          continue;
        }
        yield { id, session, expiresAt: entry.expiresAt };
      }
    }
  }

  private async doIds(): Promise<string[]> {
    const ids: string[] = [];
    for await (const entries of this.liveEntries('ids', false)) for (const entry of entries) ids.push(this.sidFor(entry.key));
    return ids;
  }

  private async doLength(): Promise<number> {
    this.open();
    const now = this.settings.now();
    if (this.countRecords) return this.call('length', undefined, () => this.countRecords!(now));
    let count = 0;
    for await (const entries of this.liveEntries('length', false)) count += entries.length;
    return count;
  }

  private async doClear(): Promise<void> {
    this.open();
    if (!this.removeAllRecords) throw this.unsupported('clear');
    // Refused before the backend's removal starts: a started one that call() then refused would reject unhandled.
    if (!this.reachable) throw this.unavailable('clear', undefined);
    const removal = this.removeAllRecords();
    if (isAsyncIterable(removal)) {
      for await (const _step of this.boundedSteps('clear', removal)) {
        // Each step is one batch deleted; the loop only paces and bounds them.
      }
    } else {
      await this.call('clear', undefined, () => removal);
    }
  }

  private async doPrune(): Promise<number> {
    this.open();
    if (!this.removeExpiredRecords) return 0;
    return this.reaper ? this.reaper.runNow(() => this.pruneExpired()) : this.pruneExpired();
  }

  private async pruneExpired(): Promise<number> {
    let total = 0;
    for (;;) {
      const now = this.settings.now();
      const removed = await this.call('prune', undefined, () => this.removeExpiredRecords!(now, this.pruneBatchSize));
      total += removed;
      if (removed < this.pruneBatchSize || this.closing) return total;
    }
  }

  private doClose(): Promise<void> {
    if (!this.closing) {
      this.reaper?.stop();
      if (this.probeTimer) clearTimeout(this.probeTimer);
      this.probeTimer = undefined;
      this.closing = (async () => {
        if (this.closeBackend) await this.call('close', undefined, () => this.closeBackend!());
      })();
    }
    return this.closing;
  }

  /** The live records of the namespace, one backend batch at a time. */
  private async *liveEntries(operation: string, withPayload: boolean): AsyncGenerator<StoredEntry[], void, undefined> {
    this.open();
    if (!this.scanRecords) throw this.unsupported(operation);
    const now = this.settings.now();
    for await (const batch of this.boundedSteps(operation, this.scanRecords(now, withPayload))) {
      yield batch.filter((entry) => entry.expiresAt > now);
    }
  }

  /** Walks a backend's async iterable, each step bounded in time on its own. */
  private async *boundedSteps<T>(operation: string, steps: AsyncIterable<T>): AsyncGenerator<T, void, undefined> {
    const iterator = steps[Symbol.asyncIterator]();
    try {
      for (;;) {
        const step = await this.call(operation, undefined, () => iterator.next());
        if (step.done) return;
        yield step.value;
      }
    } finally {
      // Lets a cursor-backed iterator release its cursor when we stop early or fail.
      void Promise.resolve(iterator.return?.()).catch(() => undefined);
    }
  }

  private expiresAt(sid: string, session: SessionData, now: number): number {
    return expiresAtOf(this.storeName, sid, session, now, this.settings.ttl);
  }

  /** Refuses work after close(). */
  private open(): void {
    if (this.closing) throw new SessionStoreError('ERR_SESSION_CLOSED', 'store is closed', { store: this.storeName });
  }

  /** Refuses work after close(), validates the id and returns its key. */
  private openKey(sid: unknown): string {
    this.open();
    return this.keyFor(sid);
  }

  private unsupported(operation: string): SessionStoreError {
    return new SessionStoreError('ERR_SESSION_UNSUPPORTED', `${operation} is not supported by this store`, {
      store: this.storeName,
    });
  }

  /**
   * Runs one backend primitive: bounded by operationTimeout, its driver errors wrapped in a
   * SessionStoreError, its outcome recorded for the connect / disconnect events. `settleWith` turns
   * the primitive's result into the caller's, in the same step.
   */
  private call<T>(operation: string, sid: string | undefined, primitive: () => MaybePromise<T>): Promise<T>;
  private call<T, R>(operation: string, sid: string | undefined, primitive: () => MaybePromise<T>, settleWith: (value: T) => R): Promise<R>;
  private call<T, R>(operation: string, sid: string | undefined, primitive: () => MaybePromise<T>, settleWith?: (value: T) => R): Promise<T | R> {
    if (!this.reachable && operation !== 'ping' && operation !== 'close') return Promise.reject(this.unavailable(operation, sid));
    let result: MaybePromise<T>;
    try {
      result = primitive();
    } catch (error) {
      return Promise.reject(this.failed(operation, sid, error));
    }
    if (!isPromiseLike<T>(result)) {
      if (!this.reachable) this.markAvailable();
      try {
        return Promise.resolve(settleWith ? settleWith(result) : result);
      } catch (error) {
        return Promise.reject(error);
      }
    }
    const outagesAtStart = this.outages;
    const recoveriesAtStart = this.recoveries;
    const deadlines = this.deadlines;
    return new Promise<T | R>((resolve, reject) => {
      const deadline = deadlines?.start(() => reject(this.failed(operation, sid, this.timedOut(operation, sid), recoveriesAtStart)));
      result.then(
        (value) => {
          if (deadline) deadlines!.finish(deadline);
          if (!this.reachable && this.outages === outagesAtStart) this.markAvailable();
          if (!settleWith) return resolve(value);
          // An error here (a corrupt record, say) is the store's own, not the backend's.
          let settled: R;
          try {
            settled = settleWith(value);
          } catch (error) {
            return reject(error);
          }
          resolve(settled);
        },
        (error: unknown) => {
          if (deadline) deadlines!.finish(deadline);
          reject(this.failed(operation, sid, error, recoveriesAtStart));
        },
      );
    });
  }

  private timedOut(operation: string, sid: string | undefined): SessionStoreError {
    return new SessionStoreError('ERR_SESSION_TIMEOUT', `${operation} did not finish within ${this.settings.operationTimeoutMs} ms`, {
      store: this.storeName,
      sidPrefix: sidPrefixOf(sid),
    });
  }

  /** Refuses a call at once while the backend is known to be down, so no caller waits out a timeout. */
  private unavailable(operation: string, sid: string | undefined): SessionStoreError {
    return new SessionStoreError('ERR_SESSION_UNAVAILABLE', `${operation} refused: the backend is unreachable, waiting for it to answer again`, {
      store: this.storeName,
      sidPrefix: sidPrefixOf(sid),
    });
  }

  /** `recoveriesAtStart`: a call that began before the latest reconnect fails without reporting the backend down. */
  private failed(operation: string, sid: string | undefined, error: unknown, recoveriesAtStart = this.recoveries): SessionStoreError {
    let wrapped: SessionStoreError;
    if (error instanceof SessionStoreError) {
      wrapped = error;
    } else {
      const cause = cleanCause(error, sid === undefined ? [] : [sid]);
      wrapped = new SessionStoreError('ERR_SESSION_BACKEND', `${operation} failed: ${cause.message || cause.name}`, {
        store: this.storeName,
        sidPrefix: sidPrefixOf(sid),
        cause,
      });
    }
    const backendDown = wrapped.code === 'ERR_SESSION_TIMEOUT' || (wrapped.code === 'ERR_SESSION_BACKEND' && this.isUnavailableError(error));
    if (backendDown && recoveriesAtStart === this.recoveries) this.markUnavailable();
    return wrapped;
  }

  private scheduleProbe(): void {
    if (this.probeTimer || this.closing) return;
    const delayMs = this.nextProbeDelayMs;
    this.nextProbeDelayMs = Math.min(delayMs * 2, this.probeIntervalMs);
    this.probeTimer = setTimeout(() => {
      this.probeTimer = undefined;
      const probe = (): MaybePromise<unknown> =>
        this.ping ? this.ping() : this.readRecord(`${this.keyPrefix}\u0001probe`, this.settings.now());
      this.call('ping', undefined, probe).then(
        () => this.markAvailable(),
        () => {
          if (!this.reachable) this.scheduleProbe();
        },
      );
    }, Math.min(delayMs, this.probeIntervalMs));
    this.probeTimer.unref();
  }
}

/** Ids with lone surrogates would collide: a backend that stores UTF-8 turns every one into U+FFFD. */
function isWellFormed(sid: string): boolean {
  return (sid as string & { isWellFormed(): boolean }).isWellFormed();
}

/** What the write operations resolve to, whatever the backend answered. */
function nothing(): void {}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function';
}

export type { SessionStoreErrorCode };
