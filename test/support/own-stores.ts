import type { Store } from 'express-session';
import type { StoreFactoryOptions } from '../../conformance/types';

const HOUR_MS = 60 * 60 * 1000;

interface Backend {
  keyFor(sid: string): string;
  writeRecord(key: string, payload: string, expiresAt: number, now: number): unknown;
  settings: { now(): number };
}

/**
 * Stores `text` verbatim as the record of `sid`, live for an hour, through the store's own write
 * primitive (below the codec), so the corrupt-data cases can plant what no encoder would write.
 * For stores of this package only.
 */
export async function writeRawRecord(store: Store, sid: string, text: string): Promise<void> {
  const backend = store as unknown as Backend;
  const now = backend.settings.now();
  await backend.writeRecord(backend.keyFor(sid), text, now + HOUR_MS, now);
}

/** The options every store of this package shares, taken from the conformance suite's. */
export function baseOptionsOf(options: StoreFactoryOptions) {
  return {
    ...(options.now !== undefined && { now: options.now }),
    ...(options.ttl !== undefined && { ttl: options.ttl }),
    ...(options.touchAfter !== undefined && { touchAfter: options.touchAfter }),
    ...(options.disableTouch !== undefined && { disableTouch: options.disableTouch }),
  };
}
