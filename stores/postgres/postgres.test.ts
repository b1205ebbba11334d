import fs from 'node:fs';
import path from 'node:path';
import { Client, Pool } from 'pg';
import type { SessionData } from 'express-session';
import { ADVISORY_LOCK_CLASS, PostgresStore, type PostgresStoreOptions } from '.';
import { statementsFor } from './schema';
import { SessionStoreError } from '../../shared';
import { describeBackend } from '../../test/support/backends';
import { expectRefusalUntilMigrated } from '../../test/support/migration-steps';
import { createScratchSchema } from '../../test/support/postgres-servers';

const HOUR = 60 * 60 * 1000;
const textOf = (query: unknown) => (typeof query === 'string' ? query : (query as { text: string }).text);
const T0 = Date.UTC(2030, 0, 1);
const userOf = (data: SessionData) => (data as unknown as { user?: string }).user;

function session(data: Record<string, unknown> = {}): SessionData {
  return { cookie: { originalMaxAge: null, path: '/', httpOnly: true }, ...data } as unknown as SessionData;
}

describeBackend('postgres', 'PostgresStore', (url) => {
  let pool: Pool;
  let schema: { name: string; drop: () => Promise<void> };
  let tableCount = 0;
  let clock = T0;
  const stores: PostgresStore[] = [];

  const freshTable = () => `t${++tableCount}`;
  const makeStore = (options: Partial<PostgresStoreOptions> = {}) => {
    const store = new PostgresStore({ pool, schemaName: schema.name, tableName: freshTable(), now: () => clock, pruneInterval: 0, ...options });
    stores.push(store);
    return store;
  };
  const rowsOf = async (table: string) =>
    (await pool.query(`SELECT sid, expires_at::text, data FROM "${schema.name}"."${table}" ORDER BY sid`)).rows;
  const recordOf = async (table: string, sid: string) =>
    (
      await pool.query(`SELECT data, expires_at::float8 AS "expiresAt", created_at::float8 AS "createdAt" FROM "${schema.name}"."${table}" WHERE sid = $1`, [
        sid,
      ])
    ).rows[0] as { data: string; expiresAt: number; createdAt: number | null } | undefined;
  const ownerOf = async (table: string, sid: string) =>
    ((await pool.query(`SELECT owner FROM "${schema.name}"."${table}" WHERE sid = $1`, [sid])).rows[0] as { owner: string | null } | undefined)?.owner;
  const indexesOf = async (table: string) =>
    (await pool.query('SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = $2 ORDER BY indexname', [schema.name, table])).rows.map(
      (row: { indexdef: string }) => row.indexdef.replace(/ ON .*USING/, ' USING'),
    );
  /** A table as the store created it before it kept created_at (0.1). */
  const createTableBeforeCreatedAt = async (table: string) => {
    await pool.query(`CREATE TABLE "${schema.name}"."${table}" (sid text COLLATE "C" PRIMARY KEY, expires_at bigint NOT NULL, data text NOT NULL)`);
  };
  /** A table as the store created it with created_at and before it kept owner. */
  const createTableBeforeOwner = async (table: string) => {
    await pool.query(`CREATE TABLE "${schema.name}"."${table}" (sid text COLLATE "C" PRIMARY KEY, expires_at bigint NOT NULL, data text NOT NULL, created_at bigint)`);
  };
  const insertExpired = async (table: string, count: number, expiresAt: number) => {
    await pool.query(
      `INSERT INTO "${schema.name}"."${table}" (sid, expires_at, data) SELECT 'x' || g, $1::bigint, '{}' FROM generate_series(1, $2::int) g`,
      [expiresAt, count],
    );
  };

  beforeAll(async () => {
    pool = new Pool({ connectionString: url, max: 20 });
    schema = await createScratchSchema(pool, 'pgstore');
  });

  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
    clock = T0;
  });

  afterAll(async () => {
    await schema.drop();
    await pool.end();
  });

  describe('options', () => {
    it.each([
      ['a table name that is not an identifier', { tableName: 'sessions"; DROP TABLE users; --' }],
      ['a table name too long to derive an index name from', { tableName: 'a'.repeat(49) }],
      ['a schema name that is not an identifier', { schemaName: 'public.x' }],
      ['both a pool and a connection string', { connectionString: 'postgres://127.0.0.1/x' }],
      ['an unknown compat value', { compat: 'connect-redis' as never }],
      ['a serializer with compat connect-pg-simple', { compat: 'connect-pg-simple' as const, serializer: { stringify: String, parse: JSON.parse } }],
      ['a pruneBatchSize of 0', { pruneBatchSize: 0 }],
      ['a negative pruneInterval', { pruneInterval: -1 }],
    ])('rejects %s at construction', (_, options) => {
      expect(() => new PostgresStore({ pool, ...options } as PostgresStoreOptions)).toThrow(SessionStoreError);
    });

    it("refuses tombstoneTtl, maxLifetime and userOf with compat 'connect-pg-simple', whose table connect-pg-simple reads", () => {
      for (const option of [{ tombstoneTtl: 60_000 }, { maxLifetime: HOUR }, { userOf }]) {
        expect(() => new PostgresStore({ pool, compat: 'connect-pg-simple', ...option })).toThrow(
          expect.objectContaining({ code: 'ERR_SESSION_OPTIONS', message: expect.stringContaining("compat 'connect-pg-simple'") }),
        );
      }
    });

    it('rejects a store with neither a pool nor a connection string', () => {
      expect(() => new PostgresStore({} as PostgresStoreOptions)).toThrow(/pool|connectionString/);
    });
  });

  describe('schema', () => {
    it('creates the table with a bigint expiry, a text payload, a nullable bigint creation instant, a nullable owner, a primary key on sid, an index on expiry and a partial one on owner', async () => {
      const store = makeStore({ tableName: 'shape' });
      await store.set('a', session());
      const columns = await pool.query(
        `SELECT column_name, data_type, collation_name FROM information_schema.columns
         WHERE table_schema = $1 AND table_name = 'shape' ORDER BY ordinal_position`,
        [schema.name],
      );
      expect(columns.rows).toEqual([
        { column_name: 'sid', data_type: 'text', collation_name: 'C' },
        { column_name: 'expires_at', data_type: 'bigint', collation_name: null },
        { column_name: 'data', data_type: 'text', collation_name: null },
        { column_name: 'created_at', data_type: 'bigint', collation_name: null },
        { column_name: 'owner', data_type: 'text', collation_name: 'C' },
      ]);
      expect(await indexesOf('shape')).toEqual([
        'CREATE INDEX shape_expires_at_idx USING btree (expires_at)',
        'CREATE INDEX shape_owner_idx USING btree (owner) WHERE (owner IS NOT NULL)',
        'CREATE UNIQUE INDEX shape_pkey USING btree (sid)',
      ]);
    });

    it('ships schema.sql with exactly the statements it runs for the default table', () => {
      const shipped = fs.readFileSync(path.join(__dirname, 'schema.sql'), 'utf8');
      const statements = shipped
        .split('\n')
        .filter((line) => !line.startsWith('--'))
        .join('\n')
        .trim();
      expect(statements).toBe(statementsFor('session-stores', undefined, 'express_sessions').createTable);
    });

    it('creates one table when ten stores start at once on a missing table', async () => {
      const tableName = freshTable();
      const starting = Array.from({ length: 10 }, () => makeStore({ tableName }));
      await Promise.all(starting.map((store, i) => store.set(`s${i}`, session({ i }))));
      for (const [i, store] of starting.entries()) expect(await store.get(`s${i}`)).toEqual(session({ i }));
      expect(await starting[0].length()).toBe(10);
    });

    it('makes an operation issued right after construction wait for the table', async () => {
      const store = makeStore();
      await expect(store.get('nobody')).resolves.toBeNull();
    });

    it('fails operations with a backend error naming the table when createTable is false and it is missing', async () => {
      const store = makeStore({ tableName: 'absent', createTable: false });
      await expect(store.get('a')).rejects.toMatchObject({ code: 'ERR_SESSION_BACKEND', message: expect.stringContaining('absent') });
    });

    it.each([
      ['from before created_at', createTableBeforeCreatedAt],
      ['with created_at and without owner', createTableBeforeOwner],
    ])('adds the missing columns and the owner index in place to a table %s when ten stores start at once, keeping its sessions', async (_, createEarlierTable) => {
      const tableName = freshTable();
      await createEarlierTable(tableName);
      await pool.query(`INSERT INTO "${schema.name}"."${tableName}" (sid, expires_at, data) VALUES ('kept', $1, $2)`, [T0 + HOUR, JSON.stringify(session({ n: 1 }))]);
      const starting = Array.from({ length: 10 }, () => makeStore({ tableName, userOf }));
      for (const read of await Promise.all(starting.map((store) => store.get('kept')))) expect(read).toEqual(session({ n: 1 }));
      expect(await recordOf(tableName, 'kept')).toEqual({ data: JSON.stringify(session({ n: 1 })), expiresAt: T0 + HOUR, createdAt: null });
      expect(await indexesOf(tableName)).toContain(`CREATE INDEX ${tableName}_owner_idx USING btree (owner) WHERE (owner IS NOT NULL)`);
      clock = T0 + 1000;
      await starting[0].set('kept', session({ n: 2, user: 'ana' }));
      expect(await recordOf(tableName, 'kept')).toMatchObject({ createdAt: T0 + 1000 });
      expect((await starting[1].sessionsOf('ana')).map(({ id }) => id)).toEqual(['kept']);
    });

    it('refuses a table of an earlier layout when createTable is false, naming the statements to run, until they are run', async () => {
      const tableName = freshTable();
      await createTableBeforeCreatedAt(tableName);
      const store = makeStore({ tableName, createTable: false });
      const table = `"${schema.name}"."${tableName}"`;
      const statements: [string, string] = [
        `ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS created_at bigint, ADD COLUMN IF NOT EXISTS owner text COLLATE "C"`,
        `CREATE INDEX IF NOT EXISTS "${tableName}_owner_idx" ON ${table} (owner) WHERE owner IS NOT NULL`,
      ];
      await expectRefusalUntilMigrated(store, statements, (sql) => pool.query(sql), session());
    });

    it('uses an owner index made beforehand with CREATE INDEX CONCURRENTLY, and refuses one such left invalid by a failure', async () => {
      const made = freshTable();
      await createTableBeforeOwner(made);
      await pool.query(`ALTER TABLE "${schema.name}"."${made}" ADD COLUMN owner text COLLATE "C"`);
      await pool.query(`CREATE INDEX CONCURRENTLY by_owner ON "${schema.name}"."${made}" (owner)`);
      await makeStore({ tableName: made, createTable: false }).set('a', session());
      const failed = freshTable();
      await createTableBeforeOwner(failed);
      await pool.query(`ALTER TABLE "${schema.name}"."${failed}" ADD COLUMN owner text COLLATE "C"`);
      await pool.query(`INSERT INTO "${schema.name}"."${failed}" (sid, expires_at, data, owner) VALUES ('a', 0, '', 'same'), ('b', 0, '', 'same')`);
      // A unique index over a duplicate fails, and CONCURRENTLY leaves it behind, invalid.
      await expect(pool.query(`CREATE UNIQUE INDEX CONCURRENTLY "${failed}_owner_idx" ON "${schema.name}"."${failed}" (owner) WHERE owner IS NOT NULL`)).rejects.toThrow();
      const store = makeStore({ tableName: failed });
      await expect(store.get('a')).rejects.toMatchObject({ code: 'ERR_SESSION_BACKEND', message: expect.stringContaining('still has no valid index on owner') });
      await pool.query(`DROP INDEX "${schema.name}"."${failed}_owner_idx"`);
      await expect(store.get('a')).resolves.toBeNull();
      expect(await indexesOf(failed)).toContain(`CREATE INDEX ${failed}_owner_idx USING btree (owner) WHERE (owner IS NOT NULL)`);
    });

    it('gives up adding created_at while a transaction holds the table, rather than queue every statement behind it, and adds it on a later call', async () => {
      const tableName = freshTable();
      await createTableBeforeCreatedAt(tableName);
      const other = new Client({ connectionString: url });
      await other.connect();
      try {
        await other.query('BEGIN');
        await other.query(`SELECT count(*) FROM "${schema.name}"."${tableName}"`);
        const store = makeStore({ tableName });
        await expect(store.get('a')).rejects.toMatchObject({ code: 'ERR_SESSION_BACKEND', cause: expect.objectContaining({ code: '55P03' }) });
        await other.query('COMMIT');
        await expect(store.get('a')).resolves.toBeNull();
        expect(await recordOf(tableName, 'a')).toBeUndefined();
      } finally {
        await other.end();
      }
    });

    it('uses an existing table without needing the privilege to create one', async () => {
      const tableName = freshTable();
      await makeStore({ tableName }).set('a', session({ n: 1 }));
      const role = `ss_reader_${Date.now()}`;
      await pool.query(`CREATE ROLE ${role}`);
      try {
        await pool.query(`GRANT USAGE ON SCHEMA "${schema.name}" TO ${role}`);
        await pool.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON "${schema.name}"."${tableName}" TO ${role}`);
        const restricted = new Pool({ connectionString: url, max: 2, options: `-c role=${role}` });
        try {
          const store = makeStore({ pool: restricted, tableName });
          expect(await store.get('a')).toEqual(session({ n: 1 }));
          await store.close();
        } finally {
          await restricted.end();
        }
      } finally {
        await pool.query(`DROP OWNED BY ${role}`);
        await pool.query(`DROP ROLE ${role}`);
      }
    });
  });

  describe('operations', () => {
    it('stores the exact expiry in epoch milliseconds whatever the connection TimeZone', async () => {
      const farAway = new Pool({ connectionString: url, max: 2, options: '-c TimeZone=Pacific/Chatham' });
      try {
        const tableName = freshTable();
        const store = makeStore({ pool: farAway, tableName, ttl: 1234 });
        await store.set('a', session());
        expect(await rowsOf(tableName)).toEqual([{ sid: 'a', expires_at: String(T0 + 1234), data: JSON.stringify(session()) }]);
        await store.close();
      } finally {
        await farAway.end();
      }
    });

    it('sends get, set, touch and destroy as one statement each, outside any explicit transaction, with userOf too (destroy inserts its tombstone)', async () => {
      const counting = new Pool({ connectionString: url, max: 2 });
      const sent: string[] = [];
      const query = counting.query.bind(counting) as (...args: unknown[]) => unknown;
      jest.spyOn(counting, 'query').mockImplementation(((...args: unknown[]) => {
        sent.push(textOf(args[0]).split(' ')[0]);
        return query(...args);
      }) as never);
      try {
        const store = makeStore({ pool: counting, userOf });
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
        await counting.end();
      }
    });

    it('prepares statements under names of their own, so stores of different tables share one connection', async () => {
      const single = new Pool({ connectionString: url, max: 1 });
      try {
        const first = makeStore({ pool: single });
        const second = makeStore({ pool: single, compat: 'connect-pg-simple' });
        await first.set('a', session({ from: 'first' }));
        await second.set('a', session({ from: 'second' }));
        expect(await first.get('a')).toEqual(session({ from: 'first' }));
        expect(await second.get('a')).toEqual(session({ from: 'second' }));
        await Promise.all([first.close(), second.close()]);
      } finally {
        await single.end();
      }
    });

    it('sends unnamed statements when preparedStatements is false', async () => {
      const names: unknown[] = [];
      const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
      jest.spyOn(pool, 'query').mockImplementation(((...args: unknown[]) => {
        names.push((args[0] as { name?: string }).name);
        return query(...args);
      }) as never);
      try {
        const store = makeStore({ preparedStatements: false });
        await store.get('warm-up');
        names.length = 0;
        await store.set('a', session());
        await store.get('a');
      } finally {
        jest.restoreAllMocks();
      }
      expect(names).toEqual([undefined, undefined]);
    });

    it('hands pg a config of its own for every query, named and with its text, its values beside it', async () => {
      const configs: unknown[] = [];
      const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
      jest.spyOn(pool, 'query').mockImplementation(((...args: unknown[]) => {
        configs.push(args[0]);
        return query(...args);
      }) as never);
      try {
        const store = makeStore();
        await store.get('warm-up');
        configs.length = 0;
        await store.set('a', session({ user: 'ana' }));
        await store.get('a');
        await store.get('a');
        expect(await store.get('a')).toEqual(session({ user: 'ana' }));
      } finally {
        jest.restoreAllMocks();
      }
      const [write, ...reads] = configs as { name?: string; text?: string; values?: unknown }[];
      expect(write!.text).toMatch(/^INSERT/);
      expect(reads.map((read) => read.text)).toEqual([reads[0]!.text, reads[0]!.text, reads[0]!.text]);
      expect(reads[0]!.text).toMatch(/^SELECT/);
      expect(reads[0]!.name).toEqual(expect.any(String));
      // Never one config for two queries: a pg that sets the values on it would hand one query's to the other.
      expect(new Set(configs).size).toBe(configs.length);
      expect(configs.every((config) => (config as { values?: unknown }).values === undefined)).toBe(true);
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

    it('lists every live session across pages of the scan', async () => {
      const tableName = freshTable();
      const store = makeStore({ tableName });
      await store.set('live', session());
      await pool.query(
        `INSERT INTO "${schema.name}"."${tableName}" (sid, expires_at, data) SELECT 'p' || g, $1::bigint, $2 FROM generate_series(1, 2500) g`,
        [T0 + HOUR, JSON.stringify(session())],
      );
      await insertExpired(tableName, 10, T0 - 1);
      const ids = await store.ids();
      expect(ids).toHaveLength(2501);
      expect(new Set(ids).size).toBe(2501);
      expect(Object.keys(await store.all())).toHaveLength(2501);
      expect(await store.length()).toBe(2501);
    });

    it('expires a session in real time without the injectable clock', async () => {
      // Seconds, not milliseconds: on a loaded machine the set and the first get may take hundreds of ms.
      const ttl = 2000;
      const store = makeStore({ now: undefined, ttl });
      const setAt = Date.now();
      await store.set('short', session());
      expect(await store.get('short')).toEqual(session());
      await new Promise((resolve) => setTimeout(resolve, setAt + ttl + 100 - Date.now()));
      expect(await store.get('short')).toBeNull();
    });
  });

  describe('tombstones and maxLifetime in one conditional upsert', () => {
    const TTL = HOUR;
    const LIFETIME = 90 * 60_000;
    const TOMBSTONE_TTL = 5 * 60_000;
    let tableName: string;
    let store: PostgresStore;
    const stored = (n: number) => JSON.stringify(session({ n }));

    beforeEach(() => {
      tableName = freshTable();
      store = makeStore({ tableName, ttl: TTL, maxLifetime: LIFETIME, tombstoneTtl: TOMBSTONE_TTL });
    });

    it('creates the row of a new id at now', async () => {
      await store.set('a', session({ n: 1 }));
      expect(await recordOf(tableName, 'a')).toEqual({ data: stored(1), expiresAt: T0 + TTL, createdAt: T0 });
    });

    it('keeps the creation instant of a live session and caps its expiry at it + maxLifetime', async () => {
      await store.set('a', session({ n: 1 }));
      clock = T0 + 45 * 60_000;
      await store.set('a', session({ n: 2 }));
      expect(await recordOf(tableName, 'a')).toEqual({ data: stored(2), expiresAt: T0 + LIFETIME, createdAt: T0 });
    });

    it('caps a touch of a live session at its creation + maxLifetime', async () => {
      await store.set('a', session({ n: 1 }));
      clock = T0 + 45 * 60_000;
      await store.touch('a', session({ n: 1 }));
      expect(await recordOf(tableName, 'a')).toEqual({ data: stored(1), expiresAt: T0 + LIFETIME, createdAt: T0 });
    });

    it('writes no row version for a touch whose expiry the lifetime keeps where it is, with or without touchAfter', async () => {
      const xminOf = async (sid: string) => (await pool.query(`SELECT xmin::text FROM "${schema.name}"."${tableName}" WHERE sid = $1`, [sid])).rows[0]!.xmin as string;
      const recent = makeStore({ tableName, ttl: TTL, maxLifetime: LIFETIME, touchAfter: 60_000 });
      await store.set('a', session({ n: 1 }));
      clock = T0 + 45 * 60_000;
      await store.touch('a', session({ n: 1 }));
      const version = await xminOf('a');
      expect(await recordOf(tableName, 'a')).toMatchObject({ expiresAt: T0 + LIFETIME });
      clock = T0 + 50 * 60_000;
      await store.touch('a', session({ n: 1 }));
      await recent.touch('a', session({ n: 1 }));
      expect(await xminOf('a')).toBe(version);
      expect(await recordOf(tableName, 'a')).toMatchObject({ expiresAt: T0 + LIFETIME });
    });

    it('replaces an expired session as a new one', async () => {
      await store.set('a', session({ n: 1 }));
      clock = T0 + 3 * HOUR;
      await store.set('a', session({ n: 2 }));
      expect(await recordOf(tableName, 'a')).toEqual({ data: stored(2), expiresAt: clock + TTL, createdAt: clock });
    });

    it('writes nothing over a live tombstone, and a touch never lengthens it', async () => {
      await store.set('a', session({ n: 1 }));
      clock = T0 + 1000;
      await store.destroy('a');
      const tombstone = { data: '', expiresAt: T0 + 1000 + TOMBSTONE_TTL, createdAt: T0 + 1000 };
      expect(await recordOf(tableName, 'a')).toEqual(tombstone);
      clock = T0 + 2000;
      await store.set('a', session({ n: 2 }));
      await store.touch('a', session({ n: 2 }));
      expect(await recordOf(tableName, 'a')).toEqual(tombstone);
    });

    it('replaces an expired tombstone as a new session', async () => {
      await store.destroy('a');
      clock = T0 + TOMBSTONE_TTL;
      await store.set('a', session({ n: 2 }));
      expect(await recordOf(tableName, 'a')).toEqual({ data: stored(2), expiresAt: clock + TTL, createdAt: clock });
    });

    it('gives a live row from before created_at its creation instant at its next save', async () => {
      await store.set('a', session({ n: 1 }));
      await pool.query(`UPDATE "${schema.name}"."${tableName}" SET created_at = NULL`);
      clock = T0 + 45 * 60_000;
      await store.touch('a', session({ n: 1 }));
      expect(await recordOf(tableName, 'a')).toEqual({ data: stored(1), expiresAt: clock + TTL, createdAt: null });
      await store.set('a', session({ n: 2 }));
      expect(await recordOf(tableName, 'a')).toEqual({ data: stored(2), expiresAt: clock + TTL, createdAt: clock });
    });
  });

  describe('the owner column under userOf', () => {
    let tableName: string;
    let store: PostgresStore;

    beforeEach(() => {
      tableName = freshTable();
      store = makeStore({ tableName, userOf, tombstoneTtl: 60_000 });
    });

    it('holds the owner key every set gives, in the same statement, and NULL for a session of no user', async () => {
      await store.set('a', session({ user: 'ana' }));
      expect(await ownerOf(tableName, 'a')).toBe('ana');
      await store.set('a', session({ user: 'bo' }));
      expect(await ownerOf(tableName, 'a')).toBe('bo');
      await store.set('a', session());
      expect(await ownerOf(tableName, 'a')).toBeNull();
    });

    it('keeps the owner through a touch, and gives none to a tombstone, even when a late set comes after it', async () => {
      await store.set('a', session({ user: 'ana' }));
      await store.touch('a', session({ user: 'bo' }));
      expect(await ownerOf(tableName, 'a')).toBe('ana');
      await store.destroy('a');
      expect(await ownerOf(tableName, 'a')).toBeNull();
      await store.set('a', session({ user: 'ana' }));
      expect(await ownerOf(tableName, 'a')).toBeNull();
    });

    it('holds the SHA-256 of the user id, never the id, with hashIds', async () => {
      const hashed = makeStore({ tableName, userOf, hashIds: true });
      await hashed.set('a', session({ user: 'ana' }));
      const { rows } = await pool.query(`SELECT owner FROM "${schema.name}"."${tableName}"`);
      expect(rows).toEqual([{ owner: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) }]);
      expect((await hashed.sessionsOf('ana')).map(({ session }) => session)).toEqual([session({ user: 'ana' })]);
    });

    it("reads a user's sessions through the owner index among 100,000 rows, with the planner's custom and generic plans", async () => {
      await store.set('mine', session({ user: 'user-42' }));
      // Ten sessions for each of 7,500 users, a quarter of the rows of no user: user-42's are p42, p10042, ... p90042.
      const [before, after] = JSON.stringify(session({ user: '#' })).split('#');
      await pool.query(
        `INSERT INTO "${schema.name}"."${tableName}" (sid, expires_at, data, created_at, owner)
         SELECT 'p' || g, $1::bigint, $3 || 'user-' || (g % 10000) || $4, $2::bigint, CASE WHEN g % 4 = 0 THEN NULL ELSE 'user-' || (g % 10000) END
         FROM generate_series(1, 100000) g`,
        [T0 + HOUR, T0, before, after],
      );
      await pool.query(`ANALYZE "${schema.name}"."${tableName}"`);
      const scanOwner = statementsFor('session-stores', schema.name, tableName).scanOwner!;
      const client = await pool.connect();
      try {
        await client.query(`PREPARE owned (text, bigint) AS ${scanOwner}`);
        for (const mode of ['force_custom_plan', 'force_generic_plan']) {
          await client.query(`SET plan_cache_mode = ${mode}`);
          const { rows } = await client.query(`EXPLAIN EXECUTE owned ('user-42', ${T0})`);
          const plan = rows.map((row: { 'QUERY PLAN': string }) => row['QUERY PLAN']).join('\n');
          expect(plan).toContain(`${tableName}_owner_idx`);
          expect(plan).not.toContain('Seq Scan');
        }
      } finally {
        await client.query('DEALLOCATE owned; RESET plan_cache_mode');
        client.release();
      }
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
      const deletes: number[] = [];
      const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<{ rows: Array<{ removed?: number }> }>;
      jest.spyOn(pool, 'query').mockImplementation(((...args: unknown[]) =>
        query(...args).then((result) => {
          if (textOf(args[0]).includes('FOR UPDATE SKIP LOCKED')) deletes.push(result.rows[0]!.removed!);
          return result;
        })) as never);
      try {
        expect(await store.prune()).toBe(1050);
      } finally {
        jest.restoreAllMocks();
      }
      expect(Math.max(...deletes)).toBe(100);
      expect(deletes.length).toBe(11);
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

    it('prunes in its next run a row that a run skipped as locked, though its later batches had started past that row', async () => {
      const tableName = freshTable();
      const store = makeStore({ tableName, pruneBatchSize: 100 });
      await store.get('create-table');
      await pool.query(`INSERT INTO "${schema.name}"."${tableName}" (sid, expires_at, data) VALUES ('earliest', $1, '{}')`, [T0 - 1000]);
      await insertExpired(tableName, 250, T0 - 1);
      const other = new Client({ connectionString: url });
      await other.connect();
      try {
        await other.query('BEGIN');
        await other.query(`SELECT 1 FROM "${schema.name}"."${tableName}" WHERE sid = 'earliest' FOR UPDATE`);
        expect(await store.prune()).toBe(250);
        await other.query('ROLLBACK');
      } finally {
        await other.end();
      }
      expect(await store.prune()).toBe(1);
      expect(await rowsOf(tableName)).toEqual([]);
    });

    it('deletes nothing while another instance holds the prune lock for the table', async () => {
      const tableName = freshTable();
      const store = makeStore({ tableName });
      await store.get('create-table');
      await insertExpired(tableName, 5, T0 - 1);
      const other = new Client({ connectionString: url });
      await other.connect();
      try {
        await other.query('BEGIN');
        await other.query('SELECT pg_advisory_xact_lock($1::int, $2::regclass::oid::int)', [ADVISORY_LOCK_CLASS, `"${schema.name}"."${tableName}"`]);
        expect(await store.prune()).toBe(0);
        await other.query('COMMIT');
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

    it('skips an expired row another transaction holds instead of waiting for it', async () => {
      const tableName = freshTable();
      const store = makeStore({ tableName });
      await store.get('create-table');
      await insertExpired(tableName, 3, T0 - 1);
      const other = new Client({ connectionString: url });
      await other.connect();
      try {
        await other.query('BEGIN');
        await other.query(`SELECT 1 FROM "${schema.name}"."${tableName}" WHERE sid = 'x1' FOR UPDATE`);
        expect(await store.prune()).toBe(2);
        await other.query('ROLLBACK');
      } finally {
        await other.end();
      }
      expect((await rowsOf(tableName)).map((row) => row.sid)).toEqual(['x1']);
    });
  });

  describe('connections', () => {
    it('leaves a pool the caller passed open after close', async () => {
      const store = makeStore();
      await store.get('a');
      await store.close();
      await expect(pool.query('SELECT 1')).resolves.toBeDefined();
    });

    it('ends the pool it created from a connection string on close', async () => {
      const store = makeStore({ pool: undefined, connectionString: url });
      await store.set('a', session());
      const own = (store as unknown as { pool: Pool }).pool;
      await store.close();
      expect(own.ended).toBe(true);
      expect(own.totalCount).toBe(0);
    });
  });
});
