import type { CreateIndexesOptions, IndexDescription, IndexDescriptionInfo } from 'mongodb';

export const TTL_INDEX_NAME = 'expires_1';

/**
 * connect-mongo's TTL index with its very options, so whichever of the two stores creates it
 * first, the other's createIndex is a no-op. `background` has been ignored since MongoDB 4.2.
 */
export const TTL_INDEX = {
  key: { expires: 1 },
  options: { name: TTL_INDEX_NAME, expireAfterSeconds: 0, background: true },
} as const satisfies { key: IndexDescription['key']; options: CreateIndexesOptions };

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
