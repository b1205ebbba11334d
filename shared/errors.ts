/** What went wrong, as a stable string a caller can branch on. */
export type SessionStoreErrorCode =
  /** Stored data could not be decoded into a session. */
  | 'ERR_SESSION_CORRUPT'
  /** A session could not be encoded (circular data, BigInt, a throwing toJSON). */
  | 'ERR_SESSION_ENCODE'
  /** A session id that no store accepts (not a string, empty, too long, NUL). */
  | 'ERR_SESSION_ID'
  /** A backend call did not finish within `operationTimeout`. */
  | 'ERR_SESSION_TIMEOUT'
  /** The backend answered with an error or could not be reached. */
  | 'ERR_SESSION_BACKEND'
  /** The store was used after `close()`. */
  | 'ERR_SESSION_CLOSED'
  /** An option given to a store constructor is invalid. */
  | 'ERR_SESSION_OPTIONS'
  /** The store does not implement this optional method. */
  | 'ERR_SESSION_UNSUPPORTED';

export interface SessionStoreErrorDetails {
  /** Name of the store that raised the error, e.g. `redis`. */
  store: string;
  /** The first characters of the session id concerned; never the whole id, never session data. */
  sidPrefix?: string;
  cause?: unknown;
}

/** The one error type every store in this package reports. Its message never contains session data. */
export class SessionStoreError extends Error {
  readonly code: SessionStoreErrorCode;
  readonly store: string;
  readonly sidPrefix?: string;

  constructor(code: SessionStoreErrorCode, message: string, details: SessionStoreErrorDetails) {
    const where = details.sidPrefix === undefined ? '' : ` (session ${details.sidPrefix}…)`;
    super(`[${details.store}] ${message}${where}`, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'SessionStoreError';
    this.code = code;
    this.store = details.store;
    if (details.sidPrefix !== undefined) this.sidPrefix = details.sidPrefix;
  }
}

const SID_PREFIX_LENGTH = 6;

/** Enough of a session id to correlate log lines, too little to hijack the session. */
export function sidPrefixOf(sid: unknown): string | undefined {
  return typeof sid === 'string' ? sid.slice(0, SID_PREFIX_LENGTH) : undefined;
}

export function isSessionStoreError(error: unknown): error is SessionStoreError {
  return error instanceof SessionStoreError;
}
