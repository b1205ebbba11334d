import { randomBytes } from 'node:crypto';
import util from 'node:util';
import type { SessionData } from 'express-session';
import { Redis } from 'ioredis';
import { RedisStore, type RedisStoreOptions } from '.';
import { describeBackend } from '../../test/support/backends';
import { describeWithRedisServers, startRedisServer, type ThrowawayRedis } from '../../test/support/redis-servers';

const session = (data: Record<string, unknown> = {}) =>
  ({ cookie: { originalMaxAge: 3_600_000, expires: new Date(Date.now() + 3_600_000), path: '/', httpOnly: true }, ...data }) as unknown as SessionData;

describe('RedisStore constructor errors', () => {
  it.each(['redis://:s3cretpw@[bad', 'redis://user:s3cretpw@host:port', 'rediss://user:s3cretpw@exa mple.com:99999'])(
    'refuses the url %s with ERR_SESSION_OPTIONS, without its password',
    (url) => {
      let thrown: unknown;
      try {
        void new RedisStore({ url }).close();
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toMatchObject({ code: 'ERR_SESSION_OPTIONS' });
      const printed = util.inspect(thrown, { depth: 10 });
      expect(printed).not.toContain('s3cretpw');
      expect(printed).not.toMatch(/TypeError|ERR_INVALID_URL/);
    },
  );
});

describeBackend('redis', 'RedisStore namespace', (url) => {
  let client: Redis;
  const run = randomBytes(6).toString('hex');
  const foreignKeys = [`test:foreign:${run}:a`, `test:foreign:${run}:b`, `TEST:h2:${run}:x`];
  const stores: RedisStore[] = [];
  const makeStore = (options: Partial<RedisStoreOptions>) => {
    const store = new RedisStore({ client, ...options });
    stores.push(store);
    return store;
  };

  beforeAll(async () => {
    client = new Redis(url);
  });
  beforeEach(async () => {
    for (const key of foreignKeys) await client.set(key, 'not a session', 'PX', 60_000);
  });
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
    await client.del(...foreignKeys);
  });
  afterAll(async () => {
    await client.quit();
  });

  it("takes prefix '' for connect-redis' keys without a prefix, and refuses clear() on it, deleting nothing", async () => {
    const store = makeStore({ prefix: '' });
    const sid = `test:h2:${run}:unprefixed`;
    await store.set(sid, session({ n: 1 }));
    expect(await client.exists(sid)).toBe(1);
    expect(await store.get(sid)).toMatchObject({ n: 1 });
    await expect(store.clear()).rejects.toMatchObject({ code: 'ERR_SESSION_OPTIONS', message: expect.stringContaining('allowClearWithoutPrefix') });
    expect(await client.exists(sid, ...foreignKeys)).toBe(1 + foreignKeys.length);
    await store.destroy(sid);
  });

  it('clears only keys that begin with its prefix byte for byte, whatever glob characters the prefix holds', async () => {
    const prefix = `test:h2:${run}:[a-z]*?\\`;
    const store = makeStore({ prefix });
    await store.set('mine', session());
    const lookalikes = [`test:h2:${run}:b-z]*?\\mine`, `test:h2:${run}:axmine`, `TEST:h2:${run}:[a-z]*?\\mine`];
    for (const key of lookalikes) await client.set(key, 'not ours', 'PX', 60_000);
    try {
      await store.clear();
      expect(await client.exists(`${prefix}mine`)).toBe(0);
      expect(await client.exists(...lookalikes, ...foreignKeys)).toBe(lookalikes.length + foreignKeys.length);
    } finally {
      await client.del(...lookalikes);
    }
  });
});

describeWithRedisServers('RedisStore with allowClearWithoutPrefix', () => {
  let server: ThrowawayRedis;
  beforeAll(async () => {
    server = await startRedisServer();
  }, 30_000);
  afterAll(async () => {
    await server.destroy();
  });

  it("clears the whole database with prefix '' when allowClearWithoutPrefix says so", async () => {
    const client = new Redis(server.url);
    const store = new RedisStore({ client, prefix: '', allowClearWithoutPrefix: true });
    try {
      await store.set('a', session());
      await client.set('anything', 'else');
      await store.clear();
      expect(await client.dbsize()).toBe(0);
    } finally {
      await store.close();
      await client.quit();
    }
  });
});
