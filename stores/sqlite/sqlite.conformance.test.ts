import path from 'node:path';
import Database from 'better-sqlite3';
import { runConformance } from '../../conformance/jest';
import type { StoreFactoryOptions } from '../../conformance/types';
import { describeBackend } from '../../test/support/backends';
import { SqliteStore } from '.';

const HOUR_MS = 60 * 60 * 1000;

/** A SqliteStore that can hold a raw record, so the corrupt-data cases can plant one. */
class RawSqliteStore extends SqliteStore {
  writeRaw(sid: string, text: string): void {
    this.writeRecord(this.keyFor(sid), text, this.settings.now() + HOUR_MS);
  }
}

describeBackend('sqlite', 'SqliteStore', () => {
  // One database for every store of the run, so stores given the same namespace share a table.
  const db = new Database(':memory:');

  runConformance({
    name: 'SqliteStore',
    makeStore: (options: StoreFactoryOptions) =>
      new RawSqliteStore({
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
    writeRaw: (store, sid, text) => (store as RawSqliteStore).writeRaw(sid, text),
    factoryModule: path.join(__dirname, 'test-support/conformance-factory.ts'),
    teardown: () => {
      db.close();
    },
  });
});
