import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import util from 'node:util';
import Database from 'better-sqlite3';
import { SqliteStore } from '.';
import { describeBackend } from '../../test/support/backends';

const session = (data: Record<string, unknown> = {}) => ({ cookie: { originalMaxAge: null }, ...data }) as never;

/** What a constructor threw, so a test can look at its code and at everything it would print. */
function thrownBy(make: () => unknown): { code?: string; printed: string } {
  try {
    const made = make() as { close?: () => unknown };
    void made.close?.();
  } catch (error) {
    return { code: (error as { code?: string }).code, printed: util.inspect(error, { depth: 10 }) };
  }
  throw new Error('the constructor did not throw');
}

const modeOf = (file: string) => fs.statSync(file).mode & 0o777;

describeBackend('sqlite', 'SqliteStore hardening', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'session-stores-sqlite-safety-'));
  });
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const fileIn = (name: string) => path.join(dir, `${name}-${Math.random().toString(36).slice(2)}.db`);

  describe('constructor errors', () => {
    it.each([
      ['sqlite_master', () => new SqliteStore({ filename: ':memory:', tableName: 'sqlite_master' })],
      ['SQLITE_sequence', () => new SqliteStore({ filename: ':memory:', tableName: 'SQLITE_sequence' })],
      ['a directory as filename', () => new SqliteStore({ filename: dir })],
      ['a file in a missing directory', () => new SqliteStore({ filename: path.join(dir, 'missing', 'x.db') })],
      ['a fileMode that is not permission bits', () => new SqliteStore({ filename: fileIn('mode'), fileMode: 0o1777 })],
    ])('refuses %s with ERR_SESSION_OPTIONS, not a raw driver error', (_what, make) => {
      const { code, printed } = thrownBy(make);
      expect(code).toBe('ERR_SESSION_OPTIONS');
      expect(printed).not.toMatch(/SqliteError|TypeError/);
    });

    /** The store's constructor run in a child process, as an unprivileged user when we are root (root may write any file). */
    const constructInChild = (filename: string): { code?: string; printed: string } => {
      const script = `const util = require('node:util');
const { SqliteStore } = require(${JSON.stringify(path.join(__dirname, 'index.ts'))});
try { new SqliteStore({ filename: ${JSON.stringify(filename)}, pruneInterval: 0 }).close(); process.stdout.write(JSON.stringify({ printed: 'no error' })); }
catch (error) { process.stdout.write(JSON.stringify({ code: error.code, printed: util.inspect(error, { depth: 10 }) })); }`;
      const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
      const output = execFileSync(process.execPath, ['-r', 'esbuild-register', '-e', script], { cwd: path.join(__dirname, '../..'), ...asNobody });
      return JSON.parse(output.toString()) as { code?: string; printed: string };
    };

    it.each([
      ['a read-only database file', 0o444, 0o777],
      ['a database file in a read-only directory', 0o666, 0o555],
    ])('refuses %s with ERR_SESSION_OPTIONS and leaves its rows as they were', async (_what, fileMode, dirMode) => {
      const folder = fs.mkdtempSync(path.join(dir, 'ro-'));
      const file = path.join(folder, 'sessions.db');
      const writer = new SqliteStore({ filename: file, pruneInterval: 0 });
      await writer.set('kept', session({ n: 1 }));
      await writer.close();
      fs.chmodSync(file, fileMode);
      fs.chmodSync(folder, dirMode);
      fs.chmodSync(dir, 0o755);
      try {
        const { code, printed } = constructInChild(file);
        expect({ code, raw: /SqliteError|TypeError/.test(printed) }).toEqual({ code: 'ERR_SESSION_OPTIONS', raw: false });
      } finally {
        fs.chmodSync(folder, 0o700);
      }
      const reader = new Database(file, { readonly: true });
      expect(reader.prepare('SELECT COUNT(*) FROM sessions').pluck().get()).toBe(1);
      reader.close();
    });

    it('refuses a file that is not a database and leaves it byte for byte as it was', () => {
      const file = fileIn('not-a-database');
      const text = 'orders\n1,ada,10\n2,bob,20\n'.repeat(200);
      fs.writeFileSync(file, text);
      const { code, printed } = thrownBy(() => new SqliteStore({ filename: file, pruneInterval: 0 }));
      expect(code).toBe('ERR_SESSION_OPTIONS');
      expect(printed).not.toContain('ada');
      expect(fs.readFileSync(file, 'utf8')).toBe(text);
      expect(fs.existsSync(`${file}-wal`)).toBe(false);
    });

    it('refuses a database handed in read-only', () => {
      const file = fileIn('handed-read-only');
      new Database(file).close();
      const db = new Database(file, { readonly: true });
      expect(thrownBy(() => new SqliteStore({ db })).code).toBe('ERR_SESSION_OPTIONS');
      db.close();
    });

    it('refuses fileMode with a database the caller opened', () => {
      const db = new Database(':memory:');
      expect(thrownBy(() => new SqliteStore({ db, fileMode: 0o600 })).code).toBe('ERR_SESSION_OPTIONS');
      db.close();
    });
  });

  describe('a table that is not ours', () => {
    const foreignTables: Array<[string, string]> = [
      ['another shape', 'CREATE TABLE sessions (id INTEGER PRIMARY KEY, owner TEXT, total INTEGER)'],
      ['our columns and one more', 'CREATE TABLE sessions (sid TEXT PRIMARY KEY NOT NULL, sess TEXT NOT NULL, expires_at INTEGER NOT NULL, note TEXT)'],
      ['our column names without the primary key', 'CREATE TABLE sessions (sid TEXT NOT NULL, sess TEXT NOT NULL, expires_at INTEGER NOT NULL)'],
      ['our column names with other types', 'CREATE TABLE sessions (sid TEXT PRIMARY KEY NOT NULL, sess BLOB NOT NULL, expires_at TEXT NOT NULL)'],
    ];

    it.each(foreignTables)('refuses a table of %s and deletes, overwrites and indexes nothing in it', (_what, ddl) => {
      const db = new Database(':memory:');
      db.exec(ddl);
      const columns = db.prepare('SELECT name FROM pragma_table_info(?)').pluck().all('sessions') as string[];
      const insert = db.prepare(`INSERT INTO sessions (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`);
      const values = (i: number) => columns.map((column) => (column === 'id' ? i : column === 'expires_at' ? 1 : `row-${i}-${column}`));
      for (let i = 1; i <= 3; i++) insert.run(...values(i));
      const before = db.prepare('SELECT * FROM sessions ORDER BY rowid').all();

      const { code, printed } = thrownBy(() => new SqliteStore({ db, pruneInterval: 0 }));
      expect(code).toBe('ERR_SESSION_OPTIONS');
      expect(printed).toMatch(/not a session table/);
      expect(db.prepare('SELECT * FROM sessions ORDER BY rowid').all()).toEqual(before);
      expect(db.prepare("SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'sessions_expires_at'").pluck().get()).toBe(0);
      db.close();
    });

    it('refuses a view under the table name', () => {
      const db = new Database(':memory:');
      db.exec("CREATE TABLE orders (sid TEXT PRIMARY KEY NOT NULL, sess TEXT NOT NULL, expires_at INTEGER NOT NULL); CREATE VIEW sessions AS SELECT * FROM orders");
      db.prepare('INSERT INTO orders VALUES (?, ?, ?)').run('order-1', '{}', 1);
      expect(thrownBy(() => new SqliteStore({ db, pruneInterval: 0 })).code).toBe('ERR_SESSION_OPTIONS');
      expect(db.prepare('SELECT COUNT(*) FROM orders').pluck().get()).toBe(1);
      db.close();
    });

    it('accepts a table it created itself, in another store, and shares its rows', async () => {
      const db = new Database(':memory:');
      const first = new SqliteStore({ db, pruneInterval: 0 });
      await first.set('shared', session({ n: 1 }));
      const second = new SqliteStore({ db, pruneInterval: 0 });
      expect(await second.get('shared')).toMatchObject({ n: 1 });
      await Promise.all([first.close(), second.close()]);
      db.close();
    });
  });

  describe('file modes', () => {
    let umask: number;
    beforeEach(() => {
      umask = process.umask(0o000);
    });
    afterEach(() => {
      process.umask(umask);
    });

    it('creates its database, -wal and -shm files readable by their owner only, whatever the umask', async () => {
      const file = fileIn('private');
      const store = new SqliteStore({ filename: file, pruneInterval: 0 });
      await store.set('a', session());
      expect([modeOf(file), modeOf(`${file}-wal`), modeOf(`${file}-shm`)]).toEqual([0o600, 0o600, 0o600]);
      await store.close();
    });

    it('creates them with the fileMode asked for', async () => {
      process.umask(0o077);
      const file = fileIn('group');
      const store = new SqliteStore({ filename: file, fileMode: 0o640, pruneInterval: 0 });
      await store.set('a', session());
      expect([modeOf(file), modeOf(`${file}-wal`), modeOf(`${file}-shm`)]).toEqual([0o640, 0o640, 0o640]);
      await store.close();
    });

    it('leaves the mode of a database file that already exists', async () => {
      const file = fileIn('existing');
      fs.writeFileSync(file, '', { mode: 0o644 });
      fs.chmodSync(file, 0o644);
      const store = new SqliteStore({ filename: file, pruneInterval: 0 });
      await store.set('a', session());
      expect(modeOf(file)).toBe(0o644);
      await store.close();
    });
  });
});
