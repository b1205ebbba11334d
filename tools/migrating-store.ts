import { Store, type SessionData } from 'express-session';
import { settle, type Callback } from '../shared/callbacks';
import { SessionStoreError } from '../shared/errors';
import { callStore, hasMethod } from './calls';

export interface MigratingStoreOptions {
  /** The store sessions are moving out of: read when `to` lacks a session, and emptied of it on that read. */
  from: Store;
  /** The store sessions are moving into: every write goes here. */
  to: Store;
  /** The clock a moved session's expiry is computed on, in epoch ms. Default Date.now. */
  now?: () => number;
}

const KNOWN_OPTIONS = new Set(['from', 'to', 'now']);

/**
 * An express-session store for switching stores without logging anyone out: it reads `to` first,
 * then `from`, and moves a session found only in `from` on that read (written to `to`, then
 * destroyed in `from`). set and touch go to `to`; destroy goes to both. It closes neither store.
 */
export class MigratingStore extends Store {
  readonly from: Store;
  readonly to: Store;
  private readonly now: () => number;
  /** The stores that announced 'disconnect' and not yet 'connect'. */
  private readonly down = new Set<Store>();

  constructor(options: MigratingStoreOptions) {
    super();
    if (options === null || typeof options !== 'object') throw optionError('options must be an object with from and to');
    for (const name of Object.keys(options)) if (!KNOWN_OPTIONS.has(name)) throw optionError(`unknown option ${name}`);
    const { from, to } = options;
    for (const [name, store] of [['from', from], ['to', to]] as const) {
      if (store === null || typeof store !== 'object' || !['get', 'set', 'destroy'].every((method) => hasMethod(store, method))) {
        throw optionError(`${name} must be an express-session store (with get, set and destroy)`);
      }
    }
    if (from === to) throw optionError('from and to are the same store');
    if (options.now !== undefined && typeof options.now !== 'function') throw optionError('now must be a function returning epoch milliseconds');
    this.now = options.now ?? Date.now;
    this.from = from;
    this.to = to;
    for (const store of [from, to]) {
      if (typeof store.on !== 'function') continue;
      store.on('disconnect', () => this.markDown(store));
      store.on('connect', () => this.markUp(store));
    }
  }

  get(sid: string): Promise<SessionData | null>;
  get(sid: string, callback: Callback<SessionData | null>): void;
  get(sid: string, callback?: Callback<SessionData | null>): Promise<SessionData | null> | void {
    return settle(this.readThrough(sid), callback);
  }

  set(sid: string, session: SessionData): Promise<void>;
  set(sid: string, session: SessionData, callback: Callback<void>): void;
  set(sid: string, session: SessionData, callback?: Callback<void>): Promise<void> | void {
    return settle(callStore<void>(this.to, 'set', sid, session).then(nothing), callback);
  }

  touch(sid: string, session: SessionData): Promise<void>;
  touch(sid: string, session: SessionData, callback: Callback<void>): void;
  touch(sid: string, session: SessionData, callback?: Callback<void>): Promise<void> | void {
    // A store without touch() gets nothing, as express-session itself does with such a store.
    const touched = hasMethod(this.to, 'touch') ? callStore<void>(this.to, 'touch', sid, session) : Promise.resolve();
    return settle(touched.then(nothing), callback);
  }

  destroy(sid: string): Promise<void>;
  destroy(sid: string, callback: Callback<void>): void;
  destroy(sid: string, callback?: Callback<void>): Promise<void> | void {
    // `from` first: were `to` destroyed first and `from` failed, the next read would move the session back.
    const destroyed = callStore<void>(this.from, 'destroy', sid).then(() => callStore<void>(this.to, 'destroy', sid));
    return settle(destroyed.then(nothing), callback);
  }

  private async readThrough(sid: string): Promise<SessionData | null> {
    const moved = await callStore<SessionData | null | undefined>(this.to, 'get', sid);
    if (moved != null) return moved;
    const session = await callStore<SessionData | null | undefined>(this.from, 'get', sid);
    if (session == null) return null;
    const renewed = renewedOnRead(session, this.now());
    // Written before it is destroyed, so a failure between the two leaves the session in one store at least.
    await callStore(this.to, 'set', sid, renewed);
    await callStore(this.from, 'destroy', sid);
    return renewed;
  }

  private markDown(store: Store): void {
    const wasUp = this.down.size === 0;
    this.down.add(store);
    if (wasUp) this.emit('disconnect');
  }

  private markUp(store: Store): void {
    if (!this.down.delete(store)) return;
    if (this.down.size === 0) this.emit('connect');
  }
}

function optionError(message: string): SessionStoreError {
  return new SessionStoreError('ERR_SESSION_OPTIONS', message, { store: 'migrating' });
}

function nothing(): void {}

/**
 * The session with the expiry express-session gives it at the end of the request that read it
 * (now + originalMaxAge). Its stored `cookie.expires` is the one of its last save: a touch since
 * extended only the old store's record, so written as it is the session could arrive already expired.
 */
function renewedOnRead(session: SessionData, now: number): SessionData {
  const cookie = session.cookie as { originalMaxAge?: unknown; expires?: unknown } | undefined;
  const maxAge = cookie?.originalMaxAge;
  if (typeof maxAge !== 'number' || !(maxAge > 0)) return session;
  const stored = cookie!.expires instanceof Date ? cookie!.expires.getTime() : typeof cookie!.expires === 'string' ? Date.parse(cookie!.expires) : NaN;
  const renewed = now + maxAge;
  if (Number.isFinite(stored) && stored >= renewed) return session;
  return { ...session, cookie: { ...session.cookie, expires: new Date(renewed) } } as SessionData;
}
