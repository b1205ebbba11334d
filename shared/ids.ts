import { createHash } from 'node:crypto';
import { SessionStoreError, sidPrefixOf } from './errors';

export const MAX_SID_LENGTH = 1024;

/**
 * How session ids are kept at rest. `false`: as they are. `true`: as their SHA-256, so a copy of the
 * database holds no id a cookie could carry. `'migrate'`: hashed, and a `get` that finds nothing
 * under the hash reads the id as it is once and moves that record under the hash.
 */
export type HashIds = boolean | 'migrate';

/**
 * What `ids()`, `all()` and `sessions()` put before a storage id when ids are hashed. No session id
 * holds a NUL (every store refuses one), so a listed storage id can never be taken for a session
 * id: `get`, `set` and `touch` refuse it, and only `destroy` accepts it, as the record it names.
 */
export const STORAGE_ID_MARK = '\u0000';

/** The one place where a session id becomes the id its record is stored under (below the store's namespace), and back. */
export class SessionIds {
  constructor(
    private readonly store: string,
    readonly hashing: HashIds,
  ) {}

  /**
   * The storage id of `sid`: the id itself, or with hashing its SHA-256 in base64url (43 characters).
   * Plain SHA-256, not a keyed HMAC: an express-session or @fastify/session id holds 24 random
   * bytes, so neither a precomputed table nor a search can find it from its hash, and a hash that
   * needs no secret is the same in every store and every process, so nothing is lost when a key
   * would change or leak. An HMAC helps only ids that can be guessed, and those are guessable from
   * the cookie's side too: a custom `genid` must give as many random bits.
   */
  storageIdOf(sid: unknown): string {
    const valid = this.validated(sid, 'session id');
    return this.hashing === false ? valid : hashOf(valid);
  }

  /**
   * What the store's user index holds for `user`: the user id itself, or, where ids are hashed or
   * sessions encrypted (`atRest`), the SHA-256 of it, so the index gives away no more than the rest.
   */
  ownerKeyOf(user: string, atRest: boolean): string {
    return atRest || this.hashing !== false ? hashOf(`user\u0000${user}`) : user;
  }

  /** The raw storage id of `sid`, where a record written before hashing was on lives; only with `'migrate'`. */
  unhashedIdOf(sid: string): string | undefined {
    return this.hashing === 'migrate' && !sid.startsWith(STORAGE_ID_MARK) ? sid : undefined;
  }

  /** The id a listing gives for the record stored under `storageId`: the session id itself, or with hashing the marked storage id. */
  listedIdOf(storageId: string): string {
    return this.hashing === false ? storageId : STORAGE_ID_MARK + storageId;
  }

  /** The storage id a listed (marked) id names, or undefined when `id` is not one. */
  storageIdOfListed(id: unknown): string | undefined {
    if (this.hashing === false || typeof id !== 'string' || !id.startsWith(STORAGE_ID_MARK)) return undefined;
    return this.validated(id.slice(STORAGE_ID_MARK.length), 'storage id');
  }

  private validated(id: unknown, what: string): string {
    if (typeof id !== 'string' || id.length === 0 || id.length > MAX_SID_LENGTH || id.includes('\0') || !isWellFormed(id)) {
      throw new SessionStoreError(
        'ERR_SESSION_ID',
        `${what} must be a non-empty, well-formed UTF-16 string of at most ${MAX_SID_LENGTH} characters without NUL, got ${
          typeof id === 'string' ? `a string of ${id.length} characters` : typeof id
        }`,
        { store: this.store, sidPrefix: sidPrefixOf(id) },
      );
    }
    return id;
  }
}

function hashOf(sid: string): string {
  return createHash('sha256').update(sid, 'utf8').digest('base64url');
}

/** Ids with lone surrogates would collide: a backend that stores UTF-8 turns every one into U+FFFD. */
/** Whether `text` holds no lone surrogate (String#isWellFormed, Node 20). */
export function isWellFormed(text: string): boolean {
  return (text as string & { isWellFormed(): boolean }).isWellFormed();
}
