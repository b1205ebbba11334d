import type { CreateIndexesOptions, IndexDescription, IndexDescriptionInfo } from 'mongodb';

/** An index the store creates on one field of the session documents. */
export interface SessionIndex {
  readonly field: string;
  readonly key: IndexDescription['key'];
  readonly options: CreateIndexesOptions & { name: string };
  /** What an operator who passes `createIndex: false` creates instead, as the error that asks for it says. */
  readonly byHand: string;
}

/** A TTL index on one Date field of the session documents, which the server deletes a document by once it has passed. */
export interface TtlIndex extends SessionIndex {
  readonly options: CreateIndexesOptions & { name: string; expireAfterSeconds: 0 };
}

export const TTL_INDEX_NAME = 'expires_1';

/**
 * connect-mongo's TTL index with its very options, so whichever of the two stores creates it
 * first, the other's createIndex is a no-op. `background` has been ignored since MongoDB 4.2.
 */
export const TTL_INDEX = {
  field: 'expires',
  key: { expires: 1 },
  options: { name: TTL_INDEX_NAME, expireAfterSeconds: 0, background: true },
  byHand: '{ expires: 1 }, expireAfterSeconds 0',
} as const satisfies TtlIndex;

/** The end of a session's maxLifetime, which the server enforces as it does `expires`. */
export const LIFETIME_INDEX = {
  field: 'lifetimeEnds',
  key: { lifetimeEnds: 1 },
  options: { name: 'lifetimeEnds_1', expireAfterSeconds: 0 },
  byHand: '{ lifetimeEnds: 1 }, expireAfterSeconds 0',
} as const satisfies TtlIndex;

/**
 * The user index that `sessionsOf` reads with `userOf`: partial, so sessions of no user and
 * tombstones (which have no `owner`) cost it nothing. A server without partial indexes (FerretDB
 * v1) gets it without `partialFilterExpression`.
 */
export const OWNER_INDEX = {
  field: 'owner',
  key: { owner: 1 },
  options: { name: 'owner_1', partialFilterExpression: { owner: { $exists: true } } },
  byHand: "{ owner: 1 }, { name: 'owner_1', partialFilterExpression: { owner: { $exists: true } } }",
} as const satisfies SessionIndex;

/** Whether an existing index already expires sessions by `field` as the store's own would. */
export function isTtlIndexOn(field: string, index: IndexDescriptionInfo): boolean {
  const fields = Object.keys(index.key ?? {});
  return fields.length === 1 && fields[0] === field && index.key[field] === 1 && index.expireAfterSeconds === 0;
}

/** An existing index on `field` alone (TTL or not), which the store will not silently replace. */
export function findIndexOn(field: string, indexes: readonly IndexDescriptionInfo[]): IndexDescriptionInfo | undefined {
  return indexes.find((index) => {
    const fields = Object.keys(index.key ?? {});
    return fields.length === 1 && fields[0] === field;
  });
}
