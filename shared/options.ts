import type { SessionData } from 'express-session';
import { SessionStoreError } from './errors';
import type { Serializer } from './codec';
import { Cipher, type EncryptionKey } from './encryption';
import type { HashIds } from './ids';

/** Milliseconds a session lives, computed from the session itself; wins over `cookie.expires`. */
export type TtlFunction = (session: SessionData, sid: string) => number;

/** Options every store in this package accepts. All durations are milliseconds. */
export interface BaseStoreOptions {
  /**
   * How long a session lives when its cookie has no `expires` (a browser-session cookie).
   * A function wins over `cookie.expires`. Default: one day.
   */
  ttl?: number | TtlFunction;
  /** Make `touch` a no-op: expiry then moves only when the session is saved. Default: false. */
  disableTouch?: boolean;
  /**
   * Skip the backend write of a `touch` when the stored expiry was extended less than this long
   * ago. Default: 0 (every touch writes).
   */
  touchAfter?: number;
  /** Encodes sessions to strings and back. Default: JSON. */
  serializer?: Serializer;
  /** The clock, in epoch milliseconds. Default: `Date.now`. */
  now?: () => number;
  /**
   * Longest time one backend call may take before it fails with `ERR_SESSION_TIMEOUT`,
   * whatever the driver's own settings. Default: 3000. `Infinity` turns the bound off.
   */
  operationTimeout?: number;
  /**
   * What a stored record that is not a loadable session becomes. `'error'` (default): the call fails
   * with `ERR_SESSION_CORRUPT` and the record stays for inspection. `'treat-as-missing'`: `get`
   * deletes the record and answers no session, so the visitor starts afresh. Either way the store
   * emits `'corrupt'` with `{ sidPrefix, code }`, and `all()` and `sessions()` skip the record.
   */
  onCorrupt?: OnCorrupt;
  /** Largest encoded session `set` accepts, in UTF-8 bytes; larger fails with `ERR_SESSION_TOO_LARGE`. Default 1 MiB. */
  maxSessionBytes?: number;
  /**
   * Store each session under the SHA-256 of its id, so a copy of the database holds no id a cookie
   * could carry. `'migrate'`: also read, once, a record stored under the id itself (written before
   * hashing was on) and move it under the hash; `destroy` removes both. With hashing, `ids()`,
   * `all()` and `sessions()` name records by their storage id, marked by a leading NUL, which only
   * `destroy` accepts. Default: false.
   */
  hashIds?: HashIds;
  /**
   * Encrypt every stored session with AES-256-GCM, bound to the id it is stored under. The first key
   * encrypts, every key decrypts: rotate by putting a new key first, and drop the old one once no
   * session saved under it can still be live. Each key is 32 bytes: a Buffer, or a string of 64 hex
   * digits or 44 base64 characters. A payload that does not authenticate is corrupt (see `onCorrupt`).
   */
  encryptionKeys?: readonly EncryptionKey[];
}

/** Options of stores whose backend can hold a tombstone where a destroyed session was. */
export interface TombstoneOptions {
  /**
   * How long `destroy` leaves a tombstone where the session was: while it stands, a `set` of that id
   * (a slow request finishing after a logout or a `regenerate`) writes nothing, so a destroyed
   * session stays destroyed. It is longer than any request should take. 0 turns tombstones off.
   * Default 5 minutes.
   */
  tombstoneTtl?: number;
}

/** Options of stores that keep each session's creation instant beside it. */
export interface LifetimeOptions {
  /**
   * Absolute timeout: a session lives at most this long after its first `set`, however often it is
   * saved or touched. The stored expiry never passes it, so a backend's own expiry enforces it too;
   * `regenerate` starts a new lifetime. Default: none.
   */
  maxLifetime?: number;
}

