import type { SessionData, Store } from 'express-session';
import { SessionStoreError, sidPrefixOf } from '../shared/errors';
import { cleanCause } from '../shared/causes';
import { STORAGE_ID_MARK } from '../shared/ids';
import { callStore, hasMethod } from './calls';

/** Where a copy stands, handed to `onProgress` after each session and returned at the end. */
export interface CopyProgress {
  /** Live sessions read from the source so far. */
  read: number;
  /** Sessions written to the target. */
  copied: number;
  /** Sessions the target already held, left as they are. */
  present: number;
  /** Sessions that expired, or left the source (destroyed, or moved by a MigratingStore), between listing and copying. */
  gone: number;
  /** Sessions that could not be copied; the first few are described in `failures`. */
  failed: number;
  /** Live sessions in the source when the copy started, when there is an `onProgress` and the source can count them. */
  total?: number;
}

export interface CopyResult extends CopyProgress {
  /** One line per failed session (at most 10), naming the session by a short prefix of its id only. */
  failures: string[];
}

export interface CopyOptions {
  /** Called each time a session is done with (copied, present, gone or failed). */
  onProgress?: (progress: Readonly<CopyProgress>) => void;
  /** Most sessions in flight at once (each one a read of the target, a read of the source, a write). Default 16. */
  concurrency?: number;
  /** The clock that decides what has expired. Default Date.now. */
  now?: () => number;
}

interface ListedSession {
  id: string;
  session: SessionData;
  expiresAt?: number;
}

const MAX_FAILURES_DESCRIBED = 10;
const KNOWN_OPTIONS = new Set(['onProgress', 'concurrency', 'now']);
const DEFAULT_CONCURRENCY = 16;

/**
 * Copies every live session of `from` into `to`, each with the expiry the source holds, and never
 * deletes from the source. A session the target already holds is left as it is: either an earlier
 * run copied it or the application wrote it there since, and then the target's is the newer. So a
 * run that stopped half-way is resumed by running it again, and a second run writes nothing twice.
 * Each session is read again just before it is written, so the copy is of its latest data.
 */
export async function copySessions(from: Store, to: Store, options: CopyOptions = {}): Promise<CopyResult> {
  checkOptions(from, to, options);
  const now = options.now ?? Date.now;
  const progress: CopyProgress = { read: 0, copied: 0, present: 0, gone: 0, failed: 0 };
  const failures: string[] = [];
  // Only a progress report needs the total, and counting may cost a pass over the whole store (Redis SCAN).
  if (options.onProgress && hasMethod(from, 'length')) {
    const total = await callStore<number>(from, 'length');
    if (typeof total === 'number' && Number.isFinite(total)) progress.total = total;
  }
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  const inFlight = new Set<Promise<void>>();
  // Kept and thrown at the end: thrown inside a task, it would reject a promise nobody may be awaiting.
  let progressError: { error: unknown } | undefined;
  try {
    for await (const listed of liveSessionsOf(from)) {
      if (progressError) break;
      // The first one listed says it: a store with hashIds lists every record by its storage id, and set() would hash that again.
      if (listed.id.startsWith(STORAGE_ID_MARK)) throw hashedSource();
      progress.read++;
      const task: Promise<void> = copyOne(listed, from, to, now, progress)
        .catch((error: unknown) => {
          progress.failed++;
          if (failures.length < MAX_FAILURES_DESCRIBED) failures.push(`session ${sidPrefixOf(listed.id)}…: ${describe(error, listed.id)}`);
        })
        .then(() => {
          inFlight.delete(task);
          try {
            options.onProgress?.(progress);
          } catch (error) {
            progressError ??= { error };
          }
        });
      inFlight.add(task);
      if (inFlight.size >= concurrency) await Promise.race(inFlight);
    }
  } finally {
    // A listing that fails part-way still lets the sessions already started finish.
    await Promise.all(inFlight);
  }
  if (progressError) throw progressError.error;
  return { ...progress, failures };
}

async function copyOne(listed: ListedSession, from: Store, to: Store, now: () => number, progress: CopyProgress): Promise<void> {
  if ((await callStore<SessionData | null | undefined>(to, 'get', listed.id)) != null) {
    progress.present++;
    return;
  }
  // Read again after the target said it lacks the session: one a MigratingStore moved since the listing is gone from here.
  const current = await callStore<SessionData | null | undefined>(from, 'get', listed.id);
  const listedExpiry = Number.isFinite(listed.expiresAt) ? listed.expiresAt! : undefined;
  const currentExpiry = current == null ? undefined : cookieExpiresOf(current);
  const expiresAt = listedExpiry === undefined ? currentExpiry : currentExpiry === undefined ? listedExpiry : Math.max(listedExpiry, currentExpiry);
  if (current == null || (expiresAt !== undefined && expiresAt <= now())) {
    progress.gone++;
    return;
  }
  await callStore(to, 'set', listed.id, withExpiry(current, expiresAt));
  progress.copied++;
}

