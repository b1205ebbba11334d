import { randomBytes } from 'node:crypto';
import type { SessionData } from 'express-session';
import { Redis } from 'ioredis';
import { describeBackend } from '../../test/support/backends';
import { freePort } from '../../test/support/redis-servers';
import { RedisStore, escapeGlob, type RedisStoreOptions } from './index';

const HOUR = 60 * 60 * 1000;
const T0 = Date.now();

function sessionExpiringAt(expiresAt: number, data: Record<string, unknown> = {}): SessionData {
  return { cookie: { originalMaxAge: expiresAt - T0, expires: new Date(expiresAt), httpOnly: true, path: '/' }, ...data } as unknown as SessionData;
}

function uniquePrefix(label = 'unit'): string {
  return `test:redis:${label}:${randomBytes(6).toString('hex')}:`;
}

/** The default userIndexPrefix of a store with `prefix`. */
function indexPrefixOf(prefix: string): string {
  return `by-user:${prefix}`;
}

/** The suite's userOf: the session's `user`, where it is a string. */
const userOf = (session: SessionData) => {
  const user = (session as unknown as { user?: unknown }).user;
  return typeof user === 'string' ? user : undefined;
};

describeBackend('redis', 'RedisStore', (url) => {
  let client: Redis;
  let prefix: string;
  let clock: number;
  const stores: RedisStore[] = [];

  function makeStore(options: Partial<RedisStoreOptions> = {}): RedisStore {
    const store = new RedisStore({ client, prefix, now: () => clock, ...options });
    stores.push(store);
    return store;
  }

  async function keysUnder(pattern: string): Promise<string[]> {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      found.push(...keys);
    } while (cursor !== '0');
    return found.sort();
  }

  beforeAll(() => {
    client = new Redis(url);
  });

  beforeEach(() => {
    prefix = uniquePrefix();
    clock = T0;
  });

  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
    const leftovers = [...(await keysUnder(`${escapeGlob(prefix)}*`)), ...(await keysUnder(`${escapeGlob(indexPrefixOf(prefix))}*`))];
    if (leftovers.length > 0) await client.del(...leftovers);
  });

  afterAll(async () => {
    await client.quit();
  });

  describe('storage format', () => {
    it('stores a session under prefix + sid as its creation instant between two \\x01 bytes, then its JSON', async () => {
      const session = sessionExpiringAt(T0 + HOUR, { user: 'ada' });
      await makeStore().set('abc', session);
      expect(await client.get(`${prefix}abc`)).toBe(`\x01${T0}\x01${JSON.stringify(session)}`);
    });

    it("with compat 'connect-redis', stores the plain JSON that connect-redis writes, with a plain SET", async () => {
      const store = makeStore({ compat: 'connect-redis' });
      const session = sessionExpiringAt(T0 + HOUR, { user: 'ada' });
      const commands = await recordCommands(url, prefix, () => store.set('abc', session));
      expect(commands).toEqual([['set', `${prefix}abc`, JSON.stringify(session), 'PXAT', String(T0 + HOUR)]]);
      expect(await client.get(`${prefix}abc`)).toBe(JSON.stringify(session));
    });

    it('keeps the creation instant of a live session at every save, and gives a new one to a session saved after it expired', async () => {
      const store = makeStore();
      await store.set('abc', sessionExpiringAt(T0 + HOUR, { visits: 1 }));
      clock = T0 + 1000;
      await store.set('abc', sessionExpiringAt(T0 + 2 * HOUR, { visits: 2 }));
      expect(await client.get(`${prefix}abc`)).toMatch(new RegExp(`^\x01${T0}\x01.*"visits":2`));
      clock = T0 + 2 * HOUR;
      await store.set('abc', sessionExpiringAt(T0 + 3 * HOUR, { visits: 3 }));
      expect(await client.get(`${prefix}abc`)).toMatch(new RegExp(`^\x01${T0 + 2 * HOUR}\x01`));
    });

    it('loads a value written before creation instants (or by connect-redis), which gets its creation instant, capped by maxLifetime, at its next save', async () => {
      const store = makeStore({ maxLifetime: HOUR });
      const session = sessionExpiringAt(T0 + 3 * HOUR, { user: 'ada' });
      await client.set(`${prefix}abc`, JSON.stringify(session), 'PXAT', T0 + 3 * HOUR);
      expect(await store.get('abc')).toEqual(JSON.parse(JSON.stringify(session)));
      clock = T0 + 1000;
      await store.set('abc', session);
      expect(await client.get(`${prefix}abc`)).toBe(`\x01${T0 + 1000}\x01${JSON.stringify(session)}`);
      expect(await client.pexpiretime(`${prefix}abc`)).toBe(T0 + 1000 + HOUR);
    });

    it('uses sess: as the default prefix', async () => {
      const sid = `${prefix}default`;
      const store = new RedisStore({ client, now: () => clock });
      stores.push(store);
      await store.set(sid, sessionExpiringAt(T0 + HOUR));
      try {
        expect(await client.exists(`sess:${sid}`)).toBe(1);
      } finally {
        await store.destroy(sid);
      }
    });
  });

  describe('reads', () => {
    it('returns the session written under its key', async () => {
      const store = makeStore();
      const session = sessionExpiringAt(T0 + HOUR, { user: 'ada' });
      await store.set('abc', session);
      expect(await store.get('abc')).toEqual(JSON.parse(JSON.stringify(session)));
    });

    it('hides a session once the store clock passes its expiry, even while Redis still holds the key', async () => {
      const store = makeStore();
      await store.set('abc', sessionExpiringAt(T0 + HOUR));
      clock = T0 + HOUR;
      expect(await store.get('abc')).toBeNull();
      expect(await client.exists(`${prefix}abc`)).toBe(1);
    });

    it('reads a key that has no expiry as a live session', async () => {
      const session = sessionExpiringAt(T0 + HOUR);
      await client.set(`${prefix}abc`, JSON.stringify(session));
      expect(await makeStore().get('abc')).toEqual(JSON.parse(JSON.stringify(session)));
    });

    it('returns null for a sid that has no key', async () => {
      expect(await makeStore().get('missing')).toBeNull();
    });

    it('sends PEXPIRETIME then GET of the one key in one socket write: one round trip', async () => {
      const store = makeStore();
      await store.set('abc', sessionExpiringAt(T0 + HOUR));
      const commands = await recordCommands(url, prefix, async () => {
        const writes = await socketWritesDuring(client, async () => {
          expect(await store.get('abc')).not.toBeNull();
        });
        expect(writes).toEqual([2]);
      });
      expect(commands).toEqual([
        ['pexpiretime', `${prefix}abc`],
        ['get', `${prefix}abc`],
      ]);
    });

    it('on the system clock, by default, reads with a plain GET and touches with a plain PEXPIREAT, since Redis expires keys at the same instants', async () => {
      const store = new RedisStore({ client, prefix });
      try {
        const expiresAt = Date.now() + HOUR;
        await store.set('abc', sessionExpiringAt(expiresAt));
        const commands = await recordCommands(url, prefix, async () => {
          expect(await store.get('abc')).not.toBeNull();
          await store.touch('abc', sessionExpiringAt(expiresAt + 1000));
          await store.touch('never-set', sessionExpiringAt(expiresAt));
        });
        expect(commands).toEqual([
          ['get', `${prefix}abc`],
          ['pexpireat', `${prefix}abc`, String(expiresAt + 1000)],
          ['pexpireat', `${prefix}never-set`, String(expiresAt)],
        ]);
        expect(await client.pexpiretime(`${prefix}abc`)).toBe(expiresAt + 1000);
        expect(await client.exists(`${prefix}never-set`)).toBe(0);
      } finally {
        await store.close();
      }
    });

    it("with expiryClock 'redis', serves a key Redis still holds after the store clock passed its expiry, with a plain GET", async () => {
      const store = makeStore({ expiryClock: 'redis' });
      const session = sessionExpiringAt(T0 + HOUR, { user: 'ada' });
      await store.set('abc', session);
      clock = T0 + 2 * HOUR;
      const commands = await recordCommands(url, prefix, async () => {
        expect(await store.get('abc')).toEqual(JSON.parse(JSON.stringify(session)));
      });
      expect(commands).toEqual([['get', `${prefix}abc`]]);
    });

    it("with expiryClock 'now' on the system clock, reads each key's expiry beside its value and touches through the script", async () => {
      const store = new RedisStore({ client, prefix, expiryClock: 'now' });
      stores.push(store);
      const expiresAt = Date.now() + HOUR;
      await store.set('abc', sessionExpiringAt(expiresAt));
      const commands = await recordCommands(url, prefix, async () => {
        expect(await store.get('abc')).not.toBeNull();
        await store.touch('abc', sessionExpiringAt(expiresAt + 1000));
      });
      const names = commands.map(([name]) => name);
      expect(names.slice(0, 2)).toEqual(['pexpiretime', 'get']);
      expect(names).toContain('evalsha');
      expect(await client.pexpiretime(`${prefix}abc`)).toBe(expiresAt + 1000);
    });

    it('reports a value with a malformed head as ERR_SESSION_CORRUPT', async () => {
      await client.set(`${prefix}abc`, `\x01${T0}${JSON.stringify(sessionExpiringAt(T0 + HOUR))}`, 'PX', HOUR);
      await expect(makeStore().get('abc')).rejects.toMatchObject({ code: 'ERR_SESSION_CORRUPT' });
    });

    it('reports a value that is not JSON as ERR_SESSION_CORRUPT', async () => {
      await client.set(`${prefix}abc`, 'not json', 'PX', HOUR);
      await expect(makeStore().get('abc')).rejects.toMatchObject({ code: 'ERR_SESSION_CORRUPT' });
    });

    it('reports a key of another Redis type as ERR_SESSION_BACKEND', async () => {
      await client.hset(`${prefix}abc`, 'field', 'value');
      await expect(makeStore().get('abc')).rejects.toMatchObject({ code: 'ERR_SESSION_BACKEND' });
    });
  });

  describe('touch', () => {
    it('skips the write while the stored expiry was extended less than touchAfter ago', async () => {
      const store = makeStore({ touchAfter: 60_000 });
      await store.set('abc', sessionExpiringAt(T0 + HOUR));
      await store.touch('abc', sessionExpiringAt(T0 + HOUR + 59_999));
      expect(await client.pexpiretime(`${prefix}abc`)).toBe(T0 + HOUR);
      await store.touch('abc', sessionExpiringAt(T0 + HOUR + 60_001));
      expect(await client.pexpiretime(`${prefix}abc`)).toBe(T0 + HOUR + 60_001);
    });

    it('with touchAfter, on the system clock, reads PEXPIRETIME beside GET in one socket write and sends nothing for the touch that read makes unnecessary', async () => {
      const store = new RedisStore({ client, prefix, touchAfter: 60_000 });
      stores.push(store);
      const expiresAt = Date.now() + HOUR;
      await store.set('abc', sessionExpiringAt(expiresAt));
      const commands = await recordCommands(url, prefix, async () => {
        const writes = await socketWritesDuring(client, async () => {
          expect(await store.get('abc')).not.toBeNull();
        });
        expect(writes).toEqual([2]);
        await store.touch('abc', sessionExpiringAt(expiresAt + 59_999));
      });
      expect(commands).toEqual([
        ['pexpiretime', `${prefix}abc`],
        ['get', `${prefix}abc`],
      ]);
      expect(await client.pexpiretime(`${prefix}abc`)).toBe(expiresAt);
    });

    it('with touchAfter, sends the touch that its read says is due, and it moves the expiry', async () => {
      const store = makeStore({ touchAfter: 60_000 });
      await store.set('abc', sessionExpiringAt(T0 + HOUR));
      const commands = await recordCommands(url, prefix, async () => {
        await store.get('abc');
        await store.touch('abc', sessionExpiringAt(T0 + HOUR + 60_001));
      });
      // MONITOR also shows the commands the script runs, after it.
      expect(commands.map(([name]) => name).slice(0, 3)).toEqual(['pexpiretime', 'get', 'evalsha']);
      expect(await client.pexpiretime(`${prefix}abc`)).toBe(T0 + HOUR + 60_001);
    });

    it('with touchAfter, a touch skipped by its read neither shortens an expiry another client extended nor brings back a session another client destroyed', async () => {
      const other = new Redis(url);
      try {
        const store = makeStore({ touchAfter: 60_000 });
        const elsewhere = makeStore({ client: other, touchAfter: 60_000 });
        await store.set('extended', sessionExpiringAt(T0 + HOUR));
        await store.set('destroyed', sessionExpiringAt(T0 + HOUR));
        await store.get('extended');
        await store.get('destroyed');
        await elsewhere.touch('extended', sessionExpiringAt(T0 + 3 * HOUR));
        await elsewhere.destroy('destroyed');
        await store.touch('extended', sessionExpiringAt(T0 + HOUR));
        await store.touch('destroyed', sessionExpiringAt(T0 + HOUR));
        expect(await client.pexpiretime(`${prefix}extended`)).toBe(T0 + 3 * HOUR);
        expect(await client.get(`${prefix}destroyed`)).toBe('');
      } finally {
        await Promise.all(stores.splice(0).map((store) => store.close()));
        await other.quit();
      }
    });

    it('with maxLifetime, on the system clock, moves the expiry through the script, never past the creation instant + maxLifetime', async () => {
      const store = new RedisStore({ client, prefix, maxLifetime: HOUR });
      stores.push(store);
      const setAt = Date.now();
      await store.set('abc', sessionExpiringAt(setAt + HOUR / 2));
      const createdAt = Number(/^\x01(\d+)\x01/.exec((await client.get(`${prefix}abc`))!)![1]);
      const commands = await recordCommands(url, prefix, () => store.touch('abc', sessionExpiringAt(setAt + 2 * HOUR)));
      expect(commands[0]![0]).toBe('evalsha');
      expect(await client.pexpiretime(`${prefix}abc`)).toBe(createdAt + HOUR);
    });

    it('with maxLifetime, a touch sent to Redis at the end of the lifetime runs the script, which writes nothing: the expiry cannot move', async () => {
      const store = makeStore({ maxLifetime: HOUR, touchAfter: 60_000 });
      await store.set('abc', sessionExpiringAt(T0 + 2 * HOUR));
      expect(await client.pexpiretime(`${prefix}abc`)).toBe(T0 + HOUR);
      clock = T0 + HOUR / 2;
      // No get before it: the store has no read in hand, so the script decides.
      const commands = await recordCommands(url, prefix, () => store.touch('abc', sessionExpiringAt(T0 + 3 * HOUR)));
      expect(commands[0]![0]).toBe('evalsha');
      expect(commands.map(([name]) => name)).not.toContain('pexpireat');
      expect(await client.pexpiretime(`${prefix}abc`)).toBe(T0 + HOUR);
    });

    it('gives a key without expiry the expiry of the touching session', async () => {
      await client.set(`${prefix}abc`, JSON.stringify(sessionExpiringAt(T0 + HOUR)));
      await makeStore().touch('abc', sessionExpiringAt(T0 + HOUR));
      expect(await client.pexpiretime(`${prefix}abc`)).toBe(T0 + HOUR);
    });
  });

  describe('tombstones', () => {
    it('destroy leaves an empty value that lapses after tombstoneTtl, and with tombstoneTtl 0 deletes the key', async () => {
      const store = makeStore();
      await store.set('abc', sessionExpiringAt(T0 + HOUR));
      await store.destroy('abc');
      expect(await client.get(`${prefix}abc`)).toBe('');
      expect(await client.pexpiretime(`${prefix}abc`)).toBe(T0 + 5 * 60 * 1000);
      const untombed = makeStore({ tombstoneTtl: 0 });
      await untombed.set('def', sessionExpiringAt(T0 + HOUR));
      await untombed.destroy('def');
      expect(await client.exists(`${prefix}def`)).toBe(0);
    });

    it('a set is one EVALSHA in one socket write, and over a live tombstone it writes nothing', async () => {
      const store = makeStore();
      await store.set('abc', sessionExpiringAt(T0 + HOUR));
      await store.destroy('abc');
      const commands = await recordCommands(url, prefix, async () => {
        expect(await socketWritesDuring(client, () => store.set('abc', sessionExpiringAt(T0 + HOUR)))).toEqual([1]);
      });
      // MONITOR also shows the commands the script runs, after it: reads only.
      console.log(JSON.stringify(commands));
      expect(commands[0]![0]).toBe('evalsha');
      expect(commands.map(([name]) => name)).not.toContain('pexpireat');
      expect(await client.get(`${prefix}abc`)).toBe('');
    });

    it("with expiryClock 'redis', a tombstone holds while Redis holds it, whatever the store clock says", async () => {
      const store = makeStore({ expiryClock: 'redis', tombstoneTtl: HOUR });
      await store.set('abc', sessionExpiringAt(T0 + HOUR));
      await store.destroy('abc');
      clock = T0 + 2 * HOUR;
      await store.set('abc', sessionExpiringAt(T0 + 3 * HOUR));
      expect(await client.get(`${prefix}abc`)).toBe('');
    });

    it('touch, through the script, leaves a tombstone as it is', async () => {
      const store = makeStore();
      await store.set('abc', sessionExpiringAt(T0 + HOUR));
      await store.destroy('abc');
      await store.touch('abc', sessionExpiringAt(T0 + HOUR));
      expect(await client.pexpiretime(`${prefix}abc`)).toBe(T0 + 5 * 60 * 1000);
    });
  });

  describe('sessions per user', () => {
    const indexKey = (user: string) => `${indexPrefixOf(prefix)}${user}`;

    it("keeps each user's storage keys in a set under by-user: + prefix + the user id, which no bulk call of the sessions meets", async () => {
      const store = makeStore({ userOf });
      await store.set('a', sessionExpiringAt(T0 + HOUR, { user: 'ada' }));
      await store.set('b', sessionExpiringAt(T0 + HOUR, { user: 'ada' }));
      await store.set('c', sessionExpiringAt(T0 + HOUR, { cart: [1] }));
      expect((await client.smembers(indexKey('ada'))).sort()).toEqual([`${prefix}a`, `${prefix}b`]);
      expect(await keysUnder(`${escapeGlob(indexPrefixOf(prefix))}*`)).toEqual([indexKey('ada')]);
      expect((await store.ids()).sort()).toEqual(['a', 'b', 'c']);
      expect(await store.length()).toBe(3);
    });

    it("a set with a user sends SADD, PEXPIREAT NX and PEXPIREAT GT of the user's set before the write script, all in one socket write", async () => {
      const store = makeStore({ userOf });
      await store.get('warm');
      const commands = await recordCommands(url, prefix, async () => {
        expect(await socketWritesDuring(client, () => store.set('abc', sessionExpiringAt(T0 + HOUR, { user: 'ada' })))).toEqual([4]);
      });
      expect(commands.slice(0, 3)).toEqual([
        ['sadd', indexKey('ada'), `${prefix}abc`],
        ['pexpireat', indexKey('ada'), String(T0 + HOUR), 'NX'],
        ['pexpireat', indexKey('ada'), String(T0 + HOUR), 'GT'],
      ]);
      expect(commands[3]![0]).toBe('evalsha');
    });

    it("keeps the user's set alive at least as long as the latest of its sessions, never shortening it", async () => {
      const store = makeStore({ userOf });
      await store.set('a', sessionExpiringAt(T0 + 2 * HOUR, { user: 'ada' }));
      expect(await client.pexpiretime(indexKey('ada'))).toBe(T0 + 2 * HOUR);
      await store.set('b', sessionExpiringAt(T0 + HOUR, { user: 'ada' }));
      expect(await client.pexpiretime(indexKey('ada'))).toBe(T0 + 2 * HOUR);
      await store.set('b', sessionExpiringAt(T0 + 3 * HOUR, { user: 'ada' }));
      expect(await client.pexpiretime(indexKey('ada'))).toBe(T0 + 3 * HOUR);
    });

    it("touch moves the user's set's expiry with the session's in the same socket write, on the plain PEXPIREAT and on the script", async () => {
      const plain = new RedisStore({ client, prefix, userOf });
      stores.push(plain);
      const expiresAt = Date.now() + HOUR;
      await plain.set('plain', sessionExpiringAt(expiresAt, { user: 'ada' }));
      const commands = await recordCommands(url, prefix, async () => {
        expect(await socketWritesDuring(client, () => plain.touch('plain', sessionExpiringAt(expiresAt + 1000, { user: 'ada' })))).toEqual([2]);
      });
      expect(commands).toEqual([
        ['pexpireat', `${prefix}plain`, String(expiresAt + 1000)],
        ['pexpireat', indexKey('ada'), String(expiresAt + 1000), 'GT'],
      ]);
      expect(await client.pexpiretime(indexKey('ada'))).toBe(expiresAt + 1000);
      const scripted = makeStore({ userOf });
      await scripted.set('scripted', sessionExpiringAt(T0 + HOUR, { user: 'grace' }));
      expect(await socketWritesDuring(client, () => scripted.touch('scripted', sessionExpiringAt(T0 + 2 * HOUR, { user: 'grace' })))).toEqual([2]);
      expect(await client.pexpiretime(`${prefix}scripted`)).toBe(T0 + 2 * HOUR);
      expect(await client.pexpiretime(indexKey('grace'))).toBe(T0 + 2 * HOUR);
    });

    it('get sends the same commands with userOf as without', async () => {
      const store = makeStore({ userOf });
      await store.set('abc', sessionExpiringAt(T0 + HOUR, { user: 'ada' }));
      const commands = await recordCommands(url, prefix, async () => {
        expect(await socketWritesDuring(client, async () => void (await store.get('abc')))).toEqual([2]);
      });
      expect(commands.map(([name]) => name)).toEqual(['pexpiretime', 'get']);
    });

    it('sessionsOf removes from the set the keys it finds gone, a tombstone or expired, and those the base finds saved under another user', async () => {
      const store = makeStore({ userOf });
      for (const sid of ['live', 'destroyed', 'deleted', 'moved']) await store.set(sid, sessionExpiringAt(T0 + 2 * HOUR, { user: 'ada' }));
      await store.set('expired', sessionExpiringAt(T0 + HOUR, { user: 'ada' }));
      await store.destroy('destroyed');
      await client.del(`${prefix}deleted`);
      await store.set('moved', sessionExpiringAt(T0 + 2 * HOUR, { user: 'grace' }));
      clock = T0 + HOUR;
      expect((await store.sessionsOf('ada')).map(({ id }) => id)).toEqual(['live']);
      expect(await client.smembers(indexKey('ada'))).toEqual([`${prefix}live`]);
      expect(await client.smembers(indexKey('grace'))).toEqual([`${prefix}moved`]);
    });

    it("sessionsOf walks a set of more members than one SSCAN step, and gives each session's creation instant", async () => {
      const store = makeStore({ userOf, scanCount: 10 });
      const sids = Array.from({ length: 200 }, (_, i) => `s${i}`);
      await Promise.all(sids.map((sid) => store.set(sid, sessionExpiringAt(T0 + HOUR, { user: 'ada' }))));
      const listed = await store.sessionsOf('ada');
      expect(listed.map(({ id }) => id).sort()).toEqual([...sids].sort());
      expect(listed.every(({ createdAt, expiresAt }) => createdAt === T0 && expiresAt === T0 + HOUR)).toBe(true);
    });

    it('destroySessionsOf leaves tombstones, which a late set of those sessions cannot write over', async () => {
      const store = makeStore({ userOf });
      await store.set('kept', sessionExpiringAt(T0 + HOUR, { user: 'ada' }));
      await store.set('ended', sessionExpiringAt(T0 + HOUR, { user: 'ada' }));
      expect(await store.destroySessionsOf('ada', { except: 'kept' })).toBe(1);
      await store.set('ended', sessionExpiringAt(T0 + HOUR, { user: 'ada' }));
      expect(await client.get(`${prefix}ended`)).toBe('');
      expect((await store.sessionsOf('ada')).map(({ id }) => id)).toEqual(['kept']);
    });

    it('with hashIds, the set is named by the SHA-256 of the user id and lists hashed keys: no key name holds the user id or a session id', async () => {
      const store = makeStore({ userOf, hashIds: true });
      await store.set('the-session-id', sessionExpiringAt(T0 + HOUR, { user: 'ada@example.com' }));
      const indexKeys = await keysUnder(`${escapeGlob(indexPrefixOf(prefix))}*`);
      expect(indexKeys).toHaveLength(1);
      const names = [...indexKeys, ...(await client.smembers(indexKeys[0]!)), ...(await keysUnder(`${escapeGlob(prefix)}*`))];
      expect(names.some((name) => name.includes('ada') || name.includes('the-session-id'))).toBe(false);
      expect(await store.sessionsOf('ada@example.com')).toHaveLength(1);
    });

    it('uses the userIndexPrefix given, and clear deletes the keys under it, and only those', async () => {
      const userIndexPrefix = `${prefix.slice(0, -1)};users:`;
      const store = makeStore({ userOf, userIndexPrefix });
      const neighbour = `${prefix.slice(0, -1)};usersx`;
      await store.set('abc', sessionExpiringAt(T0 + HOUR, { user: 'ada' }));
      await client.set(neighbour, 'kept');
      try {
        expect(await client.smembers(`${userIndexPrefix}ada`)).toEqual([`${prefix}abc`]);
        await store.clear();
        expect(await client.exists(`${userIndexPrefix}ada`, `${prefix}abc`, neighbour)).toBe(1);
      } finally {
        await client.del(neighbour);
      }
    });

    it('clear of a store without userOf deletes the index keys of its prefix too, so no stale set outlives the sessions', async () => {
      await makeStore({ userOf }).set('abc', sessionExpiringAt(T0 + HOUR, { user: 'ada' }));
      const sibling = `${indexPrefixOf(prefix).slice(0, -1)};ada`;
      await client.set(sibling, 'another store');
      try {
        await makeStore().clear();
        expect(await client.exists(indexKey('ada'), `${prefix}abc`, sibling)).toBe(1);
      } finally {
        await client.del(sibling);
      }
    });
  });

  describe('bulk calls', () => {
    it('ids, length and all see only keys under the prefix, taken literally even with glob characters', async () => {
      prefix = `${uniquePrefix('glob')}a*[b]?\\:`;
      const store = makeStore();
      await store.set('one', sessionExpiringAt(T0 + HOUR));
      await store.set('two', sessionExpiringAt(T0 + HOUR));
      // These keys match the prefix read as a glob pattern, not as text.
      const lookalikes = [`${prefix.replace('a*[b]?\\:', 'aXXb?\\:')}three`, `${prefix.replace('a*[b]?\\:', 'a[b]x:')}four`];
      for (const key of lookalikes) await client.set(key, JSON.stringify(sessionExpiringAt(T0 + HOUR)), 'PX', HOUR);
      try {
        expect((await store.ids()).sort()).toEqual(['one', 'two']);
        expect(await store.length()).toBe(2);
        expect(Object.keys(await store.all()).sort()).toEqual(['one', 'two']);
      } finally {
        await client.del(...lookalikes);
      }
    });

    it('ids, length and all leave out sessions the store clock says expired', async () => {
      const store = makeStore();
      await store.set('early', sessionExpiringAt(T0 + HOUR));
      await store.set('late', sessionExpiringAt(T0 + 2 * HOUR));
      clock = T0 + HOUR;
      expect(await store.ids()).toEqual(['late']);
      expect(await store.length()).toBe(1);
      expect(Object.keys(await store.all())).toEqual(['late']);
    });

    it('walks more keys than one SCAN step returns', async () => {
      const store = makeStore({ scanCount: 7 });
      const sids = Array.from({ length: 40 }, (_, i) => `s${i}`);
      await Promise.all(sids.map((sid) => store.set(sid, sessionExpiringAt(T0 + HOUR))));
      expect((await store.ids()).sort()).toEqual([...sids].sort());
      expect(await store.length()).toBe(40);
    });

    it('clear deletes every key under the prefix, in batches, and nothing else', async () => {
      const store = makeStore({ scanCount: 7 });
      const sibling = `${prefix.slice(0, -1)};`;
      const bare = prefix.slice(0, -1);
      await Promise.all(Array.from({ length: 40 }, (_, i) => store.set(`s${i}`, sessionExpiringAt(T0 + HOUR))));
      await client.set(`${sibling}kept`, 'another namespace');
      await client.set(bare, 'not a session');
      try {
        await store.clear();
        expect(await keysUnder(`${escapeGlob(prefix)}*`)).toEqual([]);
        expect(await client.exists(`${sibling}kept`, bare)).toBe(2);
      } finally {
        await client.del(`${sibling}kept`, bare);
      }
    });

    it('length and ids never fetch a session value, yet leave tombstones out, and no bulk call sends KEYS or a multi-key command', async () => {
      const store = makeStore();
      await store.set('one', sessionExpiringAt(T0 + HOUR));
      await store.set('two', sessionExpiringAt(T0 + HOUR));
      await store.destroy('gone');
      const commands = await recordCommands(url, prefix, async () => {
        expect(await store.length()).toBe(2);
        expect((await store.ids()).sort()).toEqual(['one', 'two']);
      });
      expect(commands.filter((command) => ['get', 'mget', 'keys'].includes(command[0]))).toEqual([]);
      const all = await recordCommands(url, prefix, async () => {
        await store.all();
        await store.clear();
      });
      expect(all.filter((command) => command[0] === 'keys' || command[0] === 'mget')).toEqual([]);
      expect(all.filter((command) => ['get', 'pexpiretime', 'unlink'].includes(command[0])).every((command) => command.length === 2)).toBe(true);
    });
  });

  describe('clients', () => {
    it('close() leaves a client passed in open and removes its listeners', async () => {
      const before = client.listenerCount('close');
      const store = new RedisStore({ client, prefix });
      expect(client.listenerCount('close')).toBe(before + 1);
      await store.close();
      expect(client.listenerCount('close')).toBe(before);
      expect(await client.ping()).toBe('PONG');
    });

    it('shares one listener per event among all the stores on a client, and tells each of them', async () => {
      const own = new Redis(url);
      await own.ping();
      const warnings: Error[] = [];
      const onWarning = (warning: Error) => warnings.push(warning);
      process.on('warning', onWarning);
      const stores = Array.from({ length: 12 }, (_, index) => new RedisStore({ client: own, prefix: `${prefix}${index}:` }));
      try {
        const disconnected = stores.map((store) => new Promise((resolve) => store.once('disconnect', resolve)));
        expect(['ready', 'close', 'end'].map((event) => own.listenerCount(event))).toEqual([1, 1, 1]);
        own.disconnect(true);
        await Promise.all(disconnected);
        await Promise.all(stores.map((store) => new Promise((resolve) => store.once('connect', resolve))));
        await Promise.all(stores.slice(1).map((store) => store.close()));
        expect(own.listenerCount('close')).toBe(1);
        await stores[0]!.close();
        expect(['ready', 'close', 'end'].map((event) => own.listenerCount(event))).toEqual([0, 0, 0]);
        await new Promise((resolve) => setImmediate(resolve));
        expect(warnings.filter((warning) => warning.name === 'MaxListenersExceededWarning')).toEqual([]);
      } finally {
        process.off('warning', onWarning);
        await Promise.all(stores.map((store) => store.close()));
        own.disconnect();
      }
    });

    it('opens its own client from url and closes it in close()', async () => {
      const store = new RedisStore({ url, prefix });
      await store.set('abc', sessionExpiringAt(Date.now() + HOUR));
      expect(await client.exists(`${prefix}abc`)).toBe(1);
      await store.clear();
      await store.close();
      expect((store.client as Redis).status).toBe('end');
    });

    it('sends the commands of one event-loop turn in one socket write, whatever the client\'s auto-pipelining says', async () => {
      for (const options of [{}, { enableAutoPipelining: true }]) {
        const own = new Redis(url, options);
        const store = new RedisStore({ client: own, prefix });
        try {
          await own.ping();
          const writes = await socketWritesDuring(own, async () => {
            await Promise.all([
              store.set('a', sessionExpiringAt(Date.now() + HOUR)),
              store.set('b', sessionExpiringAt(Date.now() + HOUR)),
              store.touch('a', sessionExpiringAt(Date.now() + 2 * HOUR)),
            ]);
            await Promise.all([store.get('a'), store.get('b'), store.destroy('a'), store.destroy('b')]);
          });
          expect(writes).toEqual([3, 4]);
          // The user's own commands on the same client keep working around the store's.
          expect(await own.ping()).toBe('PONG');
        } finally {
          await store.close();
          await own.quit();
        }
      }
    });

    it('sends the commands of one event-loop turn in one socket write on the client it opens from url', async () => {
      const store = new RedisStore({ url, prefix });
      try {
        await store.get('warm');
        const writes = await socketWritesDuring(store.client as Redis, async () => {
          await Promise.all([store.set('abc', sessionExpiringAt(Date.now() + HOUR)), store.get('abc'), store.destroy('abc')]);
        });
        expect(writes).toEqual([3]);
      } finally {
        await store.close();
      }
    });

    it('sends the commands of concurrent requests, each its own tick, in one socket write, in the order they were issued', async () => {
      const own = new Redis(url);
      const store = new RedisStore({ client: own, prefix });
      try {
        await own.ping();
        const session = sessionExpiringAt(Date.now() + HOUR, { user: 'ada' });
        // Timers of one duration set in one tick run in one timers phase, each callback its own tick, as I/O callbacks do.
        const inTurn = <T>(call: () => Promise<T>) => new Promise<T>((resolve, reject) => setTimeout(() => call().then(resolve, reject), 0));
        let read: unknown;
        const writes = await socketWritesDuring(own, async () => {
          [, , read] = await Promise.all([inTurn(() => store.set('abc', session)), inTurn(() => own.del(`${prefix}abc`)), inTurn(() => store.get('abc'))]);
        });
        expect(writes).toEqual([3]);
        // The caller's DEL on the same connection went out between the store's SET and GET.
        expect(read).toBeNull();
      } finally {
        await store.close();
        await own.quit();
      }
    });

    it('close() of a store whose own client never connected resolves without a server', async () => {
      const store = new RedisStore({ url: `redis://127.0.0.1:${await freePort()}`, prefix, operationTimeout: 300 });
      await expect(store.get('abc')).rejects.toMatchObject({ code: 'ERR_SESSION_TIMEOUT' });
      // Nothing listens on the port, so a close() that waited for QUIT's answer would never resolve.
      await expect(store.close()).resolves.toBeUndefined();
    });

    it('lets native expiry remove the key in real time', async () => {
      // Seconds, not milliseconds: on a loaded machine the set and the first get may take hundreds of ms.
      const ttl = 2000;
      const store = new RedisStore({ client, prefix, ttl });
      stores.push(store);
      const setAt = Date.now();
      await store.set('abc', { cookie: { originalMaxAge: null } } as unknown as SessionData);
      expect(await store.get('abc')).not.toBeNull();
      await new Promise((resolve) => setTimeout(resolve, setAt + ttl + 100 - Date.now()));
      expect(await client.exists(`${prefix}abc`)).toBe(0);
      expect(await store.get('abc')).toBeNull();
    });
  });

  describe('options', () => {
    it.each([
      ['an allowClearWithoutPrefix that is not a boolean', { prefix: '', allowClearWithoutPrefix: 'yes' }],
      ['a prefix that is not a string', { prefix: 7 }],
      ['a prefix longer than 256 characters', { prefix: 'p'.repeat(257) }],
      ['a prefix with a control character', { prefix: 'sess\n' }],
      ['a scanCount of 0', { scanCount: 0 }],
      ['a fractional scanCount', { scanCount: 1.5 }],
      ['an expiryClock that is neither redis nor now', { expiryClock: 'store' }],
      ['an expiryClock that is not a string', { expiryClock: true }],
      ['an unknown compat value', { compat: 'connect-mongo' }],
      ["a tombstoneTtl with compat 'connect-redis', whose values connect-redis reads", { compat: 'connect-redis', tombstoneTtl: 1000 }],
      ["a maxLifetime with compat 'connect-redis', whose values have no room for a creation instant", { compat: 'connect-redis', maxLifetime: HOUR }],
      ["a serializer with compat 'connect-redis'", { compat: 'connect-redis', serializer: { stringify: JSON.stringify, parse: JSON.parse } }],
      ["a userOf with compat 'connect-redis', whose values have no room for a user", { compat: 'connect-redis', userOf }],
      ["a userIndexPrefix with compat 'connect-redis'", { compat: 'connect-redis', userIndexPrefix: 'users:' }],
      ["a userOf with prefix '', whose SCAN would meet the index keys", { prefix: '', userOf }],
      ['a userIndexPrefix that starts with the prefix', { prefix: 'sess:', userIndexPrefix: 'sess:users:' }],
      ['a userIndexPrefix the prefix starts with', { prefix: 'sess:users:', userIndexPrefix: 'sess:' }],
      ['a userOf with a prefix its default userIndexPrefix starts with', { prefix: 'by-user:', userOf }],
      ['an empty userIndexPrefix', { userIndexPrefix: '' }],
      ['a userIndexPrefix with a control character', { userIndexPrefix: 'users\n' }],
      ['a userIndexPrefix that is not a string', { userIndexPrefix: 7 }],
      ['a userOf that is not a function', { userOf: 'user' }],
    ])('rejects %s with ERR_SESSION_OPTIONS', (_label, options) => {
      expect(() => new RedisStore({ client, ...(options as object) })).toThrow(expect.objectContaining({ code: 'ERR_SESSION_OPTIONS' }));
    });

    it('accepts a prefix from which no userIndexPrefix derives while userOf is off', async () => {
      await makeStore({ prefix: 'by-user:' }).close();
    });

    it('rejects both client and url, and neither', () => {
      expect(() => new RedisStore({ client, url })).toThrow(expect.objectContaining({ code: 'ERR_SESSION_OPTIONS' }));
      expect(() => new RedisStore({})).toThrow(expect.objectContaining({ code: 'ERR_SESSION_OPTIONS' }));
    });

    it('rejects a url that is not redis:// or rediss://', () => {
      expect(() => new RedisStore({ url: 'http://127.0.0.1:6379' })).toThrow(expect.objectContaining({ code: 'ERR_SESSION_OPTIONS' }));
    });

    it('rejects a client with its own keyPrefix, which SCAN would not see', () => {
      const prefixed = new Redis(url, { keyPrefix: 'app:', lazyConnect: true });
      expect(() => new RedisStore({ client: prefixed })).toThrow(/keyPrefix/);
      prefixed.disconnect();
    });
  });
});

