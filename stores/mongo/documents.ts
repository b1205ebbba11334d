import type { CreateIndexesOptions, Filter, IndexDescription, IndexDescriptionInfo, UpdateFilter } from 'mongodb';
import type { StoredEntry, StoredSession } from '../../shared';

/**
 * One session as MongoDB holds it: connect-mongo's default layout, so either store reads the
 * other's documents. `lastModified` is written only by connect-mongo (with its `touchAfter`).
 */
export interface SessionDocument {
  _id: string;
  /** The session encoded by the store's serializer (JSON by default), as connect-mongo's `stringify: true`. */
  session: string;
  expires: Date;
  lastModified?: Date;
}

/** The fields a read or a scan asks for. */
export type ProjectedSession = Partial<Pick<SessionDocument, '_id' | 'session' | 'expires'>>;

export const TTL_INDEX_NAME = 'expires_1';

/**
 * connect-mongo's TTL index with its very options, so whichever of the two stores creates it
 * first, the other's createIndex is a no-op. `background` has been ignored since MongoDB 4.2.
 */
export const TTL_INDEX = {
  key: { expires: 1 },
  options: { name: TTL_INDEX_NAME, expireAfterSeconds: 0, background: true },
} as const satisfies { key: IndexDescription['key']; options: CreateIndexesOptions };

/** Documents whose expiry is after `now`; a document without `expires` is never live. */
export function liveFilter(now: number): Filter<SessionDocument> {
  return { expires: { $gt: new Date(now) } };
}

export function idFilter(key: string): Filter<SessionDocument> {
  return { _id: key };
}

export function readFilter(key: string, now: number): Filter<SessionDocument> {
  return { _id: key, expires: { $gt: new Date(now) } };
}

export const READ_PROJECTION = { _id: 0, session: 1, expires: 1 } as const;

export function scanProjection(withPayload: boolean): Record<string, 1> {
  return withPayload ? { _id: 1, session: 1, expires: 1 } : { _id: 1, expires: 1 };
}

/** The whole write of `set`, sent with `upsert: true`; fields other tools added (connect-mongo's timestamps) are kept. */
export function writeUpdate(payload: string, expiresAt: number): UpdateFilter<SessionDocument> {
  return { $set: { session: payload, expires: new Date(expiresAt) } };
}

export const WRITE_OPTIONS = { upsert: true } as const;

/**
 * Matches the document to touch only while it is live and, with `touchAfter`, only when its
 * stored expiry is before `unlessExpiresAfter`, so a skipped touch costs no write.
 */
export function extendFilter(key: string, now: number, unlessExpiresAfter: number | undefined): Filter<SessionDocument> {
  const expires =
    unlessExpiresAfter === undefined
      ? { $gt: new Date(now) }
      : { $gt: new Date(now), $lt: new Date(unlessExpiresAfter) };
  return { _id: key, expires };
}

/** A touch moves the expiry and nothing else. */
export function extendUpdate(expiresAt: number): UpdateFilter<SessionDocument> {
  return { $set: { expires: new Date(expiresAt) } };
}

export const EXTEND_OPTIONS = { upsert: false } as const;

/** Every document of the store's collection: the collection is the namespace. */
export const ALL_FILTER: Filter<SessionDocument> = {};

/** The base's view of a document found by `readFilter`. */
export function recordOf(document: ProjectedSession | null): StoredSession | null {
  if (!document) return null;
  return { payload: document.session, expiresAt: expiresAtOf(document) };
}

export function entryOf(document: ProjectedSession, withPayload: boolean): StoredEntry {
  const entry: StoredEntry = { key: String(document._id), expiresAt: expiresAtOf(document) };
  if (withPayload) entry.payload = document.session;
  return entry;
}

/** A document whose `expires` is not a Date reads as already expired. */
function expiresAtOf(document: ProjectedSession): number {
  return document.expires instanceof Date ? document.expires.getTime() : NaN;
}

/** Whether an existing index already expires sessions as the store's own would. */
export function isTtlIndexOnExpires(index: IndexDescriptionInfo): boolean {
  const fields = Object.keys(index.key ?? {});
  return fields.length === 1 && fields[0] === 'expires' && index.key.expires === 1 && index.expireAfterSeconds === 0;
}

/** An existing index on `expires` alone (TTL or not), which the store will not silently replace. */
export function findIndexOnExpires(indexes: readonly IndexDescriptionInfo[]): IndexDescriptionInfo | undefined {
  return indexes.find((index) => {
    const fields = Object.keys(index.key ?? {});
    return fields.length === 1 && fields[0] === 'expires';
  });
}