/** The session with `cookie.expires` at the source's instant, from which every store computes the target's expiry. */
function withExpiry(session: SessionData, expiresAt: number | undefined): SessionData {
  if (expiresAt === undefined) return session;
  return { ...session, cookie: { ...session.cookie, expires: new Date(expiresAt) } } as SessionData;
}

/** The source's live sessions: its `sessions()` stream when it has one (with each expiry), else ids() and get(), else all(). */
async function* liveSessionsOf(store: Store): AsyncGenerator<ListedSession, void, undefined> {
  const stream = (store as { sessions?: () => AsyncIterable<ListedSession> }).sessions;
  if (typeof stream === 'function') {
    yield* stream.call(store);
    return;
  }
  if (hasMethod(store, 'ids')) {
    for (const id of await callStore<string[]>(store, 'ids')) {
      const session = await callStore<SessionData | null | undefined>(store, 'get', id);
      if (session != null) yield { id, session };
    }
    return;
  }
  if (hasMethod(store, 'all')) {
    const all = await callStore<unknown>(store, 'all');
    // connect-redis and others answer an array of sessions, each with its id added as `id`.
    if (Array.isArray(all)) {
      const entries = all as Array<SessionData & { id?: unknown }>;
      // Checked before the first copy: a listing without ids would otherwise copy nothing and call that success.
      if (entries.some((entry) => entry !== null && typeof entry === 'object' && typeof entry.id !== 'string')) {
        throw new SessionStoreError(
          'ERR_SESSION_UNSUPPORTED',
          'the source store lists sessions without their ids (all() gives an array of sessions with no id): give it a sessions() or ids() to copy from',
          { store: 'copy' },
        );
      }
      for (const entry of entries) {
        if (entry === null || typeof entry !== 'object') continue;
        const { id, ...session } = entry as SessionData & { id: string };
        yield { id, session: session as SessionData };
      }
    } else if (all !== null && typeof all === 'object') {
      for (const [id, session] of Object.entries(all as Record<string, SessionData>)) if (session != null) yield { id, session };
    }
    return;
  }
  throw new SessionStoreError('ERR_SESSION_UNSUPPORTED', 'the source store lists no sessions: it has none of sessions(), ids() and all()', {
    store: 'copy',
  });
}

function hashedSource(): SessionStoreError {
  return new SessionStoreError(
    'ERR_SESSION_UNSUPPORTED',
    'the source store hashes its session ids (hashIds), so it lists no session id to copy a session under; switch stores with MigratingStore instead, which moves each session when its visitor comes back',
    { store: 'copy' },
  );
}

function cookieExpiresOf(session: SessionData): number | undefined {
  const expires: unknown = (session?.cookie as { expires?: unknown } | undefined)?.expires;
  const instant = expires instanceof Date ? expires.getTime() : typeof expires === 'string' ? Date.parse(expires) : NaN;
  return Number.isFinite(instant) ? instant : undefined;
}

function describe(error: unknown, sid: string): string {
  const clean = error instanceof SessionStoreError ? error : cleanCause(error, [sid]);
  return clean instanceof Error ? clean.message || clean.name : String(clean);
}

function checkOptions(from: Store, to: Store, options: CopyOptions): void {
  for (const [name, store] of [['from', from], ['to', to]] as const) {
    if (store === null || typeof store !== 'object' || !hasMethod(store, 'get') || !hasMethod(store, 'set')) {
      throw new SessionStoreError('ERR_SESSION_OPTIONS', `${name} must be an express-session store (with get and set)`, { store: 'copy' });
    }
  }
  if (from === to) throw new SessionStoreError('ERR_SESSION_OPTIONS', 'from and to are the same store', { store: 'copy' });
  if (options === null || typeof options !== 'object') throw new SessionStoreError('ERR_SESSION_OPTIONS', 'options must be an object', { store: 'copy' });
  for (const name of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(name)) throw new SessionStoreError('ERR_SESSION_OPTIONS', `unknown option ${name}`, { store: 'copy' });
  }
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') {
    throw new SessionStoreError('ERR_SESSION_OPTIONS', 'onProgress must be a function', { store: 'copy' });
  }
  const { concurrency } = options;
  if (concurrency !== undefined && (!Number.isSafeInteger(concurrency) || concurrency < 1)) {
    throw new SessionStoreError('ERR_SESSION_OPTIONS', `concurrency must be a positive integer, got ${String(concurrency)}`, { store: 'copy' });
  }
  if (options.now !== undefined && typeof options.now !== 'function') {
    throw new SessionStoreError('ERR_SESSION_OPTIONS', 'now must be a function returning epoch milliseconds', { store: 'copy' });
  }
}
