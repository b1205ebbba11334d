import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { createClient as createClient6 } from 'redis6';
import { describeWithRedisServers, startRedisServer, type ThrowawayRedis } from '../../test/support/redis-servers';
import { recordProcessErrors } from '../../test/support/process-errors';
import { lostWrites, recovered, startLoad } from '../../test/support/restart-load';
import { RedisStore, type RedisClient } from './index';

const CONTRACT_BOUND_MS = 5000;
const OPERATION_TIMEOUT_MS = 1000;
const OUTAGE_MS = 2000;
const RECOVERY_BOUND_MS = 20_000;
const WORKERS = 32;

describeWithRedisServers('RedisStore through a Redis restart under load', () => {
  let server: ThrowawayRedis;
  let ioredis: Redis;
  let nodeRedis: ReturnType<typeof createClient>;
  let nodeRedis6: ReturnType<typeof createClient6>;
  let processErrors: ReturnType<typeof recordProcessErrors>;

  beforeAll(async () => {
    processErrors = recordProcessErrors();
    // Every acknowledged write is on disk before its reply, so a restart keeps them all.
    server = await startRedisServer(['--appendonly', 'yes', '--appendfsync', 'always']);
    ioredis = new Redis(server.url);
    ioredis.on('error', () => undefined);
    nodeRedis = createClient({ url: server.url });
    nodeRedis.on('error', () => undefined);
    nodeRedis6 = createClient6({ url: server.url });
    nodeRedis6.on('error', () => undefined);
    await Promise.all([nodeRedis.connect(), nodeRedis6.connect()]);
  }, 30_000);

  afterAll(async () => {
    ioredis?.disconnect();
    nodeRedis?.destroy();
    nodeRedis6?.destroy();
    await server?.destroy();
    processErrors?.stop();
  }, 30_000);

  it('settles every call within 5 s, recovers without a restart, and keeps every acknowledged set', async () => {
    // A bound shorter than the outage, so that calls time out while the server is down.
    const clients: [label: string, client: RedisClient][] = [
      ['io', ioredis],
      ['nr', nodeRedis],
      ['nr6', nodeRedis6],
    ];
    const stores = clients.map(([label, client]) => new RedisStore({ client, prefix: `restart:${label}:`, operationTimeout: OPERATION_TIMEOUT_MS }));
    try {
      const loads = stores.map((store, index) => startLoad(store, clients[index]![0], WORKERS));
      await new Promise((resolve) => setTimeout(resolve, 500));
      await server.stop();
      await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
      await server.start();
      const recoveryMs = await Promise.all(stores.map((store) => recovered(store, RECOVERY_BOUND_MS)));
      await new Promise((resolve) => setTimeout(resolve, 500));
      await Promise.all(loads.map((load) => load.stop()));

      for (const [index, load] of loads.entries()) {
        const store = stores[index]!;
        expect(load.unexpected).toEqual([]);
        expect(load.slowestMs).toBeLessThan(Math.min(CONTRACT_BOUND_MS, OPERATION_TIMEOUT_MS + 250));
        // The load ran on both sides of the outage, and failed while the server was down.
        expect(load.failures).toBeGreaterThan(0);
        expect(load.calls - load.failures).toBeGreaterThan(WORKERS * 4);
        expect(recoveryMs[index]).toBeLessThan(RECOVERY_BOUND_MS);
        // A set that timed out may still land after the reconnect, but never before a later acknowledged one.
        expect(await lostWrites(store, load)).toEqual([]);
      }
      expect(processErrors.seen).toEqual([]);
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  }, 60_000);
});
