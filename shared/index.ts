export { SessionStore, MAX_SID_LENGTH } from './store';
export type { StoredSession, StoredEntry, BackendSettings } from './store';
export { SessionStoreError, isSessionStoreError, sidPrefixOf } from './errors';
export type { SessionStoreErrorCode, SessionStoreErrorDetails } from './errors';
export { jsonSerializer } from './codec';
export { SharedAttempt } from './setup';
export type { Serializer } from './codec';
export {
  DEFAULT_TTL_MS,
  DEFAULT_OPERATION_TIMEOUT_MS,
  DEFAULT_PRUNE_INTERVAL_MS,
  resolvePruneInterval,
  validateIdentifier,
  optionError,
} from './options';
export type { BaseStoreOptions, ReaperOptions, TtlFunction } from './options';
export type { Callback } from './callbacks';
