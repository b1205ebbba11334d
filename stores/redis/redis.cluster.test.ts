import { RedisStore as ConnectRedisStore } from 'connect-redis';
import type { SessionData } from 'express-session';
import { Cluster } from 'ioredis';
import { createCluster } from 'redis';
import { createCluster as createCluster6 } from 'redis6';
import { runConformance } from '../../conformance/jest';
import { conformanceOf } from '../../test/support/own-stores';
import { describeWithRedisServers, startRedisCluster, type ThrowawayRedisCluster } from '../../test/support/redis-servers';
import { RedisStore, type RedisClient } from './index';
import { redisFactory } from './fixtures/factory';

const HOUR_MS = 60 * 60 * 1000;

describeWithRedisServers('RedisStore on a 3-master Redis Cluster', () => {
  let servers: ThrowawayRedisCluster;
  let cluster: Cluster;
  let nodeRedisCluster: ReturnType<typeof createCluster>;
  let nodeRedis6Cluster: ReturnType<typeof createCluster6>;

  beforeAll(async () => {
    servers = await startRedisCluster(3);
    cluster = new Cluster(servers.startupNodes);
    await new Promise((resolve, reject) => {
      cluster.once('ready', resolve);
      cluster.once('error', reject);
    });
    const rootNodes = servers.startupNodes.map(({ host, port }) => ({ url: `redis://${host}:${port}` }));
    nodeRedisCluster = createCluster({ rootNodes });
    nodeRedis6Cluster = createCluster6({ rootNodes });
    await Promise.all([nodeRedisCluster.connect(), nodeRedis6Cluster.connect()]);
  }, 60_000);

  afterAll(async () => {
    await cluster?.quit();
    nodeRedisCluster?.destroy();
    nodeRedis6Cluster?.destroy();
    await servers?.destroy();
  }, 30_000);

  describe.each([
    ['an ioredis Cluster', () => new RedisStore({ client: cluster, prefix: 'bulk:', scanCount: 10 })],
    ['a node-redis v5 cluster', () => new RedisStore({ client: nodeRedisCluster, prefix: 'bulk:', scanCount: 10 })],
    ['a node-redis v6 cluster', () => new RedisStore({ client: nodeRedis6Cluster, prefix: 'bulk:', scanCount: 10 })],
  ])('bulk calls across masters, on %s', (_, makeStore) => {
    const sids = Array.from({ length: 60 }, (_, i) => `sid-${i}`);
    let store: RedisStore<RedisClient>;

    beforeAll(async () => {
      store = makeStore() as RedisStore<RedisClient>;
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

  describe.each([
    ['an ioredis Cluster', () => cluster as RedisClient],
    ['a node-redis v5 cluster', () => nodeRedisCluster as unknown as RedisClient],
    ['a node-redis v6 cluster', () => nodeRedis6Cluster as unknown as RedisClient],
  ])("a user's sessions across masters, on %s", (_, client) => {
    const userOf = (session: SessionData) => (session as unknown as { user?: string }).user;
    const sids = Array.from({ length: 30 }, (_, i) => `sid-${i}`);
    let store: RedisStore<RedisClient>;

    beforeAll(async () => {
      store = new RedisStore({ client: client(), prefix: 'users:', userOf });
      const session = { cookie: { originalMaxAge: HOUR_MS, expires: new Date(Date.now() + HOUR_MS).toISOString() }, user: 'ada' } as unknown as SessionData;
      await Promise.all(sids.map((sid) => store.set(sid, session)));
    });

    afterAll(async () => {
      await store.clear();
      await store.close();
    });

    it("keeps the user's set on a slot of its own, apart from sessions spread over every master", async () => {
      const slots = new Set(await Promise.all(['by-user:users:ada', ...sids.map((sid) => `users:${sid}`)].map((key) => cluster.cluster('KEYSLOT', key))));
      expect(slots.size).toBeGreaterThan(3);
      const perMaster = await Promise.all(cluster.nodes('master').map((node) => node.dbsize()));
      expect(perMaster.every((count) => count > 0)).toBe(true);
      expect(await cluster.scard('by-user:users:ada')).toBe(sids.length);
    });

    it('sessionsOf lists the sessions of every master, and destroySessionsOf ends all but the kept one', async () => {
      expect((await store.sessionsOf('ada')).map(({ id }) => id).sort()).toEqual([...sids].sort());
      expect(await store.destroySessionsOf('ada', { except: 'sid-0' })).toBe(sids.length - 1);
      expect((await store.sessionsOf('ada')).map(({ id }) => id)).toEqual(['sid-0']);
      expect(await store.ids()).toEqual(['sid-0']);
      expect(await cluster.smembers('by-user:users:ada')).toEqual(['users:sid-0']);
    });

    it('clear deletes the index keys on every master too', async () => {
      await store.clear();
      expect(await cluster.exists('by-user:users:ada')).toBe(0);
    });
  });

  describe('on a node-redis cluster', () => {
    it("with compat 'connect-redis', reads what connect-redis wrote through the same cluster, and the other way round", async () => {
      const theirs = new ConnectRedisStore({ client: nodeRedisCluster, prefix: 'interop:' });
      const ours = new RedisStore({ client: nodeRedisCluster, prefix: 'interop:', compat: 'connect-redis' });
      const session = { cookie: { originalMaxAge: HOUR_MS, expires: new Date(Date.now() + HOUR_MS).toISOString() }, user: 'ada' } as unknown as SessionData;
      try {
        await theirs.set('theirs', session);
        await ours.set('ours', { ...session, user: 'grace' } as SessionData);
        expect(await ours.get('theirs')).toMatchObject({ user: 'ada' });
        expect(await theirs.get('ours')).toMatchObject({ user: 'grace' });
        expect((await ours.ids()).sort()).toEqual(['ours', 'theirs']);
      } finally {
        await ours.clear();
        await ours.close();
      }
    });

    it('keeps one error listener on the cluster while in use, so an unheard cluster error cannot crash the process', async () => {
      const before = nodeRedisCluster.listenerCount('error');
      const store = new RedisStore({ client: nodeRedisCluster, prefix: 'listeners:' });
      expect(nodeRedisCluster.listenerCount('error')).toBe(before + 1);
      await store.close();
      expect(nodeRedisCluster.listenerCount('error')).toBe(before);
    });
  });

  runConformance(conformanceOf(redisFactory({ name: 'RedisStore on a Cluster', client: () => cluster })));
  runConformance(conformanceOf(redisFactory({ name: 'RedisStore on a node-redis cluster', client: () => nodeRedisCluster })));
});
