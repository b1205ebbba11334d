import type { SessionData } from 'express-session';
import { Cipher, UnopenedPayload } from './encryption';
import { SessionStoreError, sidPrefixOf } from './errors';

/** Turns a session into the string a backend stores, and back. */
export interface Serializer {
  stringify(session: SessionData): string;
  parse(text: string): SessionData;
}

export const jsonSerializer: Serializer = {
  stringify: (session) => JSON.stringify(session),
  parse: (text) => JSON.parse(text) as SessionData,
};

/** Deeper than any real session, shallow enough for express-session's recursive hash and JSON.stringify. */
export const MAX_SESSION_DEPTH = 100;

// The values express-session's Cookie and the cookie package's serialize accept (cookie 0.7).
const COOKIE_PATH = /^[\u0020-\u003A\u003D-\u007E]*$/;
const COOKIE_DOMAIN = /^([.]?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)([.][a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;
const SAME_SITE = new Set(['lax', 'strict', 'none']);
const PRIORITY = new Set(['low', 'medium', 'high']);
/** Keys that would replace a method or the prototype of the Cookie that express-session builds from the stored fields. */
const SHADOWING_COOKIE_KEYS = new Set([...Object.getOwnPropertyNames(Object.prototype), 'serialize', 'toJSON', 'data', '_expires']);

/**
 * Serialization, size limits and optional encryption, in one place. `storageId` is the id the record
 * is stored under (the session id, or its hash): an encrypted payload is bound to it.
 */
export class Codec {
  constructor(
    private readonly store: string,
    private readonly serializer: Serializer = jsonSerializer,
    private readonly maxSessionBytes: number = Infinity,
    private readonly cipher?: Cipher,
  ) {}

  /** Refuses what the store could not read back, before writing anything. `maxSessionBytes` counts the serialized session, before encryption. */
  encode(sid: string, session: SessionData, storageId: string): string {
    let problem: string | undefined;
    let text: unknown;
    try {
      problem = shapeProblem(jsonView(session), jsonView);
      if (problem === undefined) text = this.serializer.stringify(session);
    } catch (error) {
      throw this.failure('ERR_SESSION_ENCODE', `session could not be encoded (${errorName(error)})`, sid);
    }
    if (problem !== undefined) throw this.failure('ERR_SESSION_ENCODE', `session cannot be stored: it ${problem}`, sid);
    if (typeof text !== 'string') {
      throw this.failure('ERR_SESSION_ENCODE', `serializer.stringify returned ${typeof text}, not a string`, sid);
    }
    // The empty payload marks a tombstone.
    if (text.length === 0) throw this.failure('ERR_SESSION_ENCODE', 'serializer.stringify returned an empty string', sid);
    // Checked after stringify, which has already refused a cycle that this walk would go round.
    if (this.mayNestTooDeep(text) && deeperThan(session, MAX_SESSION_DEPTH)) {
      throw this.failure('ERR_SESSION_ENCODE', `session cannot be stored: it is nested deeper than ${MAX_SESSION_DEPTH} levels`, sid);
    }
    const bytes = utf8LengthOver(text, this.maxSessionBytes);
    if (bytes !== undefined) {
      throw this.failure('ERR_SESSION_TOO_LARGE', `session is ${bytes} bytes encoded, more than maxSessionBytes (${this.maxSessionBytes})`, sid);
    }
    return this.cipher ? this.cipher.seal(text, storageId) : text;
  }

  /** Only the parser's error class is reported: parser messages quote the input, and the input is the session. */
  decode(sid: string, payload: unknown, storageId: string): SessionData {
    const text = this.opened(sid, payload, storageId);
    let session: unknown;
    try {
      session = this.serializer.parse(text);
    } catch (error) {
      if (!this.cipher && Cipher.isSealed(text)) throw this.failure('ERR_SESSION_CORRUPT', 'stored session is encrypted, and the store has no encryptionKeys', sid);
      throw this.failure('ERR_SESSION_CORRUPT', `stored session could not be decoded (${errorName(error)})`, sid);
    }
    // express-session would throw on these outside any callback, and the request would never be answered.
    const problem =
      shapeProblem(session, (value) => value) ??
      (this.mayNestTooDeep(text) && deeperThan(session as object, MAX_SESSION_DEPTH) ? `is nested deeper than ${MAX_SESSION_DEPTH} levels` : undefined);
    if (problem !== undefined) throw this.failure('ERR_SESSION_CORRUPT', `stored session ${problem}`, sid);
    return session as SessionData;
  }

  /**
   * The payload stored under `fromId`, for storing under `toId`: as it is without encryption; with
   * it, sealed again for `toId` under the first key, or as it is when it does not open (it is then
   * as corrupt under `toId` as it was).
   */
  rebind(payload: string, fromId: string, toId: string): string {
    if (!this.cipher) return payload;
    try {
      return this.cipher.seal(this.cipher.open(payload, fromId), toId);
    } catch (error) {
      if (error instanceof UnopenedPayload) return payload;
      throw error;
    }
  }

  /** The serialized session a stored payload holds: the payload itself, or what it decrypts to. */
  private opened(sid: string, payload: unknown, storageId: string): string {
    if (typeof payload !== 'string') {
      throw this.failure('ERR_SESSION_CORRUPT', `stored session is ${describeStored(payload)}, not a string`, sid);
    }
    if (!this.cipher) return payload;
    try {
      return this.cipher.open(payload, storageId);
    } catch (error) {
      if (error instanceof UnopenedPayload) throw this.failure('ERR_SESSION_CORRUPT', `stored session ${error.reason}`, sid);
      throw error;
    }
  }

  /** JSON nested deeper than the limit needs an opening bracket per level: a text with fewer cannot be. */
  private mayNestTooDeep(text: string): boolean {
    return this.serializer !== jsonSerializer || (text.length >= 2 * (MAX_SESSION_DEPTH + 1) && hasMoreOpenersThan(text, MAX_SESSION_DEPTH));
  }

  private failure(code: 'ERR_SESSION_CORRUPT' | 'ERR_SESSION_ENCODE' | 'ERR_SESSION_TOO_LARGE', message: string, sid: string): SessionStoreError {
    return new SessionStoreError(code, message, { store: this.store, sidPrefix: sidPrefixOf(sid) });
  }
}

/** What JSON.stringify would write for `value` at its top level. */
function jsonView(value: unknown): unknown {
  const toJSON = (value as { toJSON?: unknown } | null | undefined)?.toJSON;
  return typeof toJSON === 'function' ? toJSON.call(value, '') : value;
}

/** Why express-session could not load `session` (as a phrase after "it"), or undefined. `view` maps a live object to its JSON form. */
function shapeProblem(session: unknown, view: (value: unknown) => unknown): string | undefined {
  if (session === null || typeof session !== 'object' || Array.isArray(session)) {
    return `is ${describeStored(session)}, not an object`;
  }
  const cookie = view((session as { cookie?: unknown }).cookie);
  if (cookie === null || typeof cookie !== 'object' || Array.isArray(cookie)) return 'has no cookie object';
  const fields = cookie as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    const problem = cookieFieldProblem(key, fields[key]);
    if (problem !== undefined) return `has a cookie whose ${problem}`;
  }
  return undefined;
}

/** Why one cookie field would make express-session throw, or undefined. Names only fields from a fixed list. */
function cookieFieldProblem(key: string, value: unknown): string | undefined {
  // A null attribute is an absent one to both frameworks; @fastify/session's Cookie writes sameSite, secure and domain as null.
  if (value === undefined || value === null) return undefined;
  switch (key) {
    case 'originalMaxAge':
    case 'maxAge':
      return value === null || (typeof value === 'number' && Number.isFinite(value)) ? undefined : `${key} is not a finite number or null`;
    case 'expires':
      return value === null || isInstant(value) ? undefined : 'expires is not a date';
    case 'path':
      return value === '/' || (typeof value === 'string' && COOKIE_PATH.test(value)) ? undefined : 'path is not a cookie path';
    case 'domain':
      return typeof value === 'string' && COOKIE_DOMAIN.test(value) ? undefined : 'domain is not a domain name';
    case 'httpOnly':
    case 'secure':
    case 'partitioned':
      return typeof value === 'boolean' ? undefined : `${key} is not a boolean`;
    case 'sameSite':
      return typeof value === 'boolean' || (typeof value === 'string' && (SAME_SITE.has(value) || SAME_SITE.has(value.toLowerCase()))) ? undefined : 'sameSite is not a boolean, lax, strict or none';
    case 'priority':
      return typeof value === 'string' && PRIORITY.has(value.toLowerCase()) ? undefined : 'priority is not low, medium or high';
    default:
      return SHADOWING_COOKIE_KEYS.has(key) ? `field ${key} would replace a member of express-session's Cookie` : undefined;
  }
}

/** What Date#toJSON writes for years 0-9999: every such text parses, so only other texts pay for Date.parse. */
const JSON_DATE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}Z$/;

