import path from 'node:path';
import { runConformance } from '../../conformance/jest';
import type { StoreFactoryOptions } from '../../conformance/types';
import { baseOptionsOf, writeRawRecord } from '../../test/support/own-stores';
import { MemoryStore } from '.';

runConformance({
  name: 'MemoryStore',
  // Every MemoryStore holds its own map, so each store is a namespace of its own.
  makeStore: (options: StoreFactoryOptions) => new MemoryStore(baseOptionsOf(options)),
  clock: 'injectable',
  supports: { namespaces: true, ttl: true, ttlFunction: true, touchAfter: true, disableTouch: true },
  strict: true,
  writeRaw: writeRawRecord,
  factoryModule: path.join(__dirname, '../../conformance/fixtures/memory-factory.ts'),
});
