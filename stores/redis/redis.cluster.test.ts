import type { SessionData } from 'express-session';
import { Cluster } from 'ioredis';
import { runConformance } from '../../conformance/jest';
import { describeWithRedisServers, startRedisCluster, type ThrowawayRedisCluster } from '../../test/support/redis-servers';
import { RedisStore } from './index';
import { redisConformance } from './test-support/conformance';

const HOUR_MS = 60 * 60 * 1000;

describeWithRedisServers('RedisStore on a 3-master Redis Cluster', () => {
  let servers: ThrowawayRedisCluster;
  let cluster: Cluster;

  beforeAll(async () => {
    servers = await startRedisCluster(3);
    cluster = new Cluster(servers.startupNodes);
    await new Promise((resolve, reject) => {
      cluster.once('ready', resolve);
      cluster.once('error', reject);
    });
  }, 60_000);

  afterAll(async () => {
    await cluster?.quit();
    await servers?.destroy();
  }, 30_000);

  describe('bulk calls across masters', () => {
    const sids = Array.from({ length: 60 }, (_, i) => `sid-${i}`);
    let store: RedisStore;

    beforeAll(async () => {
      store = new RedisStore({ client: cluster, prefix: 'bulk:', scanCount: 10 });
      const session = { cookie: { originalMaxAge: null }, user: 'ada' } as unknown as SessionData;
      await Promise.all(sids.map((sid) => store.set(sid, session)));
    });

    afterAll(async () => {
      await store.close();
    });

    it('spreads the sessions over all three masters', async () => {
      const perMaster = await Promise.all(cluster.nodes('master').map((node) => node.dbsize()));
      expect(perMaster).toHaveLength(3);
      expect(perMaster.every((count) => count > 0)).toBe(true);
    });

    it('ids and length see the sessions of every master', async () => {
      expect((await store.ids()).sort()).toEqual([...sids].sort());
      expect(await store.length()).toBe(sids.length);
    });

    it('all fetches the sessions of every master without a cross-slot command', async () => {
      const all = await store.all();
      expect(Object.keys(all).sort()).toEqual([...sids].sort());
      expect(all['sid-7']).toMatchObject({ user: 'ada' });
    });

    it('clear deletes the sessions on every master and nothing outside the prefix', async () => {
      await cluster.set('bulk', 'outside the prefix', 'PX', HOUR_MS);
      await store.clear();
      const perMaster = await Promise.all(cluster.nodes('master').map((node) => node.dbsize()));
      expect(perMaster.reduce((sum, count) => sum + count, 0)).toBe(1);
      expect(await store.length()).toBe(0);
      await cluster.del('bulk');
    });
  });

  runConformance(redisConformance('RedisStore on a Cluster', () => cluster, { childProcess: false }));
});
