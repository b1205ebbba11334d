import { randomBytes } from 'node:crypto';
import { RedisStore as ConnectRedisStore } from 'connect-redis';
import session, { type SessionData, type Store } from 'express-session';
import { Redis } from 'ioredis';
import { Pool } from 'pg';
import { createClient } from 'redis';
import request from 'supertest';
import { PostgresStore } from '../stores/postgres';
import { RedisStore } from '../stores/redis';
import { backendUrl, describeBackend, skipReason } from '../test/support/backends';
import { appWith, sidOfCookie } from '../test/support/migration-app';
import { createScratchSchema } from '../test/support/postgres-servers';
import { HOUR_MS } from '../test/support/sessions';
import { main, type Output } from './cli';
import { copySessions } from './copy';
import { MigratingStore } from './migrating-store';

// connect-pg-simple ships no types; this is the part of its API the tests use.
type ConnectPgSimpleOptions = { pool: Pool; schemaName: string; createTableIfMissing: boolean; pruneSessionInterval: false };
const connectPgSimple: (s: typeof session) => new (options: ConnectPgSimpleOptions) => Store & { close(): Promise<void> } = require('connect-pg-simple');
const ConnectPgSimpleStore = connectPgSimple(session);

const unique = (label: string) => `tools_${label}_${randomBytes(4).toString('hex')}`;

/** Logs in on `store`'s app and returns the cookie, and the session id it carries. */
async function logIn(store: Store): Promise<{ cookie: string[]; sid: string }> {
  const response = await request(appWith(store)).post('/login').expect(204);
  const cookie = response.headers['set-cookie'] as unknown as string[];
  return { cookie, sid: sidOfCookie(cookie) };
}

async function expectLoggedIn(store: Store, cookie: string[]): Promise<void> {
  const response = await request(appWith(store)).get('/me').set('Cookie', cookie).expect(200);
  expect(response.body).toEqual({ user: 'ada', cart: [1, 2, 3] });
}

async function runCli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const output: Output = { out: (text) => (out += text), err: (text) => (err += text), errIsTty: false, color: false };
  const code = await main(argv, output);
  return { code, out, err };
}

async function expiryOf(store: RedisStore | PostgresStore, sid: string): Promise<number | undefined> {
  for await (const entry of store.sessions()) if (entry.id === sid) return entry.expiresAt;
  return undefined;
}

/** Deletes the keys under a prefix this file made up, and nothing else. */
async function deleteKeysUnder(redis: Redis, prefix: string): Promise<void> {
  for (let cursor = '0'; ; ) {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length > 0) await redis.unlink(...keys);
    if (next === '0') return;
    cursor = next;
  }
}

describeBackend('redis', 'switching from connect-redis to RedisStore', (url) => {
  let nodeRedis: ReturnType<typeof createClient>;
  let ioredis: Redis;
  let theirs: ConnectRedisStore;
  let ours: RedisStore;
  let theirPrefix: string;
  let ourPrefix: string;

  beforeEach(async () => {
    theirPrefix = `${unique('connect_redis')}:`;
    ourPrefix = `${unique('redis_store')}:`;
    theirs = new ConnectRedisStore({ client: nodeRedis, prefix: theirPrefix });
    ours = new RedisStore({ client: ioredis, prefix: ourPrefix });
  });

  beforeAll(async () => {
    nodeRedis = createClient({ url });
    await nodeRedis.connect();
    ioredis = new Redis(url);
  });

  afterEach(async () => {
    await ours.close();
    await deleteKeysUnder(ioredis, theirPrefix);
    await deleteKeysUnder(ioredis, ourPrefix);
  });

  afterAll(async () => {
    await ioredis.quit();
    await nodeRedis.quit();
  });

  it('session-stores copy carries a logged-in session to the millisecond of its expiry, and the same cookie is logged in on RedisStore', async () => {
    const { cookie, sid } = await logIn(theirs);
    const expiresAt = await ioredis.pexpiretime(`${theirPrefix}${sid}`);
    const copied = await runCli(['copy', '--from', url, '--from-prefix', theirPrefix, '--to', url, '--to-prefix', ourPrefix]);
    expect(copied).toMatchObject({ code: 0, err: '' });
    expect(copied.out).toMatch(/^copied 1 of 1 live sessions from redis:\/\/.* 0 already in the target/);
    expect(await ioredis.pexpiretime(`${ourPrefix}${sid}`)).toBe(expiresAt);
    await expectLoggedIn(ours, cookie);
    expect(await ioredis.exists(`${theirPrefix}${sid}`)).toBe(1);
  });

  it('a second session-stores copy copies nothing twice', async () => {
    await logIn(theirs);
    const argv = ['copy', '--from', url, '--from-prefix', theirPrefix, '--to', url, '--to-prefix', ourPrefix];
    expect((await runCli(argv)).code).toBe(0);
    const again = await runCli(argv);
    expect(again.code).toBe(0);
    expect(again.out).toMatch(/^copied 0 of 1 live sessions .* 1 already in the target/);
  });

  it('MigratingStore moves the session on its first request, and the same cookie stays logged in', async () => {
    const { cookie, sid } = await logIn(theirs);
    const migrating = new MigratingStore({ from: theirs, to: ours });
    await expectLoggedIn(migrating, cookie);
    expect(await ioredis.exists(`${theirPrefix}${sid}`)).toBe(0);
    expect(await ioredis.exists(`${ourPrefix}${sid}`)).toBe(1);
    await expectLoggedIn(migrating, cookie);
    await expectLoggedIn(ours, cookie);
  });
});

