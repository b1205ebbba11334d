import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { SqliteStore } from '.';
import { SessionStoreError } from '../../shared';
import { describeBackend } from '../../test/support/backends';
import { exchange } from './fixtures/exchange';

const session = (data: Record<string, unknown> = {}) => ({ cookie: { originalMaxAge: null }, ...data }) as never;

/** Exposes the backend primitive so its batch limit can be checked directly. */
class InspectableSqliteStore extends SqliteStore {
  removeExpired(now: number, limit: number): number {
    return this.removeExpiredRecords(now, limit);
  }
}

describeBackend('sqlite', 'SqliteStore', () => {
  let dir: string;
  let clock: number;
  const now = () => clock;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'session-stores-sqlite-'));
  });

  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    clock = 1_700_000_000_000;
  });

  const fileIn = (name: string) => path.join(dir, `${name}-${Math.random().toString(36).slice(2)}.db`);

  it('with maxLifetime, changes no row for a touch whose expiry the lifetime keeps where it is, with or without touchAfter', async () => {
    const HOUR = 3_600_000;
    const db = new Database(':memory:');
    const expiring = (expiresAt: number) => ({ cookie: { originalMaxAge: 1, expires: new Date(expiresAt) } }) as never;
    const store = new SqliteStore({ db, now, ttl: HOUR, maxLifetime: HOUR, pruneInterval: 0 });
    const recent = new SqliteStore({ db, now, ttl: HOUR, maxLifetime: HOUR, touchAfter: 60_000, pruneInterval: 0 });
    try {
      const setAt = clock;
      await store.set('a', expiring(setAt + 2 * HOUR));
      const changes = () => (db.prepare('SELECT total_changes() AS n').get() as { n: number }).n;
      const before = changes();
      clock += 30 * 60_000;
      await store.touch('a', expiring(clock + 2 * HOUR));
      await recent.touch('a', expiring(clock + 2 * HOUR));
      expect(changes()).toBe(before);
      expect(db.prepare('SELECT expires_at FROM sessions WHERE sid = ?').get('a')).toEqual({ expires_at: setAt + HOUR });
    } finally {
      await store.close();
      await recent.close();
      db.close();
    }
  });

  it('leaves a database handed in by the caller open after close', async () => {
    const db = new Database(':memory:');
    const store = new SqliteStore({ db, pruneInterval: 0 });
    await store.set('a', session());
    await store.close();
    expect(db.open).toBe(true);
    expect(db.prepare('SELECT COUNT(*) FROM sessions').pluck().get()).toBe(1);
    db.close();
  });

  it('closes a database it opened from a filename', async () => {
    const store = new SqliteStore({ filename: fileIn('owned'), pruneInterval: 0 });
    await store.set('a', session());
    await store.close();
    expect(store.db.open).toBe(false);
  });

  it('opens its own database in WAL mode with synchronous NORMAL, or FULL when asked', async () => {
    const normal = new SqliteStore({ filename: fileIn('normal'), pruneInterval: 0 });
    const full = new SqliteStore({ filename: fileIn('full'), synchronous: 'full', pruneInterval: 0 });
    expect(normal.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(normal.db.pragma('synchronous', { simple: true })).toBe(1);
    expect(full.db.pragma('synchronous', { simple: true })).toBe(2);
    await Promise.all([normal.close(), full.close()]);
  });

  it("leaves the pragmas of the caller's database as they were", async () => {
    const db = new Database(fileIn('callers'));
    const store = new SqliteStore({ db, pruneInterval: 0 });
    expect(db.pragma('journal_mode', { simple: true })).toBe('delete');
    await store.close();
    db.close();
  });

  it("rejects durability options with the caller's database, since it would change that database", () => {
    const db = new Database(':memory:');
    expect(() => new SqliteStore({ db, synchronous: 'full' })).toThrow(expect.objectContaining({ code: 'ERR_SESSION_OPTIONS' }));
    expect(() => new SqliteStore({ db, busyTimeout: 100 })).toThrow(expect.objectContaining({ code: 'ERR_SESSION_OPTIONS' }));
    db.close();
  });

  it('rejects a busy timeout that is not below the operation timeout', () => {
    expect(() => new SqliteStore({ filename: fileIn('busy'), busyTimeout: 3000, operationTimeout: 3000 })).toThrow(
      expect.objectContaining({ code: 'ERR_SESSION_OPTIONS' }),
    );
  });

  it('requires exactly one of db and filename', () => {
    const db = new Database(':memory:');
    expect(() => new SqliteStore({} as never)).toThrow(expect.objectContaining({ code: 'ERR_SESSION_OPTIONS' }));
    expect(() => new SqliteStore({ db, filename: ':memory:' })).toThrow(expect.objectContaining({ code: 'ERR_SESSION_OPTIONS' }));
    db.close();
  });

  it.each(['sessions; DROP TABLE users', 'a"b', '1sessions', 'main.sessions', '', 'x'.repeat(64)])(
    'rejects the table name %j before it reaches a query',
    (tableName) => {
      const db = new Database(':memory:');
      expect(() => new SqliteStore({ db, tableName })).toThrow(expect.objectContaining({ code: 'ERR_SESSION_OPTIONS' }));
      expect(db.prepare("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'").pluck().get()).toBe(0);
      db.close();
    },
  );

  it('creates its schema idempotently, so two stores share one table', async () => {
    const db = new Database(':memory:');
    const first = new SqliteStore({ db, tableName: 'shared_sessions', pruneInterval: 0 });
    const second = new SqliteStore({ db, tableName: 'shared_sessions', pruneInterval: 0 });
    await first.set('a', session({ from: 'first' }));
    expect(await second.get('a')).toEqual(session({ from: 'first' }));
    await Promise.all([first.close(), second.close()]);
    db.close();
  });

  it('keeps two tables of one database apart', async () => {
    const db = new Database(':memory:');
    const left = new SqliteStore({ db, tableName: 'left_sessions', pruneInterval: 0 });
    const right = new SqliteStore({ db, tableName: 'right_sessions', pruneInterval: 0 });
    await left.set('a', session());
    expect(await right.get('a')).toBeNull();
    await right.clear();
    expect(await left.length()).toBe(1);
    await Promise.all([left.close(), right.close()]);
    db.close();
  });

  it('deletes at most the given number of expired rows per call, and no live row', async () => {
    const db = new Database(':memory:');
    const store = new InspectableSqliteStore({ db, now, ttl: 1000, pruneInterval: 0 });
    for (let i = 0; i < 250; i++) await store.set(`old-${i}`, session());
    clock += 2000;
    for (let i = 0; i < 10; i++) await store.set(`new-${i}`, session());
    expect(store.removeExpired(clock, 100)).toBe(100);
    expect(db.prepare('SELECT COUNT(*) FROM sessions').pluck().get()).toBe(160);
    expect(db.prepare("SELECT COUNT(*) FROM sessions WHERE sid LIKE 'new-%'").pluck().get()).toBe(10);
    await store.close();
    db.close();
  });

  it('prunes every expired row in batches and keeps the live ones', async () => {
    const db = new Database(':memory:');
    const store = new SqliteStore({ db, now, ttl: 1000, pruneInterval: 0 });
    const insert = db.prepare('INSERT INTO sessions (sid, sess, expires_at) VALUES (?, ?, ?)');
    db.transaction(() => {
      for (let i = 0; i < 2500; i++) insert.run(`old-${i}`, '{"cookie":{}}', clock - 1);
      insert.run('edge', '{"cookie":{}}', clock);
      for (let i = 0; i < 10; i++) insert.run(`live-${i}`, '{"cookie":{}}', clock + 1);
    })();
    expect(await store.prune()).toBe(2501);
    expect(db.prepare('SELECT sid FROM sessions ORDER BY sid').pluck().all()).toEqual(
      Array.from({ length: 10 }, (_, i) => `live-${i}`),
    );
    await store.close();
    db.close();
  });

  it('lists more sessions than one scan batch holds, each once', async () => {
    const db = new Database(':memory:');
    const store = new SqliteStore({ db, pruneInterval: 0 });
    const insert = db.prepare('INSERT INTO sessions (sid, sess, expires_at) VALUES (?, ?, ?)');
    db.transaction(() => {
      for (let i = 0; i < 1234; i++) insert.run(`s-${i}`, `{"cookie":{},"i":${i}}`, Date.now() + 60_000);
    })();
    const ids = await store.ids();
    expect(new Set(ids).size).toBe(1234);
    expect(Object.keys(await store.all())).toHaveLength(1234);
    expect(await store.length()).toBe(1234);
    await store.close();
    db.close();
  });

  it('reports a corrupt row as ERR_SESSION_CORRUPT without the stored data in the message', async () => {
    const db = new Database(':memory:');
    const store = new SqliteStore({ db, pruneInterval: 0 });
    db.prepare('INSERT INTO sessions (sid, sess, expires_at) VALUES (?, ?, ?)').run('corrupt-sid', '{"cookie":{},"password":"hunter2"', Date.now() + 60_000);
    const error = (await store.get('corrupt-sid').catch((e: unknown) => e)) as SessionStoreError;
    expect(error).toBeInstanceOf(SessionStoreError);
    expect(error.code).toBe('ERR_SESSION_CORRUPT');
    expect(error.message).not.toContain('hunter2');
    expect(error.message).not.toContain('corrupt-sid');
    await store.close();
    db.close();
  });

  it('works on a database that returns integers as BigInt', async () => {
    const db = new Database(':memory:');
    db.defaultSafeIntegers(true);
    const store = new SqliteStore({ db, now, ttl: 1000, pruneInterval: 0 });
    await store.set('a', session());
    expect(await store.get('a')).toEqual(session());
    expect(await store.length()).toBe(1);
    expect(await store.ids()).toEqual(['a']);
    await store.close();
    db.close();
  });

  it('lets two processes share one database file, each reading what the other wrote', async () => {
    const filename = fileIn('shared');
    const script = path.join(__dirname, 'fixtures', 'exchange.ts');
    const child = spawn(process.execPath, ['-r', 'esbuild-register', script, filename, 'child', 'parent', '200'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const store = new SqliteStore({ filename, pruneInterval: 0 });
    try {
      const readByParent = await exchange(store, 'parent', 'child', 200);
      const code = await exited;
      expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
      expect(JSON.parse(stdout)).toEqual({ read: 200 });
      expect(readByParent).toBe(200);
      expect(await store.length()).toBe(400);
    } finally {
      if (child.exitCode === null) child.kill();
      await store.close();
    }
  });

  it('stops returning a session once its real ttl has passed', async () => {
    // Seconds, not milliseconds: on a loaded machine the set and the first get may take hundreds of ms.
    const ttl = 2000;
    const store = new SqliteStore({ filename: fileIn('realtime'), ttl, pruneInterval: 0 });
    const setAt = Date.now();
    await store.set('short', session());
    expect(await store.get('short')).toEqual(session());
    await new Promise((resolve) => setTimeout(resolve, setAt + ttl + 100 - Date.now()));
    expect(await store.get('short')).toBeNull();
    expect(await store.length()).toBe(0);
    await store.close();
  });
});
