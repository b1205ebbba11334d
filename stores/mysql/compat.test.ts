import express from 'express';
import session, { type SessionData, type Store } from 'express-session';
import type { Pool } from 'mysql2/promise';
import request from 'supertest';
import { MySqlStore } from '.';
import { describeBackend } from '../../test/support/backends';
import { createScratchDatabase } from './fixtures/factory';

interface ExpressMySqlSessionStore extends Store {
  clearExpiredSessions(): Promise<void>;
  /** Resolves once its table exists: its calls do not wait for it. */
  onReady(): Promise<void>;
  close(): Promise<void>;
}
type ExpressMySqlSessionOptions = {
  host: string;
  port: number;
  user: string;
  database: string;
  clearExpired: boolean;
  createDatabaseTable?: boolean;
  schema?: { tableName: string };
};
// express-mysql-session ships no types; this is the part of its API the tests use.
const expressMySqlSession: (s: typeof session) => new (options: ExpressMySqlSessionOptions) => ExpressMySqlSessionStore = require('express-mysql-session');
const ExpressMySqlSession = expressMySqlSession(session);

const MINUTE = 60_000;

function sessionUntil(expires: number, data: Record<string, unknown> = {}): SessionData {
  return {
    cookie: { originalMaxAge: 3_600_000, expires: new Date(expires).toISOString(), path: '/', httpOnly: true },
    ...data,
  } as unknown as SessionData;
}

const call = <T>(run: (callback: (error: unknown, value?: T) => void) => void) =>
  new Promise<T | undefined>((resolve, reject) => run((error, value) => (error ? reject(error) : resolve(value))));

