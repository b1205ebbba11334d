import { once } from 'node:events';
import { createCluster } from 'redis';
import { describeWithRedisServers, redisCli, startRedisCluster, type ThrowawayRedisCluster } from '../../test/support/redis-servers';
import { recordProcessErrors } from '../../test/support/process-errors';
import { aSession } from '../../test/support/sessions';
import { timed } from '../../test/support/timed';
import { RedisStore } from './index';

const CONTRACT_BOUND_MS = 5000;
const RECOVERY_BOUND_MS = 20_000;


describeWithRedisServers('RedisStore on a node-redis cluster while one master is down', () => {
  let servers: ThrowawayRedisCluster;
  let cluster: ReturnType<typeof createCluster>;
  let store: RedisStore<ReturnType<typeof createCluster>>;
  const sids = Array.from({ length: 30 }, (_, i) => `sid-${i}`);
  let processErrors: ReturnType<typeof recordProcessErrors>;

  beforeAll(async () => {
    processErrors = recordProcessErrors();
    servers = await startRedisCluster(3);
    cluster = createCluster({ rootNodes: servers.startupNodes.map(({ host, port }) => ({ url: `redis://${host}:${port}` })) });
    await cluster.connect();
    store = new RedisStore({ client: cluster, prefix: 'outage:' });
    await Promise.all(sids.map((sid) => store.set(sid, aSession({ user: sid }))));
  }, 60_000);

  afterAll(async () => {
    await store?.close();
    cluster?.destroy();
    await servers?.destroy();
    processErrors?.stop();
  }, 30_000);

  it('holds the sessions on every master before the outage', async () => {
    const counts = await Promise.all(servers.nodes.map(async (node) => Number(await redisCli(node.port, ['DBSIZE']))));
    expect(counts.every((count) => count > 0)).toBe(true);
  });

  it('emits disconnect and settles every call within 5 s, each failure a SessionStoreError', async () => {
    const disconnected = once(store, 'disconnect');
    await servers.nodes[0]!.stop();
    await disconnected;
    const calls: Promise<unknown>[] = sids.flatMap((sid) => [store.get(sid), store.set(sid, aSession({ user: sid })), store.touch(sid, aSession({ user: sid }))]);
    const outcomes = await Promise.all([...calls, store.ids(), store.length()].map(timed));
    for (const { ms, error } of outcomes) {
      expect(ms).toBeLessThan(CONTRACT_BOUND_MS);
      if (error !== undefined) expect(error).toMatchObject({ name: 'SessionStoreError', code: expect.stringMatching(/^ERR_SESSION_(TIMEOUT|BACKEND|UNAVAILABLE)$/) });
    }
    // The stopped master held some of the sessions: their calls cannot have succeeded.
    expect(outcomes.some(({ error }) => error !== undefined)).toBe(true);
  }, 30_000);

  it('works again for every session once the master is back, without a restart', async () => {
    await servers.nodes[0]!.start();
    const deadline = Date.now() + RECOVERY_BOUND_MS;
    // The restarted master kept its slots (cluster config on disk) but lost its keys (nothing persisted).
    for (;;) {
      const outcomes = await Promise.all(sids.map((sid) => timed(store.set(sid, aSession({ user: `${sid}-after` })))));
      if (outcomes.every(({ error }) => error === undefined)) break;
      if (Date.now() > deadline) throw new Error(`the store did not recover within ${RECOVERY_BOUND_MS} ms`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    for (const sid of sids) expect(await store.get(sid)).toMatchObject({ user: `${sid}-after` });
    expect((await store.ids()).sort()).toEqual([...sids].sort());
    expect(store.isAvailable).toBe(true);
  }, 40_000);

  it('caused no unhandled rejection and no uncaught exception', () => {
    expect(processErrors.seen).toEqual([]);
  });
});
