import type { IndexDescriptionInfo } from 'mongodb';
import type { SessionIndex } from './ttl-index';

/** Server error codes for a refused createIndex; anything else (network, timeouts) is retried by the next call. */
const UNAUTHORIZED = 13;
const NAMESPACE_NOT_FOUND = 26;
const INDEX_OPTIONS_CONFLICT = 85;
const INDEX_KEY_SPECS_CONFLICT = 86;
const INVALID_OPTIONS = 72;
const NOT_IMPLEMENTED = 238;
const CANNOT_CREATE_INDEX = 67;
const DUPLICATE_KEY = 11000;

/**
 * Driver errors that mean the server cannot be reached. Matched by name, so errors from a client
 * built by another copy of the driver are recognised too.
 */
const UNREACHABLE_ERROR_NAMES = new Set([
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  // The driver's own timeoutMS ran out: the server did not answer in time, as with the store's deadline.
  'MongoOperationTimeoutError',
  'MongoServerSelectionError',
  'MongoTopologyClosedError',
  'MongoNotConnectedError',
  'PoolClearedError',
  'PoolClearedOnNetworkError',
]);

export function isUnreachableError(error: unknown): boolean {
  return error instanceof Error && UNREACHABLE_ERROR_NAMES.has(error.name);
}

/** Whether the server refused to create an index for a reason that retrying will not change. */
export function isIndexRefusal(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === UNAUTHORIZED || code === INDEX_OPTIONS_CONFLICT || code === INDEX_KEY_SPECS_CONFLICT;
}

/**
 * Whether the server has no indexes with `option` (TTL indexes, partial indexes): FerretDB v1
 * answers NotImplemented (238); Cosmos DB and DocumentDB answer other codes whose message names the option.
 */
export function isIndexOptionUnsupported(error: unknown, option: 'expireAfterSeconds' | 'partialFilterExpression'): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (code === NOT_IMPLEMENTED) return true;
  return (
    (code === INVALID_OPTIONS || code === CANNOT_CREATE_INDEX) &&
    typeof message === 'string' &&
    message.toLowerCase().includes(option.toLowerCase()) &&
    /not (supported|implemented|allowed)/i.test(message)
  );
}

/** A write refused by a unique index, which the server may or may not name (FerretDB v1 names none). */
export function isDuplicateKeyError(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === DUPLICATE_KEY;
}

/** listIndexes on a collection that does not exist yet (createIndex was refused before creating it). */
export function isMissingCollection(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === NAMESPACE_NOT_FOUND;
}

/**
 * What to tell the operator when the index `index` could not be created and no equivalent one
 * exists. `existing` is an index found on its field alone, if any.
 */
export function indexRefusalMessage(error: unknown, namespace: string, index: SessionIndex, existing: IndexDescriptionInfo | undefined): string {
  const { field } = index;
  const manage = `or create it yourself (${index.byHand}) and pass createIndex: false`;
  const prefix = `cannot create the ${index.options.expireAfterSeconds === undefined ? 'index' : 'TTL index'} { ${field}: 1 } on ${namespace}`;
  if ((error as { code?: unknown } | null)?.code === UNAUTHORIZED) {
    return `${prefix}: the database user lacks the createIndex privilege; grant it (the readWrite role has it) ${manage}`;
  }
  if (existing) {
    const ttl = existing.expireAfterSeconds === undefined ? 'without expireAfterSeconds (not a TTL index)' : `with expireAfterSeconds ${existing.expireAfterSeconds}`;
    return `${prefix}: index ${String(existing.name)} exists on ${field} ${ttl}; drop it so the store can create its own, or keep it and pass createIndex: false`;
  }
  return `${prefix}: an index named ${index.options.name} exists on other fields; drop or rename it, ${manage}`;
}
