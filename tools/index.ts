export { MigratingStore } from './migrating-store';
export type { MigratingStoreOptions } from './migrating-store';
export { copySessions } from './copy';
export type { CopyOptions, CopyProgress, CopyResult } from './copy';
