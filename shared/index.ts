export { SessionStore, MAX_SID_LENGTH, TOMBSTONE } from './store';
export type { StoredSession, StoredEntry, BackendSettings, ListedSession, UserSession } from './store';
export { SessionStoreError, isSessionStoreError, sidPrefixOf } from './errors';
export { cleanCause } from './causes';
export type { SessionStoreErrorCode, SessionStoreErrorDetails } from './errors';
export { jsonSerializer, MAX_SESSION_DEPTH } from './codec';
export { SharedAttempt } from './setup';
export { connectionOf } from './ownership';
export type { Connection, ConnectionChoice } from './ownership';
export type { Serializer } from './codec';
export { STORAGE_ID_MARK } from './ids';
export type { HashIds } from './ids';
export type { EncryptionKey } from './encryption';
export {
  DEFAULT_TTL_MS,
  DEFAULT_OPERATION_TIMEOUT_MS,
  DEFAULT_PRUNE_INTERVAL_MS,
  validateIdentifier,
  booleanOption,
  positiveIntegerOption,
  DEFAULT_MAX_SESSION_BYTES,
  DEFAULT_TOMBSTONE_TTL_MS,
  optionError,
  ownOptionNames,
  refuseWithSharedLayout,
} from './options';
export type { BaseStoreOptions, ReaperOptions, TombstoneOptions, LifetimeOptions, UserIndexOptions, UserOf, TtlFunction, OnCorrupt, CorruptRecordEvent } from './options';
export type { Callback } from './callbacks';
