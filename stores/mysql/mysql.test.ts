import fs from 'node:fs';
import path from 'node:path';
import util from 'node:util';
import type { SessionData } from 'express-session';
import mysql from 'mysql2';
import { createConnection, type Pool } from 'mysql2/promise';
import { MySqlStore, type MySqlStoreOptions } from '.';
import { statementsFor } from './schema';
import { SessionStoreError } from '../../shared';
import { describeBackend } from '../../test/support/backends';
import { expectRefusalUntilMigrated } from '../../test/support/migration-steps';
import { freePort } from '../../test/support/postgres-servers';
import { createScratchDatabase } from './fixtures/factory';

const HOUR = 60 * 60 * 1000;
const T0 = Date.UTC(2030, 0, 1);
const userOf = (data: SessionData) => (data as unknown as { user?: string }).user;

function session(data: Record<string, unknown> = {}): SessionData {
  return { cookie: { originalMaxAge: null, path: '/', httpOnly: true }, ...data } as unknown as SessionData;
}

describeBackend('mysql', 'MySqlStore', (url) => {
  let database: { url: string; pool: Pool; drop: () => Promise<void> };
  let pool: Pool;
  let tableCount = 0;
  let clock = T0;
  const stores: MySqlStore[] = [];

  const freshTable = () => `t${++tableCount}`;
  const makeStore = (options: Partial<MySqlStoreOptions> = {}) => {
    const store = new MySqlStore({ pool, tableName: freshTable(), now: () => clock, pruneInterval: 0, ...options });
    stores.push(store);
    return store;
  };
  const rowsOf = async (table: string) =>
    (await pool.query(`SELECT CAST(sid AS CHAR) AS sid, expires_at, data FROM \`${table}\` ORDER BY sid`))[0] as { sid: string; expires_at: number; data: string }[];
  const recordOf = async (table: string, sid: string, on: Pool = pool) => {
    const [rows] = (await on.query(`SELECT data, expires_at AS expiresAt, created_at AS createdAt FROM \`${table}\` WHERE sid = ?`, [sid])) as unknown as [
      { data: string; expiresAt: number; createdAt: number | null }[],
    ];
    return rows[0];
  };
  const ownerOf = async (table: string, sid: string, on: Pool = pool) => {
    const [rows] = (await on.query(`SELECT CAST(owner AS CHAR) AS owner FROM \`${table}\` WHERE sid = ?`, [sid])) as unknown as [{ owner: string | null }[]];
    return rows[0]?.owner;
  };
  const indexesOf = async (table: string) => {
    const [rows] = (await pool.query(
      'SELECT DISTINCT INDEX_NAME AS name FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY INDEX_NAME',
      [table],
    )) as unknown as [{ name: string }[]];
    return rows.map((row) => row.name);
  };
  /** A table as the store created it before it kept created_at (0.1). */
  const createTableBeforeCreatedAt = async (table: string) => {
    await pool.query(
      `CREATE TABLE \`${table}\` (sid VARBINARY(3072) NOT NULL, expires_at BIGINT NOT NULL, data MEDIUMTEXT CHARACTER SET utf8mb4 NOT NULL, PRIMARY KEY (sid), INDEX expires_at_idx (expires_at)) ENGINE=InnoDB`,
    );
  };
  /** A table as the store created it with created_at and before it kept owner. */
  const createTableBeforeOwner = async (table: string) => {
    await createTableBeforeCreatedAt(table);
    await pool.query(`ALTER TABLE \`${table}\` ADD COLUMN created_at BIGINT NULL`);
  };
  const insertExpired = async (table: string, count: number, expiresAt: number) => {
    const rows = Array.from({ length: count }, (_, i) => [`x${i}`, expiresAt, '{}']);
    for (let i = 0; i < rows.length; i += 1000) await pool.query(`INSERT INTO \`${table}\` (sid, expires_at, data) VALUES ?`, [rows.slice(i, i + 1000)]);
  };

  beforeAll(async () => {
    database = await createScratchDatabase(url, 'mysqlstore');
    pool = database.pool;
  });

  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
    clock = T0;
  });

  afterAll(async () => {
    await database?.drop();
  });

  describe('options', () => {
    it.each([
      ['a table name that is not an identifier', { tableName: 'sessions`; DROP TABLE users; --' }],
      ['a table name longer than MySQL allows', { tableName: 'a'.repeat(65) }],
      ['both a pool and a uri', { uri: 'mysql://root@127.0.0.1/x' }],
      ['a pool that is not a mysql2 pool', { pool: { query: () => undefined } as never }],
      ['an unknown compat value', { compat: 'connect-session-sequelize' as never }],
      ['a serializer with compat express-mysql-session', { compat: 'express-mysql-session' as const, serializer: { stringify: String, parse: JSON.parse } }],
      ['a pruneBatchSize of 0', { pruneBatchSize: 0 }],
      ['a negative pruneInterval', { pruneInterval: -1 }],
      ['a createTable that is not a boolean', { createTable: 'yes' as never }],
      ['an option it does not know', { tablename: 'sessions' } as never],
    ])('rejects %s at construction', (_, options) => {
      expect(() => new MySqlStore({ pool, ...options } as MySqlStoreOptions)).toThrow(SessionStoreError);
    });

    it("refuses tombstoneTtl, maxLifetime and userOf with compat 'express-mysql-session', whose table express-mysql-session reads", () => {
      for (const option of [{ tombstoneTtl: 60_000 }, { maxLifetime: HOUR }, { userOf }]) {
        expect(() => new MySqlStore({ pool, compat: 'express-mysql-session', ...option })).toThrow(
          expect.objectContaining({ code: 'ERR_SESSION_OPTIONS', message: expect.stringContaining("compat 'express-mysql-session'") }),
        );
      }
    });

    it('rejects a store with neither a pool, a uri nor connection options', () => {
      expect(() => new MySqlStore({} as MySqlStoreOptions)).toThrow(/pool|uri|connection/);
    });
  });

  describe('schema', () => {
    it('creates the table with a binary id as primary key, a BIGINT expiry under an index, a MEDIUMTEXT payload, a nullable BIGINT creation instant and a nullable binary owner under an index', async () => {
      const store = makeStore({ tableName: 'shape' });
      await store.set('a', session());
      const [columns] = await pool.query(
        `SELECT COLUMN_NAME AS name, COLUMN_TYPE AS type, COLUMN_KEY AS \`key\`, IS_NULLABLE AS nullable FROM information_schema.COLUMNS
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'shape' ORDER BY ORDINAL_POSITION`,
      );
      expect(columns).toEqual([
        { name: 'sid', type: 'varbinary(3072)', key: 'PRI', nullable: 'NO' },
        { name: 'expires_at', type: 'bigint(20)', key: 'MUL', nullable: 'NO' },
        { name: 'data', type: 'mediumtext', key: '', nullable: 'NO' },
        { name: 'created_at', type: 'bigint(20)', key: '', nullable: 'YES' },
        { name: 'owner', type: 'varbinary(1536)', key: 'MUL', nullable: 'YES' },
      ]);
      expect(await indexesOf('shape')).toEqual(['expires_at_idx', 'owner_idx', 'PRIMARY']);
    });

    it('ships schema.sql with exactly the statement it runs for the default table', () => {
      const shipped = fs.readFileSync(path.join(__dirname, 'schema.sql'), 'utf8');
      const statement = shipped
        .split('\n')
        .filter((line) => !line.startsWith('--'))
        .join('\n')
        .trim()
        .replace(/;$/, '');
      expect(statement).toBe(statementsFor('session-stores', 'express_sessions').createTable);
    });

    it('creates one table when ten stores start at once on a missing table', async () => {
      const tableName = freshTable();
      const starting = Array.from({ length: 10 }, () => makeStore({ tableName }));
      await Promise.all(starting.map((store, i) => store.set(`s${i}`, session({ i }))));
      for (const [i, store] of starting.entries()) expect(await store.get(`s${i}`)).toEqual(session({ i }));
      expect(await starting[0].length()).toBe(10);
    });

    it('fails operations with a backend error naming the table when createTable is false and it is missing, until it is created', async () => {
      const store = makeStore({ tableName: 'absent', createTable: false });
      await expect(store.get('a')).rejects.toMatchObject({ code: 'ERR_SESSION_BACKEND', message: expect.stringContaining('absent') });
      await pool.query(statementsFor('session-stores', 'absent').createTable);
      await expect(store.get('a')).resolves.toBeNull();
    });

    it.each([
      ['from before created_at', createTableBeforeCreatedAt],
      ['with created_at and without owner', createTableBeforeOwner],
    ])('adds the missing columns and the owner index in place to a table %s when ten stores start at once, keeping its sessions', async (_, createEarlierTable) => {
      const tableName = freshTable();
      await createEarlierTable(tableName);
      await pool.query(`INSERT INTO \`${tableName}\` (sid, expires_at, data) VALUES ('kept', ?, ?)`, [T0 + HOUR, JSON.stringify(session({ n: 1 }))]);
      const starting = Array.from({ length: 10 }, () => makeStore({ tableName, userOf }));
      for (const read of await Promise.all(starting.map((store) => store.get('kept')))) expect(read).toEqual(session({ n: 1 }));
      expect(await recordOf(tableName, 'kept')).toEqual({ data: JSON.stringify(session({ n: 1 })), expiresAt: T0 + HOUR, createdAt: null });
      expect(await indexesOf(tableName)).toEqual(['expires_at_idx', 'owner_idx', 'PRIMARY']);
      clock = T0 + 1000;
      await starting[0].set('kept', session({ n: 2, user: 'ana' }));
      expect(await recordOf(tableName, 'kept')).toMatchObject({ createdAt: T0 + 1000 });
      expect((await starting[1].sessionsOf('ana')).map(({ id }) => id)).toEqual(['kept']);
    });

    it('refuses a table of an earlier layout when createTable is false, naming the statements to run, until they are run', async () => {
      const tableName = freshTable();
      await createTableBeforeCreatedAt(tableName);
      const store = makeStore({ tableName, createTable: false });
      const statements: [string, string] = [
        `ALTER TABLE \`${tableName}\` ADD COLUMN created_at BIGINT NULL, ADD COLUMN owner VARBINARY(1536) NULL`,
        `CREATE INDEX owner_idx ON \`${tableName}\` (owner) ALGORITHM=INPLACE LOCK=NONE`,
      ];
      await expectRefusalUntilMigrated(store, statements, (sql) => pool.query(sql), session());
    });

    it('gives up adding created_at while a transaction holds the table, rather than queue every statement behind it, and adds it on a later call', async () => {
      const tableName = freshTable();
      await createTableBeforeCreatedAt(tableName);
      const other = await createConnection(database.url);
      try {
        await other.query('START TRANSACTION');
        await other.query(`SELECT COUNT(*) FROM \`${tableName}\``);
        const store = makeStore({ tableName });
        await expect(store.get('a')).rejects.toMatchObject({ code: 'ERR_SESSION_BACKEND', cause: expect.objectContaining({ code: 'ER_LOCK_WAIT_TIMEOUT' }) });
        await other.query('COMMIT');
        await expect(store.get('a')).resolves.toBeNull();
        expect(await recordOf(tableName, 'a')).toBeUndefined();
      } finally {
        await other.end();
      }
    });

    it('uses an existing table with only SELECT, INSERT, UPDATE and DELETE granted', async () => {
      const tableName = freshTable();
      await makeStore({ tableName }).set('a', session({ n: 1 }));
      const user = `ss_app_${Date.now()}`;
      const [[{ name }]] = (await pool.query('SELECT DATABASE() AS name')) as unknown as [[{ name: string }]];
      await pool.query(`CREATE USER '${user}'@'%' IDENTIFIED BY 'app-password'`);
      try {
        await pool.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON \`${name}\`.\`${tableName}\` TO '${user}'@'%'`);
        const scoped = new URL(database.url);
        scoped.username = user;
        scoped.password = 'app-password';
        const store = makeStore({ pool: undefined, uri: scoped.toString(), tableName });
        expect(await store.get('a')).toEqual(session({ n: 1 }));
        await store.set('b', session({ n: 2 }));
        expect(await store.prune()).toBe(0);
        await store.clear();
        expect(await store.length()).toBe(0);
      } finally {
        await pool.query(`DROP USER '${user}'@'%'`);
      }
    });
  });

  describe('a table that is not ours', () => {
    it('refuses every call on a table of another layout and leaves its rows alone', async () => {
      const tableName = freshTable();
      await pool.query(`CREATE TABLE \`${tableName}\` (id INT PRIMARY KEY, sid VARCHAR(64), expires_at BIGINT, data TEXT)`);
      await pool.query(`INSERT INTO \`${tableName}\` VALUES (1, 'a', 0, 'keep me')`);
      const store = makeStore({ tableName });
      for (const call of [() => store.clear(), () => store.prune(), () => store.set('a', session()), () => store.destroy('a'), () => store.get('a')]) {
        await expect(call()).rejects.toMatchObject({ code: 'ERR_SESSION_OPTIONS', message: expect.stringContaining('not a session table') });
      }
      const [rows] = await pool.query(`SELECT * FROM \`${tableName}\``);
      expect(rows).toEqual([{ id: 1, sid: 'a', expires_at: 0, data: 'keep me' }]);
    });

    it("refuses express-mysql-session's table without compat, and ours with it", async () => {
      const theirs = makeStore({ compat: 'express-mysql-session' });
      await theirs.length();
      await expect(makeStore({ tableName: (theirs as unknown as { tableName: string }).tableName }).clear()).rejects.toMatchObject({ code: 'ERR_SESSION_OPTIONS' });
      const ours = makeStore();
      await ours.length();
      const tableName = (ours as unknown as { tableName: string }).tableName;
      await expect(makeStore({ tableName, compat: 'express-mysql-session' }).clear()).rejects.toMatchObject({ code: 'ERR_SESSION_OPTIONS' });
    });
  });

  describe('operations', () => {
    it('keeps ids that differ only in case or in trailing spaces apart', async () => {
      const store = makeStore();
      const ids = ['CaseSid', 'casesid', 'pad', 'pad ', 'pad  '];
      for (const [n, sid] of ids.entries()) await store.set(sid, session({ n }));
      for (const [n, sid] of ids.entries()) expect(await store.get(sid)).toEqual(session({ n }));
      expect((await store.ids()).sort()).toEqual([...ids].sort());
      await store.destroy('pad');
      expect(await store.get('pad ')).toEqual(session({ n: 3 }));
    });

    it('stores the longest id the base accepts, even in three-byte characters', async () => {
      const store = makeStore();
      const sid = '€'.repeat(1024);
      await store.set(sid, session({ long: true }));
      expect(await store.get(sid)).toEqual(session({ long: true }));
      expect(await store.ids()).toEqual([sid]);
    });

    it('sends get, set, touch and destroy as one statement each, with userOf too (destroy inserts its tombstone)', async () => {
      const core = mysql.createPool({ uri: database.url, connectionLimit: 2 });
      const sent: string[] = [];
      const execute = core.execute.bind(core) as (...args: unknown[]) => unknown;
      (core as unknown as { execute: unknown }).execute = (...args: unknown[]) => {
        sent.push(String(args[0]).split(' ')[0]);
        return execute(...args);
      };
      try {
        const store = makeStore({ pool: core, userOf });
        await store.get('warm-up');
        sent.length = 0;
        await store.set('a', session({ user: 'ana' }));
        await store.get('a');
        await store.touch('a', session({ user: 'ana' }));
        await store.set('a', session({ user: 'ana', n: 2 }));
        await store.destroy('a');
        expect(sent).toEqual(['INSERT', 'SELECT', 'UPDATE', 'INSERT', 'INSERT']);
        await store.close();
      } finally {
        await new Promise((resolve) => core.end(resolve));
      }
    });

    it('works on a callback pool from mysql2 as on a promise pool from mysql2/promise', async () => {
      const core = mysql.createPool({ uri: database.url, connectionLimit: 2 });
      try {
        const tableName = freshTable();
        const onCallbackPool = makeStore({ pool: core, tableName });
        const onPromisePool = makeStore({ pool: core.promise(), tableName });
        await onCallbackPool.set('a', session({ from: 'callback' }));
        expect(await onPromisePool.get('a')).toEqual(session({ from: 'callback' }));
        await Promise.all([onCallbackPool.close(), onPromisePool.close()]);
      } finally {
        await new Promise((resolve) => core.end(resolve));
      }
    });

    it('accepts a clock and a ttl with fractions of a millisecond', async () => {
      clock = T0 + 0.25;
      const store = makeStore({ ttl: () => 1000.5 });
      await store.set('a', session());
      await store.touch('a', session());
      clock = T0 + 1000.5;
      expect(await store.get('a')).toEqual(session());
      expect(await store.length()).toBe(1);
      clock = T0 + 1001;
      expect(await store.get('a')).toBeNull();
      expect(await store.prune()).toBe(1);
    });

    it('lists every live session across pages of the scan and clears them in batches', async () => {
      const tableName = freshTable();
      const store = makeStore({ tableName });
      await store.set('live', session());
      const rows = Array.from({ length: 6500 }, (_, i) => [`p${i}`, T0 + HOUR, JSON.stringify(session())]);
      for (let i = 0; i < rows.length; i += 1000) await pool.query(`INSERT INTO \`${tableName}\` (sid, expires_at, data) VALUES ?`, [rows.slice(i, i + 1000)]);
      await insertExpired(tableName, 10, T0 - 1);
      const ids = await store.ids();
      expect(ids).toHaveLength(6501);
      expect(new Set(ids).size).toBe(6501);
      expect(Object.keys(await store.all())).toHaveLength(6501);
      expect(await store.length()).toBe(6501);
      await store.clear();
      expect(await rowsOf(tableName)).toEqual([]);
    });

    it('expires a session in real time without the injectable clock', async () => {
      // Two seconds leave a loaded machine room for the set and the first get.
      const ttl = 2000;
      const store = makeStore({ now: undefined, ttl });
      const setAt = Date.now();
      await store.set('short', session());
      expect(await store.get('short')).toEqual(session());
      await new Promise((resolve) => setTimeout(resolve, setAt + ttl + 20 - Date.now()));
      expect(await store.get('short')).toBeNull();
    });
  });

  // MariaDB's SIMULTANEOUS_ASSIGNMENT makes ON DUPLICATE KEY UPDATE read the stored row in every assignment; by default each sees those before it.
  describe.each([
    ['assigned left to right', ''],
    ['assigned all at once', 'SIMULTANEOUS_ASSIGNMENT'],
  ])('tombstones and maxLifetime in one conditional upsert, its columns %s', (_, sqlMode) => {
    const TTL = HOUR;
    const LIFETIME = 90 * 60_000;
    const TOMBSTONE_TTL = 5 * 60_000;
    let core: mysql.Pool;
    let tableName: string;
    let store: MySqlStore;
    const stored = (n: number) => JSON.stringify(session({ n }));
    const record = (sid: string) => recordOf(tableName, sid, core.promise());

    beforeAll(() => {
      core = mysql.createPool({ uri: database.url, connectionLimit: 2 });
      if (sqlMode !== '') core.on('connection', (connection) => connection.query(`SET SESSION sql_mode = CONCAT(@@sql_mode, ',${sqlMode}')`));
    });

    afterAll(async () => {
      await new Promise((resolve) => core.end(resolve));
    });

    beforeEach(() => {
      tableName = freshTable();
      store = makeStore({ pool: core, tableName, ttl: TTL, maxLifetime: LIFETIME, tombstoneTtl: TOMBSTONE_TTL });
    });

    it(`runs its connections in sql_mode ${sqlMode || 'without SIMULTANEOUS_ASSIGNMENT'}`, async () => {
      const [[{ mode }]] = (await core.promise().query('SELECT @@SESSION.sql_mode AS mode')) as unknown as [[{ mode: string }]];
      expect(mode.split(',').includes('SIMULTANEOUS_ASSIGNMENT')).toBe(sqlMode !== '');
    });

    it('creates the row of a new id at now', async () => {
      await store.set('a', session({ n: 1 }));
      expect(await record('a')).toEqual({ data: stored(1), expiresAt: T0 + TTL, createdAt: T0 });
    });

    it('keeps the creation instant of a live session and caps its expiry at it + maxLifetime', async () => {
      await store.set('a', session({ n: 1 }));
      clock = T0 + 45 * 60_000;
      await store.set('a', session({ n: 2 }));
      expect(await record('a')).toEqual({ data: stored(2), expiresAt: T0 + LIFETIME, createdAt: T0 });
    });

    it('caps a touch of a live session at its creation + maxLifetime', async () => {
      await store.set('a', session({ n: 1 }));
      clock = T0 + 45 * 60_000;
      await store.touch('a', session({ n: 1 }));
      expect(await record('a')).toEqual({ data: stored(1), expiresAt: T0 + LIFETIME, createdAt: T0 });
    });

    it('replaces an expired session as a new one', async () => {
      await store.set('a', session({ n: 1 }));
      clock = T0 + 3 * HOUR;
      await store.set('a', session({ n: 2 }));
      expect(await record('a')).toEqual({ data: stored(2), expiresAt: clock + TTL, createdAt: clock });
    });

    it('writes nothing over a live tombstone, and a touch never lengthens it', async () => {
      await store.set('a', session({ n: 1 }));
      clock = T0 + 1000;
      await store.destroy('a');
      const tombstone = { data: '', expiresAt: T0 + 1000 + TOMBSTONE_TTL, createdAt: T0 + 1000 };
      expect(await record('a')).toEqual(tombstone);
      clock = T0 + 2000;
      await store.set('a', session({ n: 2 }));
      await store.touch('a', session({ n: 2 }));
      expect(await record('a')).toEqual(tombstone);
    });

    it('replaces an expired tombstone as a new session', async () => {
      await store.destroy('a');
      clock = T0 + TOMBSTONE_TTL;
      await store.set('a', session({ n: 2 }));
      expect(await record('a')).toEqual({ data: stored(2), expiresAt: clock + TTL, createdAt: clock });
    });

    it('gives a live row from before created_at its creation instant at its next save', async () => {
      await store.set('a', session({ n: 1 }));
      await pool.query(`UPDATE \`${tableName}\` SET created_at = NULL`);
      clock = T0 + 45 * 60_000;
      await store.touch('a', session({ n: 1 }));
      expect(await record('a')).toEqual({ data: stored(1), expiresAt: clock + TTL, createdAt: null });
      await store.set('a', session({ n: 2 }));
      expect(await record('a')).toEqual({ data: stored(2), expiresAt: clock + TTL, createdAt: clock });
    });

    it('writes the owner of each set in the same upsert, NULL for no user, keeps it through a touch, and gives none to a tombstone or to a late set over it', async () => {
      const owned = makeStore({ pool: core, tableName, userOf, tombstoneTtl: TOMBSTONE_TTL });
      const owner = (sid: string) => ownerOf(tableName, sid, core.promise());
      await owned.set('a', session({ user: 'ana' }));
      expect(await owner('a')).toBe('ana');
      await owned.set('a', session({ user: 'bo' }));
      await owned.touch('a', session({ user: 'ana' }));
      expect(await owner('a')).toBe('bo');
      await owned.set('a', session());
      expect(await owner('a')).toBeNull();
      await owned.set('a', session({ user: 'ana' }));
      await owned.destroy('a');
      expect(await owner('a')).toBeNull();
      await owned.set('a', session({ user: 'ana' }));
      expect(await record('a')).toMatchObject({ data: '' });
      expect(await owner('a')).toBeNull();
    });

    it('keeps a session whose payload is spaces apart from a tombstone, though a PAD SPACE collation compares it equal to empty', async () => {
      const spaces = makeStore({ pool: core, tableName, serializer: { stringify: () => '   ', parse: () => session({ n: 0 }) } });
      await spaces.set('a', session());
      expect(await spaces.ids()).toEqual(['a']);
      await spaces.set('a', session());
      expect(await record('a')).toMatchObject({ data: '   ' });
    });
  });

  describe('the owner index under userOf', () => {
    it('holds the SHA-256 of the user id, never the id, with hashIds', async () => {
      const tableName = freshTable();
      const hashed = makeStore({ tableName, userOf, hashIds: true });
      await hashed.set('a', session({ user: 'ana' }));
      const [rows] = await pool.query(`SELECT CAST(owner AS CHAR) AS owner FROM \`${tableName}\``);
      expect(rows).toEqual([{ owner: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) }]);
      expect((await hashed.sessionsOf('ana')).map(({ session }) => session)).toEqual([session({ user: 'ana' })]);
    });

    it('keeps owners that differ only in case or in trailing spaces apart', async () => {
      const store = makeStore({ userOf });
      for (const user of ['Ana', 'ana', 'ana ']) await store.set(`of ${user}`, session({ user }));
      for (const user of ['Ana', 'ana', 'ana ']) expect((await store.sessionsOf(user)).map(({ id }) => id)).toEqual([`of ${user}`]);
    });

    it('stores the longest user id the base accepts, in three-byte characters', async () => {
      const store = makeStore({ userOf });
      const user = '€'.repeat(512);
      await store.set('a', session({ user }));
      expect((await store.sessionsOf(user)).map(({ id }) => id)).toEqual(['a']);
    });

    it("reads a user's sessions through the owner index among 100,000 rows", async () => {
      const tableName = freshTable();
      const store = makeStore({ tableName, userOf });
      await store.set('mine', session({ user: 'user-42' }));
      // Ten sessions for each of 7,500 users, a quarter of the rows of no user: user-42's are p42, p10042, ... p90042.
      const rows = Array.from({ length: 100_000 }, (_, i) => {
        const g = i + 1;
        const user = `user-${g % 10000}`;
        return [`p${g}`, T0 + HOUR, JSON.stringify(session({ user })), T0, g % 4 === 0 ? null : user];
      });
      for (let i = 0; i < rows.length; i += 5000) {
        await pool.query(`INSERT INTO \`${tableName}\` (sid, expires_at, data, created_at, owner) VALUES ?`, [rows.slice(i, i + 5000)]);
      }
      await pool.query(`ANALYZE TABLE \`${tableName}\``);
      const scanOwner = statementsFor('session-stores', tableName).scanOwner!;
      const [plan] = (await pool.query(`EXPLAIN ${scanOwner}`, ['user-42', T0])) as unknown as [{ key: string | null; type: string; rows: number }[]];
      expect(plan).toEqual([expect.objectContaining({ key: 'owner_idx', type: 'ref' })]);
      expect(Number(plan[0]!.rows)).toBeLessThan(100);
      const expected = ['mine', ...Array.from({ length: 10 }, (_, i) => `p${i * 10000 + 42}`)].sort();
      expect((await store.sessionsOf('user-42')).map(({ id }) => id).sort()).toEqual(expected);
    });
  });

  describe('pruning', () => {
    it('deletes every expired row in batches of at most pruneBatchSize and keeps live rows', async () => {
      const tableName = freshTable();
      const store = makeStore({ tableName, pruneBatchSize: 100 });
      await store.set('live', session());
      await insertExpired(tableName, 1050, T0 - 1);
      expect(await store.prune()).toBe(1050);
      expect((await rowsOf(tableName)).map((row) => row.sid)).toEqual(['live']);
    });

    it('deletes an expired tombstone as any expired row', async () => {
      const tableName = freshTable();
      const store = makeStore({ tableName, tombstoneTtl: 1000 });
      await store.destroy('gone');
      expect(await store.prune()).toBe(0);
      clock = T0 + 1000;
      expect(await store.prune()).toBe(1);
      expect(await rowsOf(tableName)).toEqual([]);
    });

    it('deletes nothing while another instance holds the prune lock for the table', async () => {
      const tableName = freshTable();
      const store = makeStore({ tableName });
      await store.get('create-table');
      await insertExpired(tableName, 5, T0 - 1);
      const other = await createConnection(database.url);
      try {
        await other.query("SELECT GET_LOCK(CONCAT('session-stores:', SHA1(CONCAT(DATABASE(), '.', ?))), 0)", [tableName]);
        expect(await store.prune()).toBe(0);
        await other.query("SELECT RELEASE_LOCK(CONCAT('session-stores:', SHA1(CONCAT(DATABASE(), '.', ?))))", [tableName]);
        expect(await store.prune()).toBe(5);
      } finally {
        await other.end();
      }
    });

    it('lets two stores prune one table at once, removing each expired row once and no live row', async () => {
      const tableName = freshTable();
      const first = makeStore({ tableName, pruneBatchSize: 50 });
      const second = makeStore({ tableName, pruneBatchSize: 50 });
      await first.set('live', session());
      await insertExpired(tableName, 2000, T0 - 1);
      let pruned = 0;
      while ((await rowsOf(tableName)).length > 1) {
        const [a, b] = await Promise.all([first.prune(), second.prune()]);
        pruned += a + b;
      }
      expect(pruned).toBe(2000);
      expect((await rowsOf(tableName)).map((row) => row.sid)).toEqual(['live']);
    });
  });

  describe('errors', () => {
    it('hands out no session id, payload or statement in a failed write, cause chain included', async () => {
      const tableName = freshTable();
      // A session table whose payload column cannot hold the payload's characters, so the server's message quotes them.
      await pool.query(`CREATE TABLE \`${tableName}\` (sid VARBINARY(3072) PRIMARY KEY, expires_at BIGINT NOT NULL, data TEXT CHARACTER SET latin1 NOT NULL, created_at BIGINT)`);
      const store = makeStore({ tableName });
      const sid = 'secret-session-id-0123456789';
      const error = await store.set(sid, session({ marker: '😀 private-marker' })).catch((failure: unknown) => failure);
      expect(error).toMatchObject({ code: 'ERR_SESSION_BACKEND' });
      const shown = util.inspect(error, { depth: 10 });
      expect(shown).toMatch(/ER_TRUNCATED_WRONG_VALUE|Incorrect string value/);
      for (const secret of [sid, 'private-marker', '\\xF0\\x9F', 'INSERT INTO']) expect(shown).not.toContain(secret);
    });

    it('hands out no password when the server refuses the credentials', async () => {
      const refused = new URL(database.url);
      refused.username = 'nobody_here';
      refused.password = 'hunter2-password';
      const store = makeStore({ pool: undefined, uri: refused.toString() });
      const error = await store.get('some-session-id').catch((failure: unknown) => failure);
      expect(error).toMatchObject({ code: 'ERR_SESSION_BACKEND' });
      expect(util.inspect(error, { depth: 10 })).not.toContain('hunter2-password');
    });

    it('emits disconnect when the server cannot be reached, and fails within the operation timeout', async () => {
      const store = makeStore({ pool: undefined, uri: `mysql://root@127.0.0.1:${await freePort()}/test`, operationTimeout: 1000 });
      const disconnected = new Promise((resolve) => store.once('disconnect', resolve));
      await expect(store.get('a')).rejects.toMatchObject({ code: 'ERR_SESSION_BACKEND' });
      await disconnected;
      expect(store.isAvailable).toBe(false);
    });
  });

  describe('connections', () => {
    it('leaves a pool the caller passed open after close', async () => {
      const store = makeStore();
      await store.get('a');
      await store.close();
      await expect(pool.query('SELECT 1')).resolves.toBeDefined();
    });

    it('ends the pool it opened from a uri on close', async () => {
      const store = makeStore({ pool: undefined, uri: database.url });
      await store.set('a', session());
      const own = (store as unknown as { pool: { _closed: boolean } }).pool;
      await store.close();
      expect(own._closed).toBe(true);
    });
  });
});