function isInstant(value: unknown): boolean {
  if (typeof value === 'string') return JSON_DATE.test(value) || Number.isFinite(Date.parse(value));
  return value instanceof Date && Number.isFinite(value.getTime());
}

/**
 * Whether objects and arrays nest deeper than `limit`. The recursion stops at `limit`, so a record
 * nested 100,000 levels deep costs 100 frames. An object with toJSON counts as a leaf.
 */
function deeperThan(value: object, limit: number): boolean {
  if (limit === 0) return true;
  if (Array.isArray(value)) {
    for (const child of value) if (isNested(child) && deeperThan(child, limit - 1)) return true;
    return false;
  }
  for (const key in value) {
    const child = (value as Record<string, unknown>)[key];
    if (isNested(child) && Object.hasOwn(value, key) && deeperThan(child, limit - 1)) return true;
  }
  return false;
}

/** Whether `text` holds more than `limit` of the characters `{` and `[`, counted with indexOf, which skips the rest natively. */
function hasMoreOpenersThan(text: string, limit: number): boolean {
  let count = 0;
  for (const opener of ['{', '[']) {
    for (let at = text.indexOf(opener); at !== -1; at = text.indexOf(opener, at + 1)) if (++count > limit) return true;
  }
  return false;
}

function isNested(value: unknown): value is object {
  return value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON !== 'function';
}

/** The UTF-8 length of `text` when it is over `limit`, else undefined; counted only when the UTF-16 length cannot decide. */
function utf8LengthOver(text: string, limit: number): number | undefined {
  if (text.length * 3 <= limit) return undefined;
  const bytes = Buffer.byteLength(text, 'utf8');
  return bytes > limit ? bytes : undefined;
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}

function describeStored(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return 'an array';
  if (Buffer.isBuffer(value)) return 'a Buffer';
  return `a ${typeof value}`;
}
