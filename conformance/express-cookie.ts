/** express-session's Cookie: what it hands a store, with the `maxAge` getter (ms left) some stores read. */
export type ExpressSessionCookie = new (options?: Record<string, unknown>) => Record<string, unknown> & {
  expires: Date | null;
  originalMaxAge: number | null;
};

let cookieClass: ExpressSessionCookie | null | undefined;

/** express-session's Cookie class, loaded on first use; null where express-session does not expose it. */
export function expressSessionCookie(): ExpressSessionCookie | null {
  if (cookieClass === undefined) {
    try {
      cookieClass = require('express-session/session/cookie') as ExpressSessionCookie;
    } catch {
      cookieClass = null;
    }
  }
  return cookieClass;
}
