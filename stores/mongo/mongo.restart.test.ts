import { MongoClient } from 'mongodb';
import { describeWithMongoServers, startMongoServer, type ThrowawayMongo } from '../../test/support/mongo-servers';
import { recordProcessErrors } from '../../test/support/process-errors';
import { lostWrites, recovered, startLoad } from '../../test/support/restart-load';
import { MongoStore } from './index';

const OPERATION_TIMEOUT_MS = 1000;
const OUTAGE_MS = 1500;
const RECOVERY_BOUND_MS = 20_000;
const WORKERS = 32;

describeWithMongoServers('MongoStore through a server crash and restart under load', () => {
  let server: ThrowawayMongo;
  let client: MongoClient;
  let processErrors: ReturnType<typeof recordProcessErrors>;

  beforeAll(async () => {
    processErrors = recordProcessErrors();
    server = await startMongoServer();
    // Server selection shorter than the outage, so the driver gives up on calls while the server is down.
    client = new MongoClient(server.url, { serverSelectionTimeoutMS: 500, heartbeatFrequencyMS: 500 });
  }, 60_000);

  afterAll(async () => {
    await client?.close();
    await server?.destroy();
    processErrors?.stop();
  }, 30_000);

  it('settles every call within the operation timeout, emits disconnect then connect, and keeps every set acknowledged before the crash', async () => {
    const store = new MongoStore({ client, dbName: 'restart', operationTimeout: OPERATION_TIMEOUT_MS });
    const events: string[] = [];
    store.on('disconnect', () => events.push('disconnect'));
    store.on('connect', () => events.push('connect'));
    try {
      await store.length();
      // Writes acknowledged before the crash are checked after it. A set that timed out may still be
      // applied later, after a later set of the same session: FerretDB carries on with commands the
      // driver gave up on. So the load that runs through the outage writes sessions of its own.
      const beforeCrash = startLoad(store, 'before', WORKERS);
      const loaded = Date.now() + 20_000;
      while (beforeCrash.acknowledged.size < WORKERS && Date.now() < loaded) await new Promise((resolve) => setTimeout(resolve, 20));
      // SIGKILL, as a crash: what the server acknowledged must already be in its SQLite files.
      await server.kill();
      const throughOutage = startLoad(store, 'through', WORKERS);
      await beforeCrash.stop();
      await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
      await server.start();
      const recoveryMs = await recovered(store, RECOVERY_BOUND_MS);
      await new Promise((resolve) => setTimeout(resolve, 500));
      await throughOutage.stop();

      for (const load of [beforeCrash, throughOutage]) {
        expect(load.unexpected).toEqual([]);
        expect(load.slowestMs).toBeLessThan(OPERATION_TIMEOUT_MS + 250);
      }
      expect(beforeCrash.acknowledged.size).toBeGreaterThanOrEqual(WORKERS);
      expect(throughOutage.failures).toBeGreaterThan(0);
      expect(throughOutage.calls - throughOutage.failures).toBeGreaterThan(WORKERS);
      expect(recoveryMs).toBeLessThan(RECOVERY_BOUND_MS);
      // A call begun before the crash may time out after the reconnect and report a disconnect again; the probe answers it.
      expect(events.slice(0, 2)).toEqual(['disconnect', 'connect']);
      expect(events.filter((event, i) => event === events[i - 1])).toEqual([]);
      await recovered(store, RECOVERY_BOUND_MS);
      expect(store.isAvailable).toBe(true);
      expect(await lostWrites(store, beforeCrash)).toEqual([]);
      expect(processErrors.seen).toEqual([]);
    } finally {
      await store.close();
    }
  }, 90_000);
});
