import { Store, type SessionData } from 'express-session';
import { settle, type Callback } from './callbacks';
import { CallRunner } from './calls';
import { Codec } from './codec';
import { SessionStoreError, sidPrefixOf, type SessionStoreErrorCode } from './errors';
import { expiresAtOf } from './expiry';
import { MAX_SID_LENGTH, SessionIds, isWellFormed } from './ids';
import { DEFAULT_PRUNE_INTERVAL_MS, optionError, resolveBaseOptions, resolvePruneInterval, type BaseStoreOptions, type CorruptRecordEvent, type ReaperOptions, type ResolvedBaseOptions } from './options';
import type { Connection } from './ownership';
import { PruneBatches } from './prune-batches';
import { Reaper } from './reaper';
import { RecentReads } from './recent-reads';

type MaybePromise<T> = T | Promise<T>;

/**
 * A record as a backend holds it: the encoded session and its absolute expiry in epoch ms, or
 * `Infinity` where the read did not fetch it (then a `touch` after this read goes to the backend).
 */
export interface StoredSession {
  payload: unknown;
  expiresAt: number;
  /**
   * With `maxLifetime`, where the backend keeps the session's creation: the instant its lifetime
   * ends, past which no touch moves the expiry. With it, `touchAfter` also skips in the process a
   * touch at the end of a lifetime that could not move the expiry by `touchAfter`.
   */
  lifetimeEndsAt?: number;
}

/**
 * The payload of a tombstone: what `entombRecord` leaves where a destroyed session was, until its
 * expiry. No encoder writes it (the codec refuses an empty encoding), `get` reads it as no session,
 * and listings and counts leave it out.
 */
export const TOMBSTONE = '';

/** One record met while iterating a store's namespace; `payload` is present when it was asked for. */
export interface StoredEntry {
  key: string;
  expiresAt: number;
  payload?: unknown;
  /** Where the backend keeps it (`BackendSettings.maxLifetime`): when the record was created. */
  createdAt?: number;
}

/** How a backend fits under the base, fixed by the store's constructor. */
export interface BackendSettings {
  /** Prepended to every session id to form the backend key (Redis' `sess:`); '' where a table is the namespace. */
  keyPrefix?: string;
  /** The reaper's interval when the `pruneInterval` option is absent, for backends that implement `removeExpiredRecords`. Default 15 minutes. */
  defaultPruneIntervalMs?: number;
  /** Most records one `removeExpiredRecords` call deletes (fewer while statements run slow). Default 1000. */
  pruneBatchSize?: number;
  /**
   * Longest wait, in milliseconds, between reachability probes while the backend is down: the first
   * probe runs 50 ms after the outage begins and the wait doubles up to this. Default 250.
   */
  probeIntervalMs?: number;
  /** The names of the store's own options; with it, the base refuses any option neither it nor the store knows. */
  ownOptions?: readonly string[];
  /**
   * The backend implements `entombRecord`, and its `writeRecord` writes nothing over a live
   * tombstone: `destroy` then leaves one (`tombstoneTtl`, on by default).
   */
  tombstones?: boolean;
  /**
   * The backend keeps each record's creation instant (set by the write that creates the record, kept
   * by every later write while the record is live) and caps an expiry that `writeRecord` or
   * `extendRecord` stores at that instant + their `maxLifetimeMs` argument: `maxLifetime` is accepted.
   */
  maxLifetime?: boolean;
  /**
   * The backend stores the owner `writeRecord` is given beside the record (none for a tombstone),
   * and `scanOwnerRecords` finds a user's records by an index: `userOf` is accepted.
   */
  userIndex?: boolean;
}

/** One live session met by `sessions()`. */
export interface ListedSession {
  /** The session id; with `hashIds`, the storage id after `STORAGE_ID_MARK`, which only `destroy` takes. */
  id: string;
  session: SessionData;
  /** The expiry the backend holds, in epoch ms: later than `session.cookie.expires` once a touch extended it. */
  expiresAt: number;
}

/** One live session of a user, as `sessionsOf` gives it. */
export interface UserSession extends ListedSession {
  /** When the session was first stored, in epoch ms, where the store keeps it. */
  createdAt?: number;
}

export { MAX_SID_LENGTH };
const DEFAULT_PROBE_INTERVAL_MS = 250;
/** The longest user id `userOf` may give, in characters. */
const MAX_USER_LENGTH = 512;

