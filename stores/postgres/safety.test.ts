import util from 'node:util';
import type { SessionData } from 'express-session';
import { Pool } from 'pg';
import { PostgresStore, type PostgresStoreOptions } from '.';
import { describeBackend } from '../../test/support/backends';
import { createScratchSchema } from '../../test/support/postgres-servers';

const session = (data: Record<string, unknown> = {}) =>
  ({ cookie: { originalMaxAge: null, path: '/', httpOnly: true }, ...data }) as unknown as SessionData;

function thrownBy(make: () => unknown): { code?: string; printed: string } {
  try {
    make();
  } catch (error) {
    return { code: (error as { code?: string }).code, printed: util.inspect(error, { depth: 10 }) };
  }
  throw new Error('the constructor did not throw');
}

describeBackend('postgres', 'PostgresStore hardening', (url) => {
  let pool: Pool;
  let schema: { name: string; drop: () => Promise<void> };
  const stores: PostgresStore[] = [];
  const makeStore = (options: Partial<PostgresStoreOptions>) => {
    const store = new PostgresStore({ pool, schemaName: schema.name, pruneInterval: 0, ...options } as PostgresStoreOptions);
    stores.push(store);
    return store;
  };

  beforeAll(async () => {
    pool = new Pool({ connectionString: url, max: 4 });
    schema = await createScratchSchema(pool, 'safety');
  });
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
  });
  afterAll(async () => {
    await schema.drop();
    await pool.end();
  });

  describe('constructor errors', () => {
    it.each(['postgres://user:s3cretpw@[bad/db', 'postgres://user:s3cretpw@host:port/db', 'postgresql://user:s3cretpw@exa mple.com:99999/db'])(
      'refuses the connection string %s with ERR_SESSION_OPTIONS, without its password',
      (connectionString) => {
        const { code, printed } = thrownBy(() => new PostgresStore({ connectionString }));
        expect(code).toBe('ERR_SESSION_OPTIONS');
        expect(printed).not.toContain('s3cretpw');
        expect(printed).not.toMatch(/TypeError|ERR_INVALID_URL/);
      },
    );

    it.each(['pg_catalog', 'information_schema', 'pg_toast', 'pg_temp_1', 'PG_CATALOG'])('refuses the system schema %s', (schemaName) => {
      expect(thrownBy(() => new PostgresStore({ pool, schemaName })).code).toBe('ERR_SESSION_OPTIONS');
    });
  });

  describe('a table that is not ours', () => {
    const foreign = async (table: string, ddl: string, insert: string) => {
      await pool.query(`CREATE TABLE "${schema.name}"."${table}" ${ddl}`);
      await pool.query(`INSERT INTO "${schema.name}"."${table}" ${insert}`);
      return async () => (await pool.query(`SELECT * FROM "${schema.name}"."${table}" ORDER BY 1`)).rows;
    };

    const tables: Array<[string, string, string, Partial<PostgresStoreOptions>]> = [
      ['an orders table', '(id int PRIMARY KEY, customer text NOT NULL, total numeric NOT NULL)', "VALUES (1, 'ada', 10), (2, 'bob', 20)", {}],
      [
        'our columns and one more',
        '(sid text PRIMARY KEY, expires_at bigint NOT NULL, data text NOT NULL, owner text)',
        "VALUES ('row-1', 4102444800000, '{}', 'billing'), ('row-2', 1, '{}', 'billing')",
        {},
      ],
      [
        'our columns without the primary key',
        '(sid text NOT NULL, expires_at bigint NOT NULL, data text NOT NULL)',
        "VALUES ('row-1', 4102444800000, '{}'), ('row-2', 1, '{}')",
        {},
      ],
      [
        'our table, for a store in the connect-pg-simple layout',
        '(sid text PRIMARY KEY, expires_at bigint NOT NULL, data text NOT NULL)',
        "VALUES ('row-1', 4102444800000, '{}'), ('row-2', 1, '{}')",
        { compat: 'connect-pg-simple' },
      ],
      [
        "connect-pg-simple's table, for a store in our layout",
        '(sid varchar PRIMARY KEY, sess json NOT NULL, expire timestamp(6) NOT NULL)',
        "VALUES ('row-1', '{}', now() + interval '1 day'), ('row-2', '{}', now() - interval '1 day')",
        {},
      ],
    ];

    it.each(tables)('refuses %s: clear, prune, set, touch, destroy and get change none of its rows', async (what, ddl, insert, options) => {
      const table = `foreign_${tables.findIndex(([name]) => name === what)}`;
      const rows = await foreign(table, ddl, insert);
      const before = await rows();
      for (const createTable of [true, false]) {
        const store = makeStore({ tableName: table, createTable, ...options });
        for (const attempt of [
          () => store.clear(),
          () => store.prune(),
          () => store.set('row-1', session({ overwritten: true })),
          () => store.touch('row-1', session()),
          () => store.destroy('row-1'),
          () => store.get('row-1'),
        ]) {
          await expect(attempt()).rejects.toMatchObject({ code: 'ERR_SESSION_OPTIONS', message: expect.stringContaining('not a session table') });
        }
      }
      expect(await rows()).toEqual(before);
    });

    it('refuses a view under the table name and leaves the table behind it', async () => {
      const rows = await foreign('behind_view', '(sid text PRIMARY KEY, expires_at bigint NOT NULL, data text NOT NULL)', "VALUES ('row-1', 4102444800000, '{}')");
      await pool.query(`CREATE VIEW "${schema.name}".a_view AS SELECT * FROM "${schema.name}".behind_view`);
      const store = makeStore({ tableName: 'a_view' });
      await expect(store.clear()).rejects.toMatchObject({ code: 'ERR_SESSION_OPTIONS', message: expect.stringContaining('not a table') });
      expect(await rows()).toHaveLength(1);
    });

    it("refuses a system table that search_path finds, such as pg_catalog's pg_class", async () => {
      // As a role without privileges, so a store that did not check would fail on permissions, not delete the catalog.
      const role = `ss_nobody_${Date.now()}`;
      await pool.query(`CREATE ROLE ${role}`);
      const restricted = new Pool({ connectionString: url, max: 1, options: `-c role=${role}` });
      try {
        const store = new PostgresStore({ pool: restricted, tableName: 'pg_class', pruneInterval: 0 });
        stores.push(store);
        await expect(store.clear()).rejects.toMatchObject({ code: 'ERR_SESSION_OPTIONS', message: expect.stringContaining('system schema pg_catalog') });
      } finally {
        await Promise.all(stores.splice(0).map((store) => store.close()));
        await restricted.end();
        await pool.query(`DROP ROLE ${role}`);
      }
    });

    it("accepts connect-pg-simple's table with jsonb, text ids and timestamps without precision", async () => {
      await pool.query(`CREATE TABLE "${schema.name}".cps_variant (sid text PRIMARY KEY, sess jsonb NOT NULL, expire timestamp NOT NULL)`);
      const store = makeStore({ tableName: 'cps_variant', compat: 'connect-pg-simple' });
      await store.set('a', session({ n: 1 }));
      expect(await store.get('a')).toMatchObject({ n: 1 });
    });

    it('uses its own table, created by another store or by schema.sql, as before', async () => {
      await makeStore({ tableName: 'ours' }).set('a', session({ n: 1 }));
      const second = makeStore({ tableName: 'ours', createTable: false });
      expect(await second.get('a')).toMatchObject({ n: 1 });
      await second.clear();
      expect(await second.length()).toBe(0);
    });
  });
});