/** Options of stores that can index sessions by their user. */
export interface UserIndexOptions {
  /**
   * Who a session belongs to: its user id (a string or a number), or undefined for a session of no
   * user, e.g. `(session) => session.passport?.user`. With it, the store keeps each session under
   * its user's index at every `set`, and `sessionsOf(user)` and `destroySessionsOf(user)` find them
   * without a scan. Without it the index costs nothing.
   */
  userOf?: UserOf;
}

export type UserOf = (session: SessionData) => string | number | null | undefined;

export type OnCorrupt = 'error' | 'treat-as-missing';

/** The payload of a store's `'corrupt'` event: which session, never its data. */
export interface CorruptRecordEvent {
  sidPrefix: string | undefined;
  code: 'ERR_SESSION_CORRUPT';
  /** The call that met the record. */
  operation: string;
}

/** Options of stores whose backend cannot expire records by itself: the base runs their reaper. */
export interface ReaperOptions {
  /** Milliseconds between runs of the expired-session reaper (jittered ±25%); 0 turns it off. Default 15 minutes. */
  pruneInterval?: number;
}

export const DEFAULT_TTL_MS = 24 * 60 * 60 * 1000;
export const DEFAULT_OPERATION_TIMEOUT_MS = 3000;
export const DEFAULT_PRUNE_INTERVAL_MS = 15 * 60 * 1000;
export const DEFAULT_MAX_SESSION_BYTES = 1024 * 1024;
export const DEFAULT_TOMBSTONE_TTL_MS = 5 * 60 * 1000;

/** The option names every store accepts; a store adds its own through `BackendSettings.ownOptions`. */
const BASE_OPTION_NAMES = ['ttl', 'disableTouch', 'touchAfter', 'serializer', 'now', 'operationTimeout', 'onCorrupt', 'maxSessionBytes', 'hashIds', 'encryptionKeys'];

/** What a backend can hold beyond sessions and their expiry, which decides the options it accepts. */
export interface BackendFeatures {
  /** `tombstoneTtl`: the backend implements `entombRecord`, and its writes never cover a live tombstone. */
  tombstones?: boolean;
  /** `maxLifetime`: the backend keeps each record's creation instant and caps its expiry by it. */
  maxLifetime?: boolean;
  /** `userOf`: the backend stores each record's owner and finds a user's records by an index. */
  userIndex?: boolean;
}

export interface ResolvedBaseOptions {
  ttl: number | TtlFunction;
  disableTouch: boolean;
  touchAfterMs: number;
  serializer: Serializer | undefined;
  now: () => number;
  operationTimeoutMs: number;
  onCorrupt: OnCorrupt;
  maxSessionBytes: number;
  hashIds: HashIds;
  /** The `encryptionKeys`, as key objects only the cipher can read. */
  cipher: Cipher | undefined;
  /** 0 where the backend keeps no tombstones or they are off. */
  tombstoneTtlMs: number;
  /** Undefined without `maxLifetime`. */
  maxLifetimeMs: number | undefined;
  /** Undefined without `userOf`. */
  userOf: UserOf | undefined;
}

