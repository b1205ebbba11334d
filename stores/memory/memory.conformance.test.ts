import path from 'node:path';
import { runConformance } from '../../conformance/jest';
import type { StoreFactoryOptions } from '../../conformance/types';
import { MemoryStore } from '.';

const HOUR_MS = 60 * 60 * 1000;

/** A MemoryStore that can hold a raw record, so the corrupt-data cases can plant one. */
class RawMemoryStore extends MemoryStore {
  writeRaw(sid: string, text: string): void {
    this.writeRecord(this.keyFor(sid), text, this.settings.now() + HOUR_MS);
  }
}

runConformance({
  name: 'MemoryStore',
  // Every MemoryStore holds its own map, so each store is a namespace of its own.
  makeStore: (options: StoreFactoryOptions) =>
    new RawMemoryStore({
      now: options.now,
      ttl: options.ttl,
      touchAfter: options.touchAfter,
      disableTouch: options.disableTouch,
    }),
  clock: 'injectable',
  supports: { namespaces: true, ttl: true, ttlFunction: true, touchAfter: true, disableTouch: true },
  strict: true,
  writeRaw: (store, sid, text) => (store as RawMemoryStore).writeRaw(sid, text),
  factoryModule: path.join(__dirname, '../../conformance/fixtures/memory-factory.ts'),
});
