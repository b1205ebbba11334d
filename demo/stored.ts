import type { Store } from 'express-session';
import { readRawRecord, storageKeyOf } from '../test/support/own-stores';

/** A session's record as its backend holds it. */
export interface StoredRecord {
  /** The key the record is under: the session id, or with `hashIds` its SHA-256 (Redis: after the prefix). */
  key: string;
  /** The stored text: the serialized session, or with `encryptionKeys` its `sse1.` envelope. */
  value: string;
  /** The expiry the backend holds, epoch ms (Infinity where Redis' own clock keeps it). */
  expiresAt: number;
}

/**
 * What `store`'s backend holds for `sid`, read as the store factories' `readRaw` reads it: through the
 * store's own read primitive, below the codec, so hashing and encryption show as they are stored.
 * Undefined for a store that is not one of this package's.
 */
export async function storedRecordOf(store: Store, sid: string): Promise<StoredRecord | null | undefined> {
  if (typeof (store as { keyFor?: unknown }).keyFor !== 'function') return undefined;
  const record = await readRawRecord(store, sid);
  if (record === null) return null;
  return { key: storageKeyOf(store, sid), value: record.payload, expiresAt: record.expiresAt };
}
