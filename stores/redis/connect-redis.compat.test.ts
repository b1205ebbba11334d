import { randomBytes } from 'node:crypto';
import { RedisStore as ConnectRedisStore } from 'connect-redis';
import type { SessionData } from 'express-session';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import request from 'supertest';
import { describeBackend } from '../../test/support/backends';
import { appWith, sidOfCookie } from '../../test/support/migration-app';
import { HOUR_MS, aSession } from '../../test/support/sessions';
import { RedisStore } from './index';

describe("RedisStore with compat 'connect-redis'", () => {
  it.each([
    ['tombstoneTtl', { tombstoneTtl: 60_000 }, 'connect-redis, which would read a tombstone as a session'],
    ['maxLifetime', { maxLifetime: HOUR_MS }, "no place for a session's creation time"],
    ['hashIds', { hashIds: true }, 'looks sessions up by their ids'],
  ])('refuses %s, which connect-redis could not follow, with ERR_SESSION_OPTIONS', (_name, option, reason) => {
    expect(() => new RedisStore({ url: 'redis://127.0.0.1:1', compat: 'connect-redis', ...option })).toThrow(
      expect.objectContaining({ code: 'ERR_SESSION_OPTIONS', message: expect.stringContaining(reason) }),
    );
  });
});

describeBackend('redis', "RedisStore with compat 'connect-redis' and connect-redis 9 share sessions", (url) => {
  let nodeRedis: ReturnType<typeof createClient>;
  let ioredis: Redis;
  let theirs: ConnectRedisStore;
  let ours: RedisStore;
  const sids: string[] = [];

  /** A sid unique to this run, under the default `sess:` prefix both stores use. */
  function sid(label: string): string {
    const value = `compat-${label}-${randomBytes(8).toString('hex')}`;
    sids.push(value);
    return value;
  }

  beforeAll(async () => {
    nodeRedis = createClient({ url });
    await nodeRedis.connect();
    ioredis = new Redis(url);
    theirs = new ConnectRedisStore({ client: nodeRedis });
    ours = new RedisStore({ client: ioredis, compat: 'connect-redis' });
  });

  afterAll(async () => {
    if (sids.length > 0) await ioredis.del(...sids.map((value) => `sess:${value}`));
    await ours.close();
    await ioredis.quit();
    await nodeRedis.quit();
  });

  it('RedisStore reads a session connect-redis wrote', async () => {
    const id = sid('theirs');
    const written = aSession({ user: 'ada' });
    await theirs.set(id, written);
    expect(await ours.get(id)).toEqual(written);
  });

  it('connect-redis reads a session RedisStore wrote', async () => {
    const id = sid('ours');
    const written = aSession({ user: 'ada', nested: { list: [1, 'two'] } });
    await ours.set(id, written);
    expect(await theirs.get(id)).toEqual(written);
  });

  it('both write the same bytes for the same session', async () => {
    const [a, b] = [sid('bytes-a'), sid('bytes-b')];
    const written = aSession({ user: 'ada' });
    await theirs.set(a, written);
    await ours.set(b, written);
    expect(await ioredis.get(`sess:${b}`)).toBe(await ioredis.get(`sess:${a}`));
  });

  it('RedisStore touch moves the expiry of a connect-redis session to the millisecond', async () => {
    const id = sid('touch-ours');
    await theirs.set(id, aSession());
    const expiresAt = Date.now() + 2 * HOUR_MS + 321;
    await ours.touch(id, { cookie: { expires: new Date(expiresAt).toISOString() } } as unknown as SessionData);
    expect(await ioredis.pexpiretime(`sess:${id}`)).toBe(expiresAt);
    expect(await ours.get(id)).not.toBeNull();
  });

  it('connect-redis touch moves the expiry of a RedisStore session', async () => {
    const id = sid('touch-theirs');
    await ours.set(id, aSession());
    const before = await ioredis.pexpiretime(`sess:${id}`);
    await theirs.touch(id, aSession({ cookie: { expires: new Date(Date.now() + 3 * HOUR_MS).toISOString() } }));
    expect(await ioredis.pexpiretime(`sess:${id}`)).toBeGreaterThan(before + HOUR_MS);
    expect(await ours.get(id)).not.toBeNull();
  });

  it('a destroy by either store removes the session for both, and leaves no key', async () => {
    const [a, b] = [sid('destroy-a'), sid('destroy-b')];
    await theirs.set(a, aSession());
    await ours.set(b, aSession());
    await ours.destroy(a);
    await theirs.destroy(b);
    expect([await theirs.get(a), await ours.get(b)]).toEqual([null, null]);
    expect(await ioredis.exists(`sess:${a}`, `sess:${b}`)).toBe(0);
  });

  it('without compat, RedisStore reads what connect-redis wrote, and its own save adds the creation instant connect-redis cannot read', async () => {
    const own = new RedisStore({ client: ioredis });
    try {
      const id = sid('own-layout');
      const written = aSession({ user: 'ada' });
      await theirs.set(id, written);
      expect(await own.get(id)).toEqual(written);
      await own.set(id, written);
      expect(await ioredis.get(`sess:${id}`)).toMatch(/^\x01\d+\x01\{/);
      await expect(theirs.get(id)).rejects.toThrow(SyntaxError);
    } finally {
      await own.close();
    }
  });

  it('a user logged in through connect-redis stays logged in after the app switches to RedisStore, and back', async () => {
    const before = appWith(theirs);
    const after = appWith(ours);
    const login = await request(before).post('/login');
    const cookie = login.headers['set-cookie'] as unknown as string[];
    sids.push(sidOfCookie(cookie));
    expect((await request(after).get('/me').set('Cookie', cookie)).body).toEqual({ user: 'ada', cart: [1, 2, 3] });
    expect((await request(before).get('/me').set('Cookie', cookie)).body).toEqual({ user: 'ada', cart: [1, 2, 3] });

    const ourLogin = await request(after).post('/login');
    const ourCookie = ourLogin.headers['set-cookie'] as unknown as string[];
    sids.push(sidOfCookie(ourCookie));
    expect((await request(before).get('/me').set('Cookie', ourCookie)).body).toEqual({ user: 'ada', cart: [1, 2, 3] });
  });
});
