import path from 'node:path';
import Database from 'better-sqlite3';
import { runConformance } from '../../conformance/jest';
import type { StoreFactoryOptions } from '../../conformance/types';
import { describeBackend } from '../../test/support/backends';
import { writeRawRecord } from '../../test/support/raw-record';
import { SqliteStore } from '.';

describeBackend('sqlite', 'SqliteStore', () => {
  // One database for every store of the run, so stores given the same namespace share a table.
  const db = new Database(':memory:');

  runConformance({
    name: 'SqliteStore',
    makeStore: (options: StoreFactoryOptions) =>
      new SqliteStore({
        db,
        tableName: options.namespace === undefined ? 'sessions' : `sessions_${options.namespace}`,
        now: options.now,
        ttl: options.ttl,
        touchAfter: options.touchAfter,
        disableTouch: options.disableTouch,
      }),
    clock: 'injectable',
    supports: { namespaces: true, ttl: true, ttlFunction: true, touchAfter: true, disableTouch: true },
    strict: true,
    writeRaw: writeRawRecord,
    factoryModule: path.join(__dirname, 'test-support/conformance-factory.ts'),
    teardown: () => {
      db.close();
    },
  });
});
