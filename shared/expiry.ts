import type { SessionData } from 'express-session';
import { SessionStoreError, sidPrefixOf } from './errors';
import type { TtlFunction } from './options';

/**
 * When a session expires, in epoch milliseconds: a `ttl` function wins, else `cookie.expires`,
 * else `now + ttl`. Never rounded: every backend stores this exact instant.
 */
export function expiresAtOf(
  store: string,
  sid: string,
  session: SessionData,
  now: number,
  ttl: number | TtlFunction,
): number {
  if (typeof ttl === 'function') {
    const ms = ttl(session, sid);
    if (typeof ms !== 'number' || Number.isNaN(ms)) {
      throw new SessionStoreError('ERR_SESSION_OPTIONS', `ttl function returned ${String(ms)}, not a number of milliseconds`, {
        store,
        sidPrefix: sidPrefixOf(sid),
      });
    }
    return clampInstant(now + ms);
  }
  const expires = cookieExpiresOf(session);
  return expires === undefined ? now + ttl : expires;
}

/** `cookie.expires` is a Date on a live session and an ISO string on one read back from storage. */
function cookieExpiresOf(session: SessionData): number | undefined {
  const expires: unknown = (session?.cookie as { expires?: unknown } | undefined)?.expires;
  if (expires === null || expires === undefined || expires === false) return undefined;
  const instant = expires instanceof Date ? expires.getTime() : typeof expires === 'string' ? Date.parse(expires) : NaN;
  return Number.isFinite(instant) ? instant : undefined;
}

/** Keeps a huge ttl from producing an instant that no backend (or Date) can hold. */
function clampInstant(instant: number): number {
  const MAX_INSTANT = 8.64e15;
  return Math.min(Math.max(instant, -MAX_INSTANT), MAX_INSTANT);
}
