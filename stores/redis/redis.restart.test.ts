import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { describeWithRedisServers, startRedisServer, type ThrowawayRedis } from '../../test/support/redis-servers';
import { recordProcessErrors } from '../../test/support/process-errors';
import { aSession } from '../../test/support/sessions';
import { timed } from '../../test/support/timed';
import { RedisStore, type RedisClient } from './index';

const CONTRACT_BOUND_MS = 5000;
const OPERATION_TIMEOUT_MS = 1000;
const OUTAGE_MS = 2000;
const RECOVERY_BOUND_MS = 20_000;
const WORKERS = 32;


/** What the workers of one store saw: per sid, the last version a set acknowledged. */
interface Load {
  acknowledged: Map<string, number>;
  calls: number;
  failures: number;
  slowestMs: number;
  unexpected: unknown[];
  stop(): Promise<void>;
}

/**
 * `WORKERS` workers, each writing versions 1, 2, 3… of its own sessions and reading them back,
 * until stopped. Every call is timed; a failure must be a SessionStoreError.
 */
function startLoad(store: RedisStore<RedisClient>, label: string): Load {
  const load: Load = { acknowledged: new Map(), calls: 0, failures: 0, slowestMs: 0, unexpected: [], stop: async () => undefined };
  let running = true;
  const worker = async (w: number) => {
    for (let n = 1; running; n++) {
      const sid = `${label}-${w}-${n % 4}`;
      const write = await timed(store.set(sid, aSession({ n })));
      const read = await timed(store.get(sid));
      for (const outcome of [write, read]) {
        load.calls++;
        load.slowestMs = Math.max(load.slowestMs, outcome.ms);
        if (outcome.error === undefined) continue;
        load.failures++;
        if ((outcome.error as { name?: unknown }).name !== 'SessionStoreError') load.unexpected.push(outcome.error);
      }
      if (write.error === undefined) load.acknowledged.set(sid, n);
    }
  };
  const workers = Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
  load.stop = async () => {
    running = false;
    await workers;
  };
  return load;
}

/** Resolves once `store` answers a set and a get again; rejects after `RECOVERY_BOUND_MS`. */
async function recovered(store: RedisStore<RedisClient>): Promise<number> {
  const started = Date.now();
  for (;;) {
    const { error } = await timed(store.set('probe', aSession({ n: 0 })).then(() => store.get('probe')));
    if (error === undefined) return Date.now() - started;
    if (Date.now() - started > RECOVERY_BOUND_MS) throw new Error(`the store did not recover within ${RECOVERY_BOUND_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describeWithRedisServers('RedisStore through a Redis restart under load', () => {
  let server: ThrowawayRedis;
  let ioredis: Redis;
  let nodeRedis: ReturnType<typeof createClient>;
  let processErrors: ReturnType<typeof recordProcessErrors>;

  beforeAll(async () => {
    processErrors = recordProcessErrors();
    // Every acknowledged write is on disk before its reply, so a restart keeps them all.
    server = await startRedisServer(['--appendonly', 'yes', '--appendfsync', 'always']);
    ioredis = new Redis(server.url);
    ioredis.on('error', () => undefined);
    nodeRedis = createClient({ url: server.url });
    nodeRedis.on('error', () => undefined);
    await nodeRedis.connect();
  }, 30_000);

  afterAll(async () => {
    ioredis?.disconnect();
    nodeRedis?.destroy();
    await server?.destroy();
    processErrors?.stop();
  }, 30_000);

  it('settles every call within 5 s, recovers without a restart, and keeps every acknowledged set', async () => {
    // A bound shorter than the outage, so that calls time out while the server is down.
    const stores = [
      new RedisStore<RedisClient>({ client: ioredis, prefix: 'restart:io:', operationTimeout: OPERATION_TIMEOUT_MS }),
      new RedisStore<RedisClient>({ client: nodeRedis, prefix: 'restart:nr:', operationTimeout: OPERATION_TIMEOUT_MS }),
    ];
    try {
      const loads = stores.map((store, index) => startLoad(store, index === 0 ? 'io' : 'nr'));
      await new Promise((resolve) => setTimeout(resolve, 500));
      await server.stop();
      await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
      await server.start();
      const recoveryMs = await Promise.all(stores.map(recovered));
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
        for (const [sid, n] of load.acknowledged) {
          const stored = (await store.get(sid)) as unknown as { n: number } | null;
          expect({ sid, kept: (stored?.n ?? 0) >= n }).toEqual({ sid, kept: true });
        }
      }
      expect(processErrors.seen).toEqual([]);
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  }, 60_000);
});
