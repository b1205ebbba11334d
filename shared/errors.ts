import { cleanCause, markClean } from './causes';

/** What went wrong, as a stable string a caller can branch on. */
export type SessionStoreErrorCode =
  /** Stored data could not be decoded into a session express-session can load. */
  | 'ERR_SESSION_CORRUPT'
  /** A session could not be encoded (circular data, BigInt, a throwing toJSON, a shape no store could read back). */
  | 'ERR_SESSION_ENCODE'
  /** An encoded session is larger than `maxSessionBytes`. */
  | 'ERR_SESSION_TOO_LARGE'
  /** A session id that no store accepts (not a string, empty, too long, NUL, not well-formed UTF-16). */
  | 'ERR_SESSION_ID'
  /** A backend call did not finish within `operationTimeout`. */
  | 'ERR_SESSION_TIMEOUT'
  /** The backend answered with an error or could not be reached. */
  | 'ERR_SESSION_BACKEND'
  /** The backend is known to be unreachable: the call was refused at once, without reaching it. */
  | 'ERR_SESSION_UNAVAILABLE'
  /** The store was used after `close()`. */
  | 'ERR_SESSION_CLOSED'
  /** An option given to a store constructor is invalid or unknown. */
  | 'ERR_SESSION_OPTIONS'
  /** The store does not implement this optional method. */
  | 'ERR_SESSION_UNSUPPORTED';

export interface SessionStoreErrorDetails {
  /** Name of the store that raised the error, e.g. `redis`. */
  store: string;
  /** The first characters of the session id concerned, control characters escaped; never the whole id, never session data. */
  sidPrefix?: string;
  /** Kept as a sanitized copy: name, code and a message without quoted data, credentials or ids, down the cause chain. */
  cause?: unknown;
}

/** The one error type every store in this package reports. Neither its message nor its causes contain session data. */
export class SessionStoreError extends Error {
  readonly code: SessionStoreErrorCode;
  readonly store: string;
  readonly sidPrefix?: string;

  constructor(code: SessionStoreErrorCode, message: string, details: SessionStoreErrorDetails) {
    const where = details.sidPrefix === undefined ? '' : ` (session ${details.sidPrefix}…)`;
    super(`[${details.store}] ${message}${where}`, details.cause === undefined ? undefined : { cause: cleanCause(details.cause) });
    this.name = 'SessionStoreError';
    this.code = code;
    this.store = details.store;
    if (details.sidPrefix !== undefined) this.sidPrefix = details.sidPrefix;
    markClean(this);
  }
}

const SID_PREFIX_LENGTH = 6;

/** Enough of a session id to correlate log lines, too little to hijack the session; printable whatever the id holds. */
export function sidPrefixOf(sid: unknown): string | undefined {
  return typeof sid === 'string' ? escapeControls(sid.slice(0, SID_PREFIX_LENGTH)) : undefined;
}

// C0 and C1 controls, DEL, line and paragraph separators, bidi overrides and isolates, and lone surrogates.
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Writes characters that could forge or hide log lines as `\uXXXX`. */
export function escapeControls(text: string): string {
  return text.replace(UNPRINTABLE, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function isSessionStoreError(error: unknown): error is SessionStoreError {
  return error instanceof SessionStoreError;
}