/** Throws a `SessionStoreError` naming the store and the option; never returns a silent default for a bad value. */
export function resolveBaseOptions(
  store: string,
  options: BaseStoreOptions & TombstoneOptions & LifetimeOptions & UserIndexOptions = {},
  ownOptions?: readonly string[],
  features: BackendFeatures = {},
): ResolvedBaseOptions {
  if (options === null || typeof options !== 'object') {
    throw optionError(store, `options must be an object, got ${describe(options)}`);
  }
  const featureOptions = [
    ...(features.tombstones ? ['tombstoneTtl'] : []),
    ...(features.maxLifetime ? ['maxLifetime'] : []),
    ...(features.userIndex ? ['userOf'] : []),
  ];
  if (ownOptions !== undefined) refuseUnknownOptions(store, options, [...BASE_OPTION_NAMES, ...featureOptions, ...ownOptions]);
  // A store whose options are not checked by name still refuses a protection it cannot give.
  if (!features.tombstones && options.tombstoneTtl !== undefined && options.tombstoneTtl !== 0) {
    throw optionError(store, 'tombstoneTtl is not supported by this store: it keeps no tombstones');
  }
  if (!features.maxLifetime && options.maxLifetime !== undefined) {
    throw optionError(store, 'maxLifetime is not supported by this store: it keeps no creation time');
  }
  if (!features.userIndex && options.userOf !== undefined) {
    throw optionError(store, 'userOf is not supported by this store: it keeps no index of sessions by user');
  }
  if (options.userOf !== undefined && typeof options.userOf !== 'function') {
    throw optionError(store, `userOf must be a function (session) => user id, got ${describe(options.userOf)}`);
  }
  const { tombstoneTtl = features.tombstones ? DEFAULT_TOMBSTONE_TTL_MS : 0, maxLifetime } = options;
  if (!isNonNegativeDuration(tombstoneTtl)) {
    throw optionError(store, `tombstoneTtl must be 0 (off) or a positive number of milliseconds, got ${describe(tombstoneTtl)}`);
  }
  if (maxLifetime !== undefined && !isPositiveDuration(maxLifetime)) {
    throw optionError(store, `maxLifetime must be a positive number of milliseconds, got ${describe(maxLifetime)}`);
  }
  const { ttl = DEFAULT_TTL_MS, disableTouch = false, touchAfter = 0, now = Date.now } = options;
  const { operationTimeout = DEFAULT_OPERATION_TIMEOUT_MS, serializer, onCorrupt = 'error', maxSessionBytes = DEFAULT_MAX_SESSION_BYTES } = options;

  if (typeof ttl !== 'function' && !isPositiveDuration(ttl)) {
    throw optionError(store, `ttl must be a function or a positive number of milliseconds, got ${describe(ttl)}`);
  }
  booleanOption(store, 'disableTouch', disableTouch, false);
  if (!isNonNegativeDuration(touchAfter)) {
    throw optionError(store, `touchAfter must be a non-negative number of milliseconds, got ${describe(touchAfter)}`);
  }
  if (typeof now !== 'function') {
    throw optionError(store, `now must be a function returning epoch milliseconds, got ${describe(now)}`);
  }
  if (operationTimeout !== Infinity && !isPositiveDuration(operationTimeout)) {
    throw optionError(
      store,
      `operationTimeout must be a positive number of milliseconds or Infinity, got ${describe(operationTimeout)}`,
    );
  }
  if (serializer !== undefined && (typeof serializer?.stringify !== 'function' || typeof serializer?.parse !== 'function')) {
    throw optionError(store, 'serializer must have stringify(session) and parse(text) functions');
  }
  if (onCorrupt !== 'error' && onCorrupt !== 'treat-as-missing') {
    throw optionError(store, `onCorrupt must be 'error' or 'treat-as-missing', got ${describe(onCorrupt)}`);
  }
  positiveIntegerOption(store, 'maxSessionBytes', maxSessionBytes, DEFAULT_MAX_SESSION_BYTES, { infinity: true });
  const hashIds = resolveHashIds(store, options.hashIds);
  const cipher = Cipher.of(store, options.encryptionKeys);
  return {
    ttl, disableTouch, touchAfterMs: touchAfter, serializer, now, operationTimeoutMs: operationTimeout, onCorrupt, maxSessionBytes, hashIds, cipher,
    tombstoneTtlMs: Math.ceil(tombstoneTtl),
    maxLifetimeMs: maxLifetime === undefined ? undefined : Math.ceil(maxLifetime),
    userOf: options.userOf,
  };
}

function resolveHashIds(store: string, value: unknown): HashIds {
  if (value === undefined) return false;
  if (value === true || value === false || value === 'migrate') return value;
  throw optionError(store, `hashIds must be true, false or 'migrate', got ${describe(value)}`);
}

/**
 * Refuses, for a compat layout (whose point is that another store reads the same records), the
 * options that change what the other store reads: its own encoding, hashed ids, encryption.
 */