describeBackend('postgres', 'switching from connect-pg-simple to PostgresStore', (url) => {
  let pool: Pool;
  let schema: { name: string; drop: () => Promise<void> };
  let theirs: Store & { close(): Promise<void> };
  let reader: PostgresStore;
  let ours: PostgresStore;

  beforeAll(async () => {
    pool = new Pool({ connectionString: url, max: 4 });
    schema = await createScratchSchema(pool, 'tools_switch');
    theirs = new ConnectPgSimpleStore({ pool, schemaName: schema.name, createTableIfMissing: true, pruneSessionInterval: false });
    reader = new PostgresStore({ pool, schemaName: schema.name, compat: 'connect-pg-simple', createTable: false, pruneInterval: 0 });
    ours = new PostgresStore({ pool, schemaName: schema.name, pruneInterval: 0 });
  });

  afterAll(async () => {
    await reader.close();
    await ours.close();
    await theirs.close();
    await schema.drop();
    await pool.end();
  });

  it("copySessions over connect-pg-simple's table carries a logged-in session with its exact expiry, and the same cookie is logged in on PostgresStore", async () => {
    const { cookie, sid } = await logIn(theirs);
    const result = await copySessions(reader, ours);
    expect(result).toMatchObject({ read: 1, copied: 1, failed: 0 });
    expect(await expiryOf(ours, sid)).toBe(await expiryOf(reader, sid));
    await expectLoggedIn(ours, cookie);
    expect((await pool.query(`SELECT count(*)::int AS n FROM "${schema.name}"."session" WHERE sid = $1`, [sid])).rows[0].n).toBe(1);
  });

  it('MigratingStore moves a connect-pg-simple session on its first request, and the same cookie stays logged in', async () => {
    const { cookie, sid } = await logIn(theirs);
    const migrating = new MigratingStore({ from: theirs, to: ours });
    await expectLoggedIn(migrating, cookie);
    expect((await pool.query(`SELECT count(*)::int AS n FROM "${schema.name}"."session" WHERE sid = $1`, [sid])).rows[0].n).toBe(0);
    await expectLoggedIn(ours, cookie);
  });
});

describe('switching from RedisStore to PostgresStore', () => {
  const redisUrl = backendUrl('redis');
  const postgresUrl = backendUrl('postgres');
  if (redisUrl === undefined || postgresUrl === undefined) {
    it.skip(`could not run: ${redisUrl === undefined ? skipReason('redis') : skipReason('postgres')}`, () => undefined);
    return;
  }
  let ioredis: Redis;
  let pool: Pool;
  let prefix: string;
  let table: string;
  let source: RedisStore;
  let target: PostgresStore;

  beforeAll(() => {
    ioredis = new Redis(redisUrl);
    pool = new Pool({ connectionString: postgresUrl, max: 4 });
  });

  beforeEach(() => {
    prefix = `${unique('redis')}:`;
    table = unique('pg');
    source = new RedisStore({ client: ioredis, prefix });
    target = new PostgresStore({ pool, tableName: table, pruneInterval: 0 });
  });

  afterEach(async () => {
    await source.close();
    await target.close();
    await deleteKeysUnder(ioredis, prefix);
    await pool.query(`DROP TABLE IF EXISTS "${table}"`);
  });

  afterAll(async () => {
    await ioredis.quit();
    await pool.end();
  });

  it('session-stores copy carries the expiry a touch gave the session, and the same cookie is logged in on PostgresStore', async () => {
    const { cookie, sid } = await logIn(source);
    const stored = (await source.get(sid))!;
    const touchedTo = Date.now() + 3 * HOUR_MS + 7;
    await source.touch(sid, { ...stored, cookie: { ...stored.cookie, expires: new Date(touchedTo) } } as SessionData);
    const copied = await runCli(['copy', '--from', redisUrl, '--from-prefix', prefix, '--to', postgresUrl, '--to-table', table]);
    expect(copied).toMatchObject({ code: 0, err: '' });
    expect(copied.out).toMatch(/^copied 1 of 1 live sessions/);
    expect(await expiryOf(target, sid)).toBe(touchedTo);
    await expectLoggedIn(target, cookie);
  });

  it('MigratingStore moves a RedisStore session to PostgresStore on its first request, and the same cookie stays logged in', async () => {
    const { cookie, sid } = await logIn(source);
    const migrating = new MigratingStore({ from: source, to: target });
    await expectLoggedIn(migrating, cookie);
    // What is left under the old key is the tombstone that RedisStore's destroy leaves, no session.
    expect(await ioredis.get(`${prefix}${sid}`)).toBe('');
    await expectLoggedIn(target, cookie);
  });
});
