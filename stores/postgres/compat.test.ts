import session, { type SessionData, type Store } from 'express-session';
import { Pool } from 'pg';
import { PostgresStore } from '.';
import { describeBackend } from '../../test/support/backends';
import { createScratchSchema } from '../../test/support/postgres-servers';

interface ConnectPgSimpleStore extends Store {
  pruneSessions(callback: (error: Error | null) => void): void;
  close(): Promise<void>;
}
type ConnectPgSimpleOptions = { pool: Pool; schemaName: string; tableName?: string; createTableIfMissing?: boolean; pruneSessionInterval: false };
// connect-pg-simple ships no types; this is the part of its API the tests use.
const connectPgSimple: (s: typeof session) => new (options: ConnectPgSimpleOptions) => ConnectPgSimpleStore = require('connect-pg-simple');
const ConnectPgSimpleStore = connectPgSimple(session);

const MINUTE = 60_000;

function sessionUntil(expires: number, data: Record<string, unknown> = {}): SessionData {
  return {
    cookie: { originalMaxAge: 3_600_000, expires: new Date(expires).toISOString(), path: '/', httpOnly: true },
    ...data,
  } as unknown as SessionData;
}

const call = <T>(run: (callback: (error: unknown, value?: T) => void) => void) =>
  new Promise<T | undefined>((resolve, reject) => run((error, value) => (error ? reject(error) : resolve(value))));