export function refuseWithSharedLayout(store: string, layout: string, options: BaseStoreOptions): void {
  if (options.serializer !== undefined) throw optionError(store, `compat '${layout}' stores sessions as JSON: a serializer cannot be used with it`);
  if (options.hashIds !== undefined && options.hashIds !== false) {
    throw optionError(store, `compat '${layout}' shares its records with ${layout}, which looks sessions up by their ids: hashIds cannot be used with it`);
  }
  if (options.encryptionKeys !== undefined) {
    throw optionError(store, `compat '${layout}' shares its records with ${layout}, which reads sessions as JSON: encryptionKeys cannot be used with it`);
  }
  const { tombstoneTtl, maxLifetime } = options as TombstoneOptions & LifetimeOptions;
  if (tombstoneTtl !== undefined && tombstoneTtl !== 0) {
    throw optionError(store, `compat '${layout}' shares its records with ${layout}, which would read a tombstone as a session: tombstoneTtl cannot be used with it`);
  }
  if (maxLifetime !== undefined) {
    throw optionError(store, `compat '${layout}' has no place for a session's creation time: maxLifetime cannot be used with it`);
  }
  if ((options as UserIndexOptions).userOf !== undefined) {
    throw optionError(store, `compat '${layout}' has no place for a session's user: userOf cannot be used with it`);
  }
}

/**
 * The names of a store's own options, for `BackendSettings.ownOptions`, as an object literal with
 * every option of `Options` that the base does not define: the compiler rejects one left out or
 * one the type lacks, so the list cannot drift from the options type.
 */
export function ownOptionNames<Options extends object>(
  names: Record<Exclude<keyof Options, keyof BaseStoreOptions | keyof ReaperOptions | keyof TombstoneOptions | keyof LifetimeOptions | keyof UserIndexOptions>, true>,
): string[] {
  return Object.keys(names);
}

/** A misspelt option would otherwise be ignored in silence, and a store would run without what it was asked for. */
function refuseUnknownOptions(store: string, options: object, known: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const closest = closestName(key, known);
    throw optionError(store, `unknown option ${describe(key)}${closest === undefined ? '' : ` (did you mean ${closest}?)`}; this store accepts ${known.join(', ')}`);
  }
}

/** The known name within two edits of `name` (case aside), if there is one. */
function closestName(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of known) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

export function resolvePruneInterval(store: string, options: ReaperOptions, fallbackMs: number): number {
  const { pruneInterval = fallbackMs } = options;
  if (!isNonNegativeDuration(pruneInterval)) {
    throw optionError(store, `pruneInterval must be 0 (off) or a positive number of milliseconds, got ${describe(pruneInterval)}`);
  }
  return pruneInterval;
}

/** A boolean option, or its default when absent; anything else is refused. */
export function booleanOption(store: string, name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw optionError(store, `${name} must be a boolean, got ${describe(value)}`);
  return value;
}

/** A positive safe integer option (a count, a batch size), or its default when absent; `Infinity` only where allowed. */
export function positiveIntegerOption(store: string, name: string, value: unknown, fallback: number, { infinity = false } = {}): number {
  if (value === undefined) return fallback;
  if (infinity && value === Infinity) return value;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw optionError(store, `${name} must be a positive integer${infinity ? ' or Infinity' : ''}, got ${describe(value)}`);
  }
  return value;
}

/** A name that reaches a query (table, schema, collection, key prefix) must match `pattern`. */
export function validateIdentifier(store: string, option: string, value: unknown, pattern: RegExp, rule: string): string {
  if (typeof value !== 'string' || !pattern.test(value)) {
    throw optionError(store, `${option} must be ${rule}, got ${describe(value)}`);
  }
  return value;
}

export function optionError(store: string, message: string): SessionStoreError {
  return new SessionStoreError('ERR_SESSION_OPTIONS', message, { store });
}

function isPositiveDuration(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0;
}

function isNonNegativeDuration(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'function') return 'a function';
  if (value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? 'an array' : 'an object';
}
