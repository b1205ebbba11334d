import path from 'node:path';
import Database from 'better-sqlite3';
import { runConformance } from '../../conformance/jest';
import type { StoreFactoryOptions } from '../../conformance/types';
import { describeBackend } from '../../test/support/backends';
import { baseOptionsOf, writeRawRecord } from '../../test/support/own-stores';
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
        ...baseOptionsOf(options),
      }),
    clock: 'injectable',
    supports: { namespaces: true, ttl: true, ttlFunction: true, touchAfter: true, disableTouch: true },
    strict: true,
    writeRaw: writeRawRecord,
    factoryModule: path.join(__dirname, 'fixtures/conformance-factory.ts'),
    teardown: () => {
      db.close();
    },
  });
});
