import path from 'node:path';
import { MongoClient } from 'mongodb';
import type { MongoStore } from '.';
import { runConformance } from '../../conformance/jest';
import { describeBackend } from '../../test/support/backends';
import { collectionFor, makeStore } from './fixtures/conformance-factory';
import { dropCollections } from './fixtures/servers';

describeBackend('mongo', 'MongoStore conformance', (url) => {
  const created = new Set<string>();

  afterAll(async () => {
    const client = new MongoClient(url);
    // The exit check's child process names its collection after a namespace derived from this run's.
    await dropCollections(client, created, true);
    await client.close();
  });

  runConformance({
    name: 'mongo',
    makeStore: (opts) => {
      created.add(collectionFor(opts.namespace));
      return makeStore(opts);
    },
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