/** Node's socket error codes that mean the backend cannot be reached. */
const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNABORTED']);

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
  private readonly sessionIds: SessionIds;
  private readonly keyPrefix: string;
  private readonly reaper: Reaper | undefined;
  private readonly pruneBatches: PruneBatches;
  private readonly calls: CallRunner;
  /** With `touchAfter`: the expiry each `get` just read, so the `touch` that follows can skip without a round trip. */
  private readonly recentReads: RecentReads | undefined;
  /** What the store opened itself (a pool, a client, a file), closed by `close()` after `closeBackend`. */
  private readonly ownedClosers: Array<() => unknown> = [];
  private closing: Promise<void> | undefined;

  protected constructor(storeName: string, options: BaseStoreOptions | undefined, backend: BackendSettings = {}) {
    super();
    this.storeName = storeName;
    // Prototype methods are already in place here: a backend that deletes expired records gets a reaper and its options.
    const reaps = typeof this.removeExpiredRecords === 'function';
    const ownOptions = backend.ownOptions && (reaps ? [...backend.ownOptions, 'pruneInterval'] : backend.ownOptions);
    const { tombstones, maxLifetime, userIndex } = backend;
    this.settings = resolveBaseOptions(storeName, options, ownOptions, { tombstones, maxLifetime, userIndex });
    if (tombstones && typeof this.entombRecord !== 'function') throw new TypeError(`${storeName}: a backend with tombstones implements entombRecord`);
    if (userIndex && typeof this.scanOwnerRecords !== 'function') throw new TypeError(`${storeName}: a backend with a user index implements scanOwnerRecords`);
    this.codec = new Codec(storeName, this.settings.serializer, this.settings.maxSessionBytes, this.settings.cipher);
    this.sessionIds = new SessionIds(storeName, this.settings.hashIds);
    this.keyPrefix = backend.keyPrefix ?? '';
    this.pruneBatches = new PruneBatches(backend.pruneBatchSize ?? 1000);
    this.recentReads = this.settings.touchAfterMs > 0 && !this.settings.disableTouch ? new RecentReads() : undefined;
    this.calls = new CallRunner({
      storeName,
      operationTimeoutMs: this.settings.operationTimeoutMs,
      probeIntervalMs: backend.probeIntervalMs ?? DEFAULT_PROBE_INTERVAL_MS,
      isUnavailableError: (error) => this.isUnavailableError(error),
      probe: () => (this.ping ? this.ping() : this.readRecord(`${this.keyPrefix}\u0001probe`, Math.floor(this.settings.now()))),
      ready: this.ready && (() => this.ready!()),
      announce: (event) => this.emit(event),
    });
    if (reaps) {
      const pruneIntervalMs = resolvePruneInterval(storeName, (options ?? {}) as ReaperOptions, backend.defaultPruneIntervalMs ?? DEFAULT_PRUNE_INTERVAL_MS);
      if (pruneIntervalMs > 0) this.reaper = new Reaper(pruneIntervalMs, () => this.pruneExpired());
    }
    // After the store's own constructor has run: the setup may start, and the reaper's clock with it.
    process.nextTick(() => {
      if (this.closing) return;
      this.calls.beginSetup();
      this.reaper?.start();
    });
  }

  // The backend primitives. Keys are already namespaced; expiry filtering is also done here, so a
  // backend may return an expired record, but one that filters in its query saves a transfer.

  /** The record at `key`, or nothing. */
  protected abstract readRecord(key: string, now: number): MaybePromise<StoredSession | null | undefined>;

  /**
   * The record a read found, for a backend that keeps the creation instant (`createdAt` in epoch ms,
   * as a number or as the string a driver gives for a BIGINT; null or undefined where the record has
   * none): with `maxLifetime`, it says where the lifetime ends.
   */
  protected storedSession(payload: unknown, expiresAt: number, createdAt: number | string | null | undefined): StoredSession {
    const { maxLifetimeMs } = this.settings;
    return maxLifetimeMs === undefined || createdAt === null || createdAt === undefined
      ? { payload, expiresAt }
      : { payload, expiresAt, lifetimeEndsAt: Number(createdAt) + maxLifetimeMs };
  }
  // What the write primitives return or resolve to is discarded: a backend may hand back its driver's promise as it is.

  /**
   * Creates or replaces the record at `key`, unless it is a live tombstone (with
   * `BackendSettings.tombstones`): then it writes nothing. With `BackendSettings.maxLifetime`, a
   * record this write creates (none was live) is created at `now`, a live one keeps its creation
   * instant, and the expiry stored is at most that instant + `maxLifetimeMs` when it is given.
   * With `BackendSettings.userIndex`, the record's owner becomes `owner` (none when undefined), in
   * the same write.
   */
  protected abstract writeRecord(
    key: string,
    payload: string,
    expiresAt: number,
    now: number,
    maxLifetimeMs: number | undefined,
    owner: string | undefined,
  ): MaybePromise<unknown>;
  /**
   * Sets the expiry of the record at `key` to `expiresAt` when the record exists and is live
   * (expiry after `now`) and, when `unlessExpiresAfter` is given, its expiry is before that instant;
   * with `maxLifetimeMs`, at most its creation instant + that. Never creates a record, never changes
   * its payload, never brings a tombstone's session back (a backend that cannot tell a tombstone in
   * this one command may lengthen it: it still holds no session). `owner` is the session's owner as
   * at `writeRecord`, for a backend whose index must outlive the records it lists (it never changes the
   * record's owner).
   */
  protected abstract extendRecord(
    key: string,
    expiresAt: number,
    now: number,
    unlessExpiresAfter: number | undefined,
    maxLifetimeMs: number | undefined,
    owner: string | undefined,
  ): MaybePromise<unknown>;
  /** Replaces whatever is at `key` with a tombstone (`TOMBSTONE` as its payload) that lapses at `expiresAt`. */
  protected entombRecord?(key: string, expiresAt: number, now: number): MaybePromise<unknown>;
  /** Deletes the record at `key`; deleting a missing record is not an error. */
  protected abstract removeRecord(key: string): MaybePromise<unknown>;
  /** Iterates this store's namespace in batches, without blocking the backend; tombstones are left out. */
  protected scanRecords?(now: number, withPayload: boolean): AsyncIterable<StoredEntry[]>;
  /**
   * The live records (tombstones left out) whose owner is `owner`, with their payload and, where
   * kept, their creation instant, found by an index. An index that may hold stale entries (a record
   * since written with another owner, or gone) may return them: the base checks each against its
   * session and hands the stale ones to `forgetOwnerRecords`.
   */
  protected scanOwnerRecords?(owner: string, now: number): MaybePromise<StoredEntry[]>;
  /** Drops `keys` from the index of `owner`, where the index is kept apart from the records. */
  protected forgetOwnerRecords?(owner: string, keys: string[]): MaybePromise<unknown>;
  /** Counts live records, tombstones left out, without fetching them. Without it, `length` counts a scan. */
  protected countRecords?(now: number): MaybePromise<number>;
  /**
   * Deletes every record of this store's namespace, and nothing outside it. A backend that must
   * work in batches returns an async iterable with one step per batch: each step gets its own time bound.
   */
  protected removeAllRecords?(): MaybePromise<void> | AsyncIterable<unknown>;
  /** Deletes at most `limit` expired records; returns how many. Only for backends without native expiry. */
  protected removeExpiredRecords?(now: number, limit: number): MaybePromise<number>;
  /**
   * One-time setup every call waits for (creating or checking a table, an index), started as soon
   * as the store is built. A SessionStoreError it throws (a table that is not ours) is the answer
   * of every later call; any other failure is tried again by the next call.
   */
  protected ready?(): Promise<void>;
  /** Cheapest round trip that proves the backend answers. Default: a read of an unused key. */
  protected ping?(): MaybePromise<void>;
  /** Undoes what the store did to a connection it did not open (listeners); owned connections are closed by the base after it. */
  protected closeBackend?(): MaybePromise<void>;

  /**
   * The handle of `connection`; when the store opened it, `close()` ends it with `close` (after
   * `closeBackend`), and when the caller handed it in, nothing of ours ever closes it.
   */
  protected adopt<T>(connection: Connection<T>, close: (handle: T) => unknown): T {
    if (connection.owned) this.ownedClosers.push(() => close(connection.handle));
    return connection.handle;
  }
  /** Whether a driver error means the backend cannot be reached (as opposed to a bad query). */
  protected isUnavailableError(error: unknown): boolean {
    const code = (error as { code?: unknown } | null)?.code;
    if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true;
    const message = error instanceof Error ? error.message : '';
    return /connection (is )?(closed|terminated|lost)|ECONNREFUSED|socket (hang up|closed)/i.test(message);
  }

  /** A backend whose client reports its own connection state calls these. */
  protected markUnavailable(): void {
    this.calls.markUnavailable();
  }

  protected markAvailable(): void {
    this.calls.markAvailable();
  }

  /**
   * Whether `touch` decides from the expiry that the `get` before it read (`touchAfter` set, touch
   * not disabled): a backend whose read can leave the expiry out (`Infinity`) fetches it then.
   */
  protected get touchUsesReadExpiry(): boolean {
    return this.recentReads !== undefined;
  }

  /**
   * Whether the last backend call (or the client's own state) says the backend answers. While it is
   * false every call but the probe fails at once with `ERR_SESSION_UNAVAILABLE`.
   */
  get isAvailable(): boolean {
    return this.calls.isAvailable;
  }

  get(sid: string): Promise<SessionData | null>;
  get(sid: string, callback: Callback<SessionData | null>): void;
  get(sid: string, callback?: Callback<SessionData | null>): Promise<SessionData | null> | void {
    return this.doGet(sid, typeof callback === 'function' ? callback : undefined);
  }

  set(sid: string, session: SessionData): Promise<void>;
  set(sid: string, session: SessionData, callback: Callback<void>): void;
  set(sid: string, session: SessionData, callback?: Callback<void>): Promise<void> | void {
    return this.doSet(sid, session, typeof callback === 'function' ? callback : undefined);
  }

  touch(sid: string, session: SessionData): Promise<void>;
  touch(sid: string, session: SessionData, callback: Callback<void>): void;
  touch(sid: string, session: SessionData, callback?: Callback<void>): Promise<void> | void {
    return this.doTouch(sid, session, typeof callback === 'function' ? callback : undefined);
  }

  destroy(sid: string): Promise<void>;
  destroy(sid: string, callback: Callback<void>): void;
  destroy(sid: string, callback?: Callback<void>): Promise<void> | void {
    return this.doDestroy(sid, typeof callback === 'function' ? callback : undefined);
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

  /** The ids of every live session; with `hashIds`, their storage ids after `STORAGE_ID_MARK`, as `all()` and `sessions()` give them. */
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

  /**
   * The live sessions of `user` (as `userOf` names it), found by the store's index: never an expired
   * or destroyed session, never another user's. Needs the `userOf` option.
   */
  sessionsOf(user: string | number): Promise<UserSession[]>;
  sessionsOf(user: string | number, callback: Callback<UserSession[]>): void;
  sessionsOf(user: string | number, callback?: Callback<UserSession[]>): Promise<UserSession[]> | void {
    return settle(this.doSessionsOf(user), callback);
  }

  /**
   * Destroys every live session of `user` but those in `except` (session ids, e.g. `req.sessionID`
   * to keep the current one, or ids as `sessionsOf` lists them), as `destroy` does; resolves to how
   * many it destroyed. Needs the `userOf` option.
   */
  destroySessionsOf(user: string | number, options?: { except?: string | readonly string[] }): Promise<number>;
  destroySessionsOf(user: string | number, callback: Callback<number>): void;
  destroySessionsOf(user: string | number, options: { except?: string | readonly string[] } | undefined, callback: Callback<number>): void;
  destroySessionsOf(
    user: string | number,
    options?: { except?: string | readonly string[] } | Callback<number>,
    callback?: Callback<number>,
  ): Promise<number> | void {
    if (typeof options === 'function') return settle(this.doDestroySessionsOf(user, undefined), options);
    return settle(this.doDestroySessionsOf(user, options), callback);
  }

  /** The id that listings (`ids()`, `sessionsOf()`…) give for the session `sid`: `sid` itself, or with `hashIds` its marked storage id. */
  listedIdOf(sid: string): string {
    return this.sidFor(this.keyFor(sid));
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

  /** Maps a session id to its storage key (validated, hashed with `hashIds`, namespaced): the one place where ids meet the backend. */
  protected keyFor(sid: unknown): string {
    return this.keyPrefix + this.sessionIds.storageIdOf(sid);
  }

  /** The id a listing gives for the record at `key`: its session id, or with `hashIds` its marked storage id. */
  protected sidFor(key: string): string {
    return this.sessionIds.listedIdOf(this.storageIdOf(key));
  }

  /** The id the record at `key` is stored under, below the namespace: what an encrypted payload is bound to. */
  private storageIdOf(key: string): string {
    return key.slice(this.keyPrefix.length);
  }

  /**
   * The record at `key`, the hashed key of `sid`. With `hashIds: 'migrate'`, one that is only under
   * the raw id is moved first: written under `key` with its expiry, then removed from the raw id,
   * so a failure between the two leaves it in one place at least. Two requests moving it at once
   * write the same record twice. One that saves the session within the round trip between another's
   * read and write loses that save, as with any two requests that write one session at once.
   */
  private readSession(sid: string, key: string, now: number): MaybePromise<StoredSession | null | undefined> {
    const unhashed = this.sessionIds.unhashedIdOf(sid);
    return unhashed === undefined ? this.readRecord(key, now) : this.readMigrating(unhashed, key, now);
  }

  private async readMigrating(unhashed: string, key: string, now: number): Promise<StoredSession | null | undefined> {
    const record = await this.readRecord(key, now);
    if (record) return record;
    const rawKey = this.keyPrefix + unhashed;
    const old = await this.readRecord(rawKey, now);
    // A payload no write primitive could have stored stays where it is, and is reported corrupt.
    if (!old || !(old.expiresAt > now) || typeof old.payload !== 'string') return old;
    const payload = this.codec.rebind(old.payload, unhashed, this.storageIdOf(key));
    await this.writeRecord(key, payload, old.expiresAt, now, this.settings.maxLifetimeMs, this.ownerOfPayload(payload, this.storageIdOf(key)));
    await this.removeRecord(rawKey);
    return { payload, expiresAt: old.expiresAt };
  }

  /**
   * Removes the session `sid` stored at `key`. With `hashIds: 'migrate'` the record under the raw id
   * goes first: were the hashed one removed first and the other removal failed, the next `get`
   * would move the session back. `entomb` leaves a tombstone under `key` where tombstones are on.
   */
  private removeSession(sid: string, key: string, now: number, entomb = false): MaybePromise<unknown> {
    const remove = () => (entomb ? this.endRecord(key, now) : this.removeRecord(key));
    const unhashed = this.sessionIds.unhashedIdOf(sid);
    if (unhashed === undefined) return remove();
    return (async () => {
      await this.removeRecord(this.keyPrefix + unhashed);
      await remove();
    })();
  }

  /** Ends the session at `key` as `destroy` does: a tombstone where tombstones are on, else no record. */
  private endRecord(key: string, now: number): MaybePromise<unknown> {
    const { tombstoneTtlMs } = this.settings;
    return tombstoneTtlMs > 0 ? this.entombRecord!(key, now + tombstoneTtlMs, now) : this.removeRecord(key);
  }

  /** The owner index key of the session's user, or undefined for none; a `userOf` that answers anything but an id fails the set. */
  private ownerOf(sid: string, session: SessionData): string | undefined {
    const { userOf } = this.settings;
    if (userOf === undefined) return undefined;
    let user: unknown;
    try {
      user = userOf(session);
    } catch (error) {
      throw new SessionStoreError('ERR_SESSION_ENCODE', `userOf threw (${error instanceof Error ? error.name : typeof error})`, { store: this.storeName, sidPrefix: sidPrefixOf(sid) });
    }
    if (user === undefined || user === null) return undefined;
    return this.ownerKeyOf(user, 'ERR_SESSION_ENCODE', `userOf returned`, sid);
  }

  /** The index key of a user id (a non-empty string of at most 512 characters, or a finite number). */
  private ownerKeyOf(user: unknown, code: 'ERR_SESSION_ENCODE' | 'ERR_SESSION_OPTIONS', what: string, sid?: string): string {
    const id = typeof user === 'number' && Number.isFinite(user) ? String(user) : user;
    // A NUL or a lone surrogate is refused as in session ids: PostgreSQL's text cannot hold the one, UTF-8 columns the other.
    if (typeof id !== 'string' || id.length === 0 || id.length > MAX_USER_LENGTH || id.includes('\u0000') || !isWellFormed(id)) {
      const got = typeof user === 'string' ? `a string of ${user.length} characters${id === user && user.length > 0 && user.length <= MAX_USER_LENGTH ? ' holding a NUL or a lone surrogate' : ''}` : typeof user;
      throw new SessionStoreError(code, `${what} ${got}: a user id is a well-formed string of 1 to ${MAX_USER_LENGTH} characters without NUL, or a finite number`, {
        store: this.storeName,
        ...(sid !== undefined && { sidPrefix: sidPrefixOf(sid) }),
      });
    }
    return this.sessionIds.ownerKeyOf(id, this.settings.cipher !== undefined);
  }

  // The four per-request operations are plain functions around one call(), which hands the outcome
  // to the callback when there is one (express-session always passes one) and makes no promise then.

  private doGet(sid: string, callback?: Callback<SessionData | null>): Promise<SessionData | null> | undefined {
    try {
      const key = this.openKey(sid);
      const now = this.wholeNow();
      return this.call(
        'get',
        sid,
        () => this.readSession(sid, key, now),
        (record) => {
          if (!record || !(record.expiresAt > now) || record.payload === TOMBSTONE) return null;
          const session = this.decodeRead(sid, key, record.payload);
          // A record that onCorrupt removes (the promise) leaves no session for a touch to skip.
          if (!(session instanceof Promise)) this.recentReads?.remember(sid, record.expiresAt, now, record.lifetimeEndsAt);
          return session;
        },
        callback,
      );
    } catch (error) {
      return failure(error, callback);
    }
  }

  private doSet(sid: string, session: SessionData, callback?: Callback<void>): Promise<void> | undefined {
    try {
      const key = this.openKey(sid);
      this.recentReads?.forget(sid);
      if (session === null || typeof session !== 'object') {
        throw new SessionStoreError('ERR_SESSION_ENCODE', `session must be an object, got ${session === null ? 'null' : typeof session}`, {
          store: this.storeName,
          sidPrefix: sidPrefixOf(sid),
        });
      }
      const now = this.wholeNow();
      const expiresAt = this.expiresAt(sid, session, now);
      // An expired session ends as a destroyed one does: a later set of it must not bring it back either.
      if (!(expiresAt > now)) return this.call('set', sid, () => this.removeSession(sid, key, now, true), nothing, callback);
      const payload = this.codec.encode(sid, session, this.storageIdOf(key));
      const owner = this.ownerOf(sid, session);
      return this.call('set', sid, () => this.writeRecord(key, payload, expiresAt, now, this.settings.maxLifetimeMs, owner), nothing, callback);
    } catch (error) {
      return failure(error, callback);
    }
  }

  private doTouch(sid: string, session: SessionData, callback?: Callback<void>): Promise<void> | undefined {
    try {
      const key = this.openKey(sid);
      if (this.settings.disableTouch) return success(callback);
      const now = this.wholeNow();
      const expiresAt = this.expiresAt(sid, session, now);
      const { touchAfterMs } = this.settings;
      const unlessExpiresAfter = touchAfterMs > 0 ? Math.ceil(expiresAt - touchAfterMs) : undefined;
      // The backend would skip this write by the expiry that this request's get just read (the new
      // expiry as the lifetime caps it): a skip writes nothing, so it can neither shorten what another
      // process extended nor revive what it destroyed.
      const read = unlessExpiresAfter === undefined ? undefined : this.recentReads?.recall(sid, now);
      if (read !== undefined && read.expiresAt >= Math.min(unlessExpiresAfter!, Math.ceil(read.lifetimeEndsAt - touchAfterMs))) return success(callback);
      const owner = this.ownerOf(sid, session);
      return this.call('touch', sid, () => this.extendRecord(key, expiresAt, now, unlessExpiresAfter, this.settings.maxLifetimeMs, owner), nothing, callback);
    } catch (error) {
      return failure(error, callback);
    }
  }

  private doDestroy(sid: string, callback?: Callback<void>): Promise<void> | undefined {
    try {
      const key = this.openKey(sid, true);
      const now = this.wholeNow();
      return this.call('destroy', sid, () => this.removeSession(sid, key, now, true), nothing, callback);
    } catch (error) {
      return failure(error, callback);
    }
  }

  /** The session at `sid`, or what `onCorrupt` makes of a record that is not one. */
  private decodeRead(sid: string, key: string, payload: unknown): SessionData | Promise<null> {
    try {
      return this.codec.decode(sid, payload, this.storageIdOf(key));
    } catch (error) {
      this.reportCorrupt('get', sid);
      if (this.settings.onCorrupt === 'error') throw error;
      return this.call('get', sid, () => this.removeSession(sid, key, this.wholeNow()), () => null);
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
        if (entry.payload === TOMBSTONE) continue;
        const id = this.sidFor(entry.key);
        let session: SessionData;
        try {
          session = this.codec.decode(id, entry.payload, this.storageIdOf(entry.key));
        } catch {
          this.reportCorrupt(operation, id);
          continue;
        }
        yield { id, session, expiresAt: entry.expiresAt };
      }
    }
  }

  private async doSessionsOf(user: string | number): Promise<UserSession[]> {
    const owner = this.ownedIndexKey(user);
    const now = this.wholeNow();
    const entries = await this.call('sessionsOf', undefined, () => this.scanOwnerRecords!(owner, now));
    const sessions: UserSession[] = [];
    const stale: string[] = [];
    for (const entry of entries) {
      if (!(entry.expiresAt > now) || entry.payload === TOMBSTONE) continue;
      const id = this.sidFor(entry.key);
      let session: SessionData;
      try {
        session = this.codec.decode(id, entry.payload, this.storageIdOf(entry.key));
      } catch {
        this.reportCorrupt('sessionsOf', id);
        continue;
      }
      // The index is a hint, the session the truth: one saved since under another user, or none, is not this user's.
      if (this.ownerOf(id, session) !== owner) {
        stale.push(entry.key);
        continue;
      }
      sessions.push({ id, session, expiresAt: entry.expiresAt, ...(entry.createdAt !== undefined && { createdAt: entry.createdAt }) });
    }
    if (stale.length > 0 && this.forgetOwnerRecords) await this.call('sessionsOf', undefined, () => this.forgetOwnerRecords!(owner, stale));
    return sessions;
  }

  private async doDestroySessionsOf(user: string | number, options: { except?: string | readonly string[] } | undefined): Promise<number> {
    if (options !== undefined && (options === null || typeof options !== 'object')) throw optionError(this.storeName, 'destroySessionsOf options must be an object { except }');
    const except = options?.except === undefined ? [] : typeof options.except === 'string' ? [options.except] : options.except;
    if (!Array.isArray(except)) throw optionError(this.storeName, 'destroySessionsOf except must be a session id or an array of them');
    const kept = new Set(except.map((sid) => this.openKey(sid, true)));
    let destroyed = 0;
    for (const { id } of await this.doSessionsOf(user)) {
      const key = this.openKey(id, true);
      if (kept.has(key)) continue;
      const now = this.wholeNow();
      await this.call('destroySessionsOf', undefined, () => this.endRecord(key, now));
      destroyed++;
    }
    return destroyed;
  }

  /** The owner index key of a user id passed to `sessionsOf` or `destroySessionsOf`, once the store is known to keep the index. */
  private ownedIndexKey(user: unknown): string {
    this.open();
    if (!this.scanOwnerRecords || this.settings.userOf === undefined) {
      throw new SessionStoreError('ERR_SESSION_UNSUPPORTED', 'sessionsOf and destroySessionsOf need the userOf option', { store: this.storeName });
    }
    return this.ownerKeyOf(user, 'ERR_SESSION_OPTIONS', 'the user id is');
  }

  /** The owner of a stored payload, for a record moved by `'migrate'`: the session decides, as at every set. */
  private ownerOfPayload(payload: string, storageId: string): string | undefined {
    if (this.settings.userOf === undefined) return undefined;
    try {
      return this.ownerOf(storageId, this.codec.decode(storageId, payload, storageId));
    } catch {
      return undefined;
    }
  }

  private async doIds(): Promise<string[]> {
    const ids: string[] = [];
    for await (const entries of this.liveEntries('ids', false)) for (const entry of entries) ids.push(this.sidFor(entry.key));
    return ids;
  }

  private async doLength(): Promise<number> {
    this.open();
    const now = this.wholeNow();
    if (this.countRecords) return this.call('length', undefined, () => this.countRecords!(now));
    let count = 0;
    for await (const entries of this.liveEntries('length', false)) count += entries.length;
    return count;
  }

  private async doClear(): Promise<void> {
    this.open();
    if (!this.removeAllRecords) throw this.unsupported('clear');
    // The setup (which checks the table is ours) is done, and the backend answers, before the removal starts.
    await this.call('clear', undefined, nothing);
    if (!this.calls.isAvailable) throw this.calls.unavailable('clear', undefined);
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

  private pruneExpired(): Promise<number> {
    return this.pruneBatches.run(
      (limit) => {
        const now = this.wholeNow();
        return this.call('prune', undefined, () => this.removeExpiredRecords!(now, limit));
      },
      () => this.closing !== undefined,
    );
  }

  private doClose(): Promise<void> {
    if (!this.closing) {
      this.reaper?.stop();
      this.calls.stop();
      this.closing = (async () => {
        try {
          if (this.closeBackend) await this.call('close', undefined, () => this.closeBackend!());
        } finally {
          for (const close of this.ownedClosers) await this.call('close', undefined, close);
        }
      })();
    }
    return this.closing;
  }

  /** The live records of the namespace, one backend batch at a time. */
  private async *liveEntries(operation: string, withPayload: boolean): AsyncGenerator<StoredEntry[], void, undefined> {
    this.open();
    if (!this.scanRecords) throw this.unsupported(operation);
    const now = this.wholeNow();
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

  /** The session's expiry, and with `maxLifetime` at most a lifetime from now (the backend caps it by the record's own creation). */
  private expiresAt(sid: string, session: SessionData, now: number): number {
    const expiresAt = Math.ceil(expiresAtOf(this.storeName, sid, session, now, this.settings.ttl));
    const { maxLifetimeMs } = this.settings;
    return maxLifetimeMs === undefined ? expiresAt : Math.min(expiresAt, now + maxLifetimeMs);
  }

  /** Refuses work after close(). */
  private open(): void {
    if (this.closing) throw new SessionStoreError('ERR_SESSION_CLOSED', 'store is closed', { store: this.storeName });
  }

  /** Refuses work after close(), validates the id and returns its key; `listed` also takes an id as a listing gives it. */
  private openKey(sid: unknown, listed = false): string {
    this.open();
    const storageId = listed ? this.sessionIds.storageIdOfListed(sid) : undefined;
    return storageId === undefined ? this.keyFor(sid) : this.keyPrefix + storageId;
  }

  private unsupported(operation: string): SessionStoreError {
    return new SessionStoreError('ERR_SESSION_UNSUPPORTED', `${operation} is not supported by this store`, {
      store: this.storeName,
    });
  }

  /**
   * Runs one backend primitive through the call runner (setup, time bound, availability, clean
   * errors); with a callback, hands it the outcome and returns nothing.
   */
  private call<T>(operation: string, sid: string | undefined, primitive: () => MaybePromise<T>): Promise<T>;
  private call<T, R>(operation: string, sid: string | undefined, primitive: () => MaybePromise<T>, settleWith: (value: T) => R | Promise<R>): Promise<R>;
  private call<T, R>(
    operation: string,
    sid: string | undefined,
    primitive: () => MaybePromise<T>,
    settleWith: (value: T) => R | Promise<R>,
    callback: Callback<R> | undefined,
  ): Promise<R> | undefined;
  private call<T, R>(
    operation: string,
    sid: string | undefined,
    primitive: () => MaybePromise<T>,
    settleWith?: (value: T) => R | Promise<R>,
    callback?: Callback<R>,
  ): Promise<T | R> | undefined {
    if (!settleWith) return this.calls.run(operation, sid, primitive);
    if (callback) {
      this.calls.runWith(callback, operation, sid, primitive, settleWith);
      return undefined;
    }
    return this.calls.run(operation, sid, primitive, settleWith) as Promise<R>;
  }

  /**
   * The clock in whole milliseconds, as every backend stores instants: `now` is rounded down and an
   * expiry up, so for an integer expiry x, x > now holds exactly when it held before rounding.
   */
  private wholeNow(): number {
    return Math.floor(this.settings.now());
  }
}

/** What the write operations resolve to, whatever the backend answered. */
function nothing(): void {}

/** An operation refused before any call: the callback gets the error on the next tick, or the promise rejects. */
function failure(error: unknown, callback: Callback<never> | undefined): Promise<never> | undefined {
  if (!callback) return Promise.reject(error);
  process.nextTick(callback, error);
  return undefined;
}

/** An operation done without a call (a touch skipped): the callback is called on the next tick, or the promise resolves. */
function success(callback: Callback<void> | undefined): Promise<void> | undefined {
  if (!callback) return Promise.resolve();
  process.nextTick(callback, null);
  return undefined;
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function';
}

export type { SessionStoreErrorCode };