describeBackend('postgres', "PostgresStore with compat 'connect-pg-simple'", (url) => {
  let admin: Pool;
  let schema: { name: string; drop: () => Promise<void> };

  beforeAll(async () => {
    admin = new Pool({ connectionString: url, max: 2 });
    schema = await createScratchSchema(admin, 'compat');
  });

  afterAll(async () => {
    await schema.drop();
    await admin.end();
  });

  it('creates the same columns as connect-pg-simple table.sql when the table is missing', async () => {
    const store = new PostgresStore({ pool: admin, schemaName: schema.name, tableName: 'created_by_us', compat: 'connect-pg-simple', pruneInterval: 0 });
    const reference = new ConnectPgSimpleStore({ pool: admin, schemaName: schema.name, tableName: 'created_by_them', createTableIfMissing: true, pruneSessionInterval: false });
    await store.length();
    await call((cb) => reference.get('anyone', cb));
    const shape = async (table: string) =>
      (
        await admin.query(
          `SELECT column_name, data_type, datetime_precision, is_nullable FROM information_schema.columns
           WHERE table_schema = $1 AND table_name = $2 ORDER BY column_name`,
          [schema.name, table],
        )
      ).rows;
    expect(await shape('created_by_us')).toEqual(await shape('created_by_them'));
    const indexed = async (table: string) =>
      (await admin.query('SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = $2', [schema.name, table])).rows
        .map((row) => row.indexdef.replace(/.* USING /, ''))
        .sort();
    expect(await indexed('created_by_us')).toEqual(await indexed('created_by_them'));
    await store.close();
    await reference.close();
  });

  describe.each(['UTC', 'America/New_York', 'Asia/Kathmandu'])('with the connections in TimeZone %s', (timeZone) => {
    let pool: Pool;
    let theirs: ConnectPgSimpleStore;
    let ours: PostgresStore;
    let clock: number;
    // connect-pg-simple names its primary key "session_pkey" whatever the table, so each zone gets a schema of its own.
    let zoneSchema: { name: string; drop: () => Promise<void> };
    const tableName = 'session';

    beforeAll(async () => {
      zoneSchema = await createScratchSchema(admin, 'compat_zone');
      pool = new Pool({ connectionString: url, max: 4, options: `-c TimeZone=${timeZone}` });
      theirs = new ConnectPgSimpleStore({ pool, schemaName: zoneSchema.name, createTableIfMissing: true, pruneSessionInterval: false });
      await call((cb) => theirs.get('create-table', cb));
      ours = new PostgresStore({ pool, schemaName: zoneSchema.name, compat: 'connect-pg-simple', now: () => clock, pruneInterval: 0 });
    });

    beforeEach(() => {
      clock = Date.now();
    });

    afterAll(async () => {
      await ours.close();
      await theirs.close();
      await pool.end();
      await zoneSchema.drop();
    });

    it('reads a session connect-pg-simple wrote, up to the second it rounded the expiry to', async () => {
      const expires = Date.now() + 30 * MINUTE + 123;
      await call((cb) => theirs.set('theirs-1', sessionUntil(expires, { user: 'ana' }), cb));
      const roundedUp = Math.ceil(expires / 1000) * 1000;
      clock = roundedUp - 1;
      expect(await ours.get('theirs-1')).toEqual(sessionUntil(expires, { user: 'ana' }));
      clock = roundedUp;
      expect(await ours.get('theirs-1')).toBeNull();
    });

    it('writes a session connect-pg-simple reads, with the expiry it would have stored', async () => {
      const expires = Date.now() + 30 * MINUTE + 456;
      await ours.set('ours-1', sessionUntil(expires, { user: 'bo' }));
      expect(await call((cb) => theirs.get('ours-1', cb))).toEqual(sessionUntil(expires, { user: 'bo' }));
      const { rows } = await pool.query(`SELECT extract(epoch FROM expire::timestamptz) * 1000 AS ms FROM "${zoneSchema.name}"."${tableName}" WHERE sid = 'ours-1'`);
      expect(Number(rows[0].ms)).toBe(expires);
    });

    it('keeps a live session it wrote through a prune by connect-pg-simple', async () => {
      const expires = Date.now() + 2 * MINUTE;
      await ours.set('ours-2', sessionUntil(expires));
      await call((cb) => theirs.pruneSessions(cb));
      expect(await call((cb) => theirs.get('ours-2', cb))).toEqual(sessionUntil(expires));
    });

    it('destroys a session by deleting its row: no tombstone for connect-pg-simple to read as a session', async () => {
      await ours.set('ours-destroyed', sessionUntil(Date.now() + 10 * MINUTE));
      await ours.destroy('ours-destroyed');
      const { rows } = await pool.query(`SELECT sid FROM "${zoneSchema.name}"."${tableName}" WHERE sid = 'ours-destroyed'`);
      expect(rows).toEqual([]);
    });

    it('extends the expiry of a connect-pg-simple session on touch without changing its data', async () => {
      const expires = Date.now() + 10 * MINUTE;
      await call((cb) => theirs.set('theirs-2', sessionUntil(expires, { n: 1 }), cb));
      const later = Date.now() + 60 * MINUTE;
      await ours.touch('theirs-2', sessionUntil(later, { n: 2 }));
      clock = Math.ceil(expires / 1000) * 1000 + 1;
      expect(await ours.get('theirs-2')).toEqual(sessionUntil(expires, { n: 1 }));
      clock = later;
      expect(await ours.get('theirs-2')).toBeNull();
    });

    it('prunes the sessions connect-pg-simple wrote once they expire, and only those', async () => {
      await call((cb) => theirs.set('theirs-old', sessionUntil(Date.now() + MINUTE), cb));
      await call((cb) => theirs.set('theirs-new', sessionUntil(Date.now() + 90 * MINUTE), cb));
      clock = Date.now() + 10 * MINUTE;
      expect(await ours.prune()).toBeGreaterThanOrEqual(1);
      expect(await call((cb) => theirs.get('theirs-old', cb))).toBeUndefined();
      expect(await call((cb) => theirs.get('theirs-new', cb))).toBeDefined();
    });

    it('moves live sessions to the native table with the copy statement of the README, keeping data and expiry', async () => {
      const expires = Date.now() + 45 * MINUTE + 789;
      await ours.set('moving', sessionUntil(expires, { moved: true }));
      const native = new PostgresStore({ pool, schemaName: zoneSchema.name, now: () => clock, pruneInterval: 0 });
      await native.length();
      await pool.query(
        `INSERT INTO "${zoneSchema.name}".express_sessions (sid, expires_at, data)
         SELECT sid, round(extract(epoch FROM expire::timestamptz) * 1000)::bigint, sess::text
         FROM "${zoneSchema.name}".session
         WHERE expire > now()::timestamp
         ON CONFLICT (sid) DO NOTHING`,
      );
      clock = expires - 1;
      expect(await native.get('moving')).toEqual(sessionUntil(expires, { moved: true }));
      clock = expires;
      expect(await native.get('moving')).toBeNull();
      await native.close();
    });

    it('lists and counts the sessions connect-pg-simple wrote', async () => {
      await call((cb) => theirs.set('theirs-listed', sessionUntil(Date.now() + MINUTE, { listed: true }), cb));
      expect(await ours.ids()).toContain('theirs-listed');
      expect((await ours.all())['theirs-listed']).toMatchObject({ listed: true });
      expect(await ours.length()).toBeGreaterThanOrEqual(1);
    });
  });
});