describeBackend('mysql', "MySqlStore with compat 'express-mysql-session'", (url) => {
  let database: { url: string; pool: Pool; drop: () => Promise<void> };
  let theirs: ExpressMySqlSessionStore;
  let ours: MySqlStore;
  let clock: number;
  const theirOptions = (tableName: string): ExpressMySqlSessionOptions => {
    const parsed = new URL(database.url);
    return {
      host: parsed.hostname,
      port: Number(parsed.port || 3306),
      user: decodeURIComponent(parsed.username),
      database: parsed.pathname.slice(1),
      clearExpired: false,
      schema: { tableName },
    };
  };

  beforeAll(async () => {
    database = await createScratchDatabase(url, 'compat');
    theirs = new ExpressMySqlSession(theirOptions('sessions'));
    await theirs.onReady();
    ours = new MySqlStore({ pool: database.pool, compat: 'express-mysql-session', now: () => clock, pruneInterval: 0 });
  });

  beforeEach(() => {
    clock = Date.now();
  });

  afterAll(async () => {
    await ours?.close();
    await theirs?.close();
    await database?.drop();
  });

  it('creates the same columns as express-mysql-session schema.sql when the table is missing', async () => {
    const created = new MySqlStore({ pool: database.pool, compat: 'express-mysql-session', tableName: 'created_by_us', pruneInterval: 0 });
    await created.length();
    await created.close();
    const shape = async (table: string) =>
      (
        await database.pool.query(
          `SELECT COLUMN_NAME, COLUMN_TYPE, COLLATION_NAME, IS_NULLABLE, COLUMN_KEY = 'PRI' AS primary_key FROM information_schema.COLUMNS
           WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
          [table],
        )
      )[0];
    expect(await shape('created_by_us')).toEqual(await shape('sessions'));
  });

  it('reads a session express-mysql-session wrote, up to the second it rounded the expiry to', async () => {
    const expires = Date.now() + 30 * MINUTE + 123;
    await call((cb) => theirs.set('theirs-1', sessionUntil(expires, { user: 'ana' }), cb));
    const rounded = Math.round(expires / 1000) * 1000;
    clock = rounded - 1;
    expect(await ours.get('theirs-1')).toEqual(sessionUntil(expires, { user: 'ana' }));
    clock = rounded;
    expect(await ours.get('theirs-1')).toBeNull();
  });

  it('writes a session express-mysql-session reads, its expiry rounded up to the second', async () => {
    const expires = Date.now() + 30 * MINUTE + 456;
    await ours.set('ours-1', sessionUntil(expires, { user: 'bo' }));
    expect(await call((cb) => theirs.get('ours-1', cb))).toEqual(sessionUntil(expires, { user: 'bo' }));
    const [rows] = await database.pool.query("SELECT expires FROM sessions WHERE session_id = 'ours-1'");
    expect(rows).toEqual([{ expires: Math.ceil(expires / 1000) }]);
  });

  it('extends the expiry of an express-mysql-session session on touch without changing its data', async () => {
    const expires = Date.now() + 10 * MINUTE;
    await call((cb) => theirs.set('theirs-2', sessionUntil(expires, { n: 1 }), cb));
    const later = Date.now() + 60 * MINUTE;
    await ours.touch('theirs-2', sessionUntil(later, { n: 2 }));
    clock = expires + 2000;
    expect(await ours.get('theirs-2')).toEqual(sessionUntil(expires, { n: 1 }));
    clock = later + 1000;
    expect(await ours.get('theirs-2')).toBeNull();
  });

  it('keeps a live session it wrote through a prune by express-mysql-session, and prunes only expired ones itself', async () => {
    const expires = Date.now() + 2 * MINUTE;
    await ours.set('ours-2', sessionUntil(expires));
    await theirs.clearExpiredSessions();
    expect(await call((cb) => theirs.get('ours-2', cb))).toEqual(sessionUntil(expires));
    await call((cb) => theirs.set('theirs-old', sessionUntil(Date.now() + MINUTE), cb));
    await call((cb) => theirs.set('theirs-new', sessionUntil(Date.now() + 90 * MINUTE), cb));
    clock = Date.now() + 10 * MINUTE;
    expect(await ours.prune()).toBeGreaterThanOrEqual(1);
    expect(await call((cb) => theirs.get('theirs-old', cb))).toBeNull();
    expect(await call((cb) => theirs.get('theirs-new', cb))).toBeDefined();
  });

  it('destroys a session by deleting its row: no tombstone for express-mysql-session to read as a session', async () => {
    await ours.set('ours-destroyed', sessionUntil(Date.now() + 10 * MINUTE));
    await ours.destroy('ours-destroyed');
    const [rows] = await database.pool.query("SELECT session_id FROM sessions WHERE session_id = 'ours-destroyed'");
    expect(rows).toEqual([]);
  });

  it('lists and counts the sessions express-mysql-session wrote', async () => {
    await call((cb) => theirs.set('theirs-listed', sessionUntil(Date.now() + MINUTE, { listed: true }), cb));
    expect(await ours.ids()).toContain('theirs-listed');
    expect((await ours.all())['theirs-listed']).toMatchObject({ listed: true });
    expect(await ours.length()).toBeGreaterThanOrEqual(1);
  });

  it('refuses an id longer than the 128 characters the column holds, instead of cutting it', async () => {
    await expect(ours.set('x'.repeat(129), sessionUntil(Date.now() + MINUTE))).rejects.toMatchObject({ code: 'ERR_SESSION_ID' });
  });

  it('keeps the users of an express app logged in when it switches from express-mysql-session to MySqlStore and back', async () => {
    const appOn = (store: Store) => {
      const app = express();
      app.use(session({ store, secret: 'compat-secret', resave: false, saveUninitialized: false }));
      app.post('/login', (req, res) => {
        (req.session as unknown as { user: string }).user = 'ana';
        res.send('ok');
      });
      app.get('/me', (req, res) => {
        res.send((req.session as unknown as { user?: string }).user ?? 'nobody');
      });
      return app;
    };
    const shared = new MySqlStore({ pool: database.pool, compat: 'express-mysql-session', tableName: 'switched', pruneInterval: 0 });
    const before = new ExpressMySqlSession(theirOptions('switched'));
    await before.onReady();
    try {
      const login = await request(appOn(before)).post('/login').expect(200);
      const cookie = login.headers['set-cookie'] as unknown as string[];
      expect((await request(appOn(before)).get('/me').set('Cookie', cookie)).text).toBe('ana');
      expect((await request(appOn(shared)).get('/me').set('Cookie', cookie)).text).toBe('ana');

      const ourLogin = await request(appOn(shared)).post('/login').expect(200);
      const ourCookie = ourLogin.headers['set-cookie'] as unknown as string[];
      expect((await request(appOn(before)).get('/me').set('Cookie', ourCookie)).text).toBe('ana');
      expect((await request(appOn(shared)).get('/me').set('Cookie', ['connect.sid=s%3Aunknown.sig'])).text).toBe('nobody');
    } finally {
      await shared.close();
      await before.close();
    }
  });

  it('moves live sessions to the native table with the copy statement of the README, keeping data and expiry', async () => {
    const expires = Date.now() + 45 * MINUTE + 789;
    await ours.set('moving', sessionUntil(expires, { moved: true }));
    const native = new MySqlStore({ pool: database.pool, now: () => clock, pruneInterval: 0 });
    await native.length();
    await database.pool.query(
      `INSERT INTO express_sessions (sid, expires_at, data)
       SELECT session_id, expires * 1000, data FROM sessions
       WHERE expires > UNIX_TIMESTAMP() AND data IS NOT NULL
       ON DUPLICATE KEY UPDATE sid = sid`,
    );
    clock = Math.ceil(expires / 1000) * 1000 - 1;
    expect(await native.get('moving')).toEqual(sessionUntil(expires, { moved: true }));
    clock = Math.ceil(expires / 1000) * 1000;
    expect(await native.get('moving')).toBeNull();
    await native.close();
  });
});
