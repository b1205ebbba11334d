import path from 'node:path';
import { MongoClient } from 'mongodb';
import type { MongoStore } from '.';
import { runConformance } from '../../conformance/jest';
import { describeBackend } from '../../test/support/backends';
import { makeStore } from './fixtures/conformance-factory';
import { dropTestDatabase } from './fixtures/servers';

describeBackend('mongo', 'MongoStore conformance', (url) => {
  afterAll(async () => {
    const client = new MongoClient(url);
    // The database is this file's own; the exit check's child process wrote into it too.
    await dropTestDatabase(client);
    await client.close();
  });

  runConformance({
    name: 'mongo',
    makeStore,
    clock: 'injectable',
    supports: { namespaces: true, ttl: true, ttlFunction: true, touchAfter: true, disableTouch: true },
    methods: ['all', 'ids', 'length', 'clear', 'touch', 'close', 'prune'],
    strict: true,
    http: true,
    writeRaw: async (store, sid, text) => {
      // Live for the suite's clock, which starts at the real one and moves by minutes.
      const expires = new Date(Date.now() + 365 * 24 * 60 * 60 * 1000);
      await (store as MongoStore).collection.updateOne({ _id: sid }, { $set: { session: text, expires } }, { upsert: true });
    },
    factoryModule: path.join(__dirname, 'fixtures', 'conformance-factory.ts'),
  });
});