/**
 * How many commands each socket write carried while `action` ran on `client`, through the stream's
 * own `_write` (one chunk) and `_writev` (several chunks gathered while the socket was corked).
 */
async function socketWritesDuring(client: Redis, action: () => Promise<void>): Promise<number[]> {
  type Stream = { _write(...args: unknown[]): unknown; _writev(chunks: unknown[], ...rest: unknown[]): unknown };
  const stream = client.stream as unknown as Stream;
  const socket = Object.getPrototypeOf(stream) as Stream;
  const writes: number[] = [];
  stream._write = function (...args) {
    writes.push(1);
    return socket._write.apply(this, args);
  };
  stream._writev = function (chunks, ...rest) {
    writes.push(chunks.length);
    return socket._writev.call(this, chunks, ...rest);
  };
  try {
    await action();
  } finally {
    delete (stream as Partial<Stream>)._write;
    delete (stream as Partial<Stream>)._writev;
  }
  return writes;
}

/** The commands (lower-cased, with arguments) that name a key holding `prefix` (a session's, or a user index's below it) while `action` runs, seen through MONITOR. */
async function recordCommands(url: string, prefix: string, action: () => Promise<void>): Promise<string[][]> {
  const parent = new Redis(url);
  const monitor = await parent.monitor();
  parent.disconnect();
  const seen: string[][] = [];
  monitor.on('monitor', (_time: string, args: string[]) => {
    if (args.some((arg) => arg.includes(prefix))) seen.push([args[0].toLowerCase(), ...args.slice(1)]);
  });
  try {
    await action();
    // MONITOR delivers asynchronously; a marker command bounds what belongs to `action`.
    const marker = new Redis(url);
    await marker.get(`${prefix}~end`);
    await marker.quit();
    await new Promise<void>((resolve) => {
      const check = () => (seen.some((command) => command[1] === `${prefix}~end`) ? resolve() : setTimeout(check, 5));
      check();
    });
    return seen.filter((command) => command[1] !== `${prefix}~end`);
  } finally {
    monitor.disconnect();
  }
}
