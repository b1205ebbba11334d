import type { SessionData } from 'express-session';

export const HOUR_MS = 60 * 60 * 1000;

/** A session as express-session stores it, expiring `ttlMs` from now, with `data` beside its cookie. */
export function aSession(data: Record<string, unknown> = {}, ttlMs = HOUR_MS): SessionData {
  return {
    cookie: { originalMaxAge: ttlMs, expires: new Date(Date.now() + ttlMs).toISOString(), httpOnly: true, path: '/' },
    ...data,
  } as unknown as SessionData;
}
