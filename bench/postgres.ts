import { randomBytes } from 'node:crypto';
import session, { type SessionData } from 'express-session';
import { Pool, type PoolConfig } from 'pg';
import { DEFAULT_TOMBSTONE_TTL_MS } from '../shared';
import type { PostgresStore, PostgresStoreOptions } from '../stores/postgres';
import { storeOn } from '../stores/postgres/fixtures/factory';
import { statementName, statementsFor } from '../stores/postgres/schema';
import { AT_REST_NOTE, withAtRestVariants, type AtRestOptions } from './at-rest';
import { callbackOperationsOf, makeSession, operationsOf, type BenchSuite, type CallbackStore, type Contender } from './harness';
import { measureUserIndex, userOf, type CrowdedStore } from './user-index';
import { PRUNE_LIVE_ROWS, PRUNE_PAYLOAD, PRUNE_ROWS, StatementTimes, measuredPrune, pruneSkipped } from './prune';


type ConnectPgSimpleClass = new (options: { pool: Pool; schemaName: string; createTableIfMissing: boolean; pruneSessionInterval: false }) => CallbackStore & { close(): Promise<void> };

const URL = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
// Every contender gets the same pool: pg's default of 10 connections plus headroom for concurrency 64, seven such pools within the server's default max_connections of 100.
const POOL: PoolConfig = { connectionString: URL, max: 12 };
const PRUNE_BATCH_SIZE = 5000;


/** A schema of its own per contender (connect-pg-simple fixes its constraint names), dropped at teardown. */
async function scratchSchema(pool: Pool, label: string): Promise<{ name: string; drop: () => Promise<void> }> {
  const name = `ss_bench_${label}_${randomBytes(3).toString('hex')}`;
  await pool.query(`CREATE SCHEMA "${name}"`);
  return { name, drop: async () => void (await pool.query(`DROP SCHEMA "${name}" CASCADE`)) };
}

function ours(name: string, options: AtRestOptions & Pick<PostgresStoreOptions, 'userOf'>): Contender {
  let pool: Pool;
  let schema: Awaited<ReturnType<typeof scratchSchema>>;
  let store: PostgresStore;
  return {
    name,
    kind: 'ours',
    async setup() {
      pool = new Pool(POOL);
      schema = await scratchSchema(pool, 'ours');
      store = storeOn({ pool, schemaName: schema.name, pruneInterval: 0, ...options });
      await store.length();
    },
    ...operationsOf(() => store),
    async teardown() {
      await store.close();
      await schema.drop();
      await pool.end();
    },
  };
}

/** connect-pg-simple as its README configures it, on the same kind of pool. */
function connectPgSimple(): Contender {
  let pool: Pool;
  let schema: Awaited<ReturnType<typeof scratchSchema>>;
  let store: CallbackStore & { close(): Promise<void> };
  const operations = callbackOperationsOf(() => store);
  return {
    name: 'connect-pg-simple',
    kind: 'alternative',
    async setup() {
      pool = new Pool(POOL);
      schema = await scratchSchema(pool, 'cps');
      const Store = (require('connect-pg-simple') as (s: typeof session) => ConnectPgSimpleClass)(session);
      store = new Store({ pool, schemaName: schema.name, createTableIfMissing: true, pruneSessionInterval: false });
      await operations.get('create-table');
    },
    ...operations,
    async teardown() {
      await store.close();
      await schema.drop();
      await pool.end();
    },
  };
}

/** PostgresStore's own statements, prepared under the same names, sent by hand through pg on the same kind of pool. */
function rawFloor(): Contender {
  let pool: Pool;
  let schema: Awaited<ReturnType<typeof scratchSchema>>;
  let sql: ReturnType<typeof statementsFor>;
  const send = (text: string, values: unknown[]) => pool.query<{ data: string }>({ name: statementName(text), text, values });
  const expiresAtOf = (data: SessionData) => Date.parse(data.cookie.expires as unknown as string);
  return {
    name: 'raw pg',
    kind: 'floor',
    async setup() {
      pool = new Pool(POOL);
      schema = await scratchSchema(pool, 'raw');
      sql = statementsFor('session-stores', schema.name, 'express_sessions');
      await pool.query(sql.createTable);
    },
    async get(sid) {
      const { rows } = await send(sql.read, [sid, Date.now()]);
      return rows.length === 0 ? null : JSON.parse(rows[0]!.data);
    },
    set: (sid, data) => send(sql.write, [sid, JSON.stringify(data), expiresAtOf(data), Date.now(), null, null]),
    touch: (sid, data) => send(sql.extend, [sid, expiresAtOf(data), Date.now(), null]),
    destroy: (sid) => {
      const now = Date.now();
      return send(sql.entomb!, [sid, now + DEFAULT_TOMBSTONE_TTL_MS, now]);
    },
    async teardown() {
      await schema.drop();
      await pool.end();
    },
  };
}

/**
 * Fills a table with PRUNE_ROWS expired sessions among PRUNE_LIVE_ROWS live ones, lets one
 * PostgresStore prune it, and times the whole run and every statement of it.
 */
export async function measurePrune(): Promise<string[]> {
  const pool = new Pool(POOL);
  const schema = await scratchSchema(pool, 'prune');
  try {
    const now = Date.now();
    const store = storeOn({ pool, schemaName: schema.name, pruneInterval: 0, pruneBatchSize: PRUNE_BATCH_SIZE, operationTimeout: 60_000 }, { now: () => now });
    await store.length();
    const table = `"${schema.name}"."express_sessions"`;
    await pool.query(`INSERT INTO ${table} (sid, expires_at, data) SELECT md5(g::text), $1::bigint - g, $2 FROM generate_series(1, $3::int) g`, [now, PRUNE_PAYLOAD, PRUNE_ROWS]);
    await pool.query(`INSERT INTO ${table} (sid, expires_at, data) SELECT 'live-' || g, $1::bigint + g, $2 FROM generate_series(1, $3::int) g`, [now, PRUNE_PAYLOAD, PRUNE_LIVE_ROWS]);
    await pool.query(`VACUUM ANALYZE ${table}`);
    // The fill writes about half a gigabyte of WAL, enough to start a checkpoint whose fsyncs would
    // stall the prune's statements (and any other writer's) for a few hundred milliseconds: it is
    // done before the prune starts. CHECKPOINT needs a superuser or pg_checkpoint; without one the
    // line says that the prune may run into the fill's checkpoint.
    const checkpointed = await pool.query('CHECKPOINT').then(
      () => true,
      () => false,
    );

    const statements = new StatementTimes();
    const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<unknown>;
    (pool as unknown as { query: unknown }).query = (...args: unknown[]) => statements.time(() => query(...args));
    return await measuredPrune({
      store,
      statements,
      statementKind: 'statements',
      batchSize: PRUNE_BATCH_SIZE,
      expiredRows: PRUNE_ROWS,
      liveRows: PRUNE_LIVE_ROWS,
      note: checkpointed ? 'CHECKPOINT after the fill' : 'no CHECKPOINT after the fill (it needs a superuser or pg_checkpoint): the prune may meet the checkpoint the fill started',
      async countLeft() {
        (pool as unknown as { query: unknown }).query = query;
        return Number((await pool.query<{ count: string }>(`SELECT count(*) FROM ${table}`)).rows[0]!.count);
      },
    });
  } finally {
    await schema.drop();
    await pool.end();
  }
}

/** A table holding `crowd` sessions of other users, ten each, written in one statement. */
async function crowdedStore(crowd: number): Promise<CrowdedStore> {
  const pool = new Pool(POOL);
  const schema = await scratchSchema(pool, 'users');
  const store = storeOn({ pool, schemaName: schema.name, pruneInterval: 0, userOf, operationTimeout: 60_000 });
  const drop = async () => {
    await store.close();
    await schema.drop();
    await pool.end();
  };
  try {
    await store.length();
    const [before, after] = JSON.stringify({ ...makeSession(200), user: { id: '#' } }).split('"#"');
    await pool.query(
      `INSERT INTO "${schema.name}"."express_sessions" (sid, expires_at, data, created_at, owner)
       SELECT 'crowd-' || g, $1::bigint, $2 || (g % $4::int) || $3, $5::bigint, (g % $4::int)::text FROM generate_series(1, $6::int) g`,
      [Date.now() + 86_400_000, before, after, crowd / 10, Date.now(), crowd],
    );
    await pool.query(`VACUUM ANALYZE "${schema.name}"."express_sessions"`);
    return { store, drop };
  } catch (error) {
    await drop();
    throw error;
  }
}

export default async function postgresSuite(): Promise<BenchSuite> {
  const probe = new Pool({ ...POOL, max: 1 });
  let server: string;
  try {
    server = (await probe.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version;
  } finally {
    await probe.end();
  }
  const driver = (require('pg/package.json') as { version: string }).version;
  const alternative = (require('connect-pg-simple/package.json') as { version: string }).version;
  const prune = pruneSkipped() ?? (await measurePrune());
  const userIndex = await measureUserIndex(crowdedStore);
  return {
    name: 'postgres',
    contenders: [
      ...withAtRestVariants('PostgresStore', ours),
      { ...ours('PostgresStore + userOf', { userOf }), baseline: 'PostgresStore' },
      connectPgSimple(),
      rawFloor(),
    ],
    targets: [
      ...(['get', 'set', 'touch', 'destroy'] as const).map((operation) => ({ operation, against: 'connect-pg-simple', atLeast: 1 })),
      ...(['get', 'set', 'touch', 'destroy'] as const).map((operation) => ({ operation, against: 'raw pg', atLeast: 1 / 1.15 })),
    ],
    notes: [
      `PostgreSQL ${server} at ${URL.replace(/\/\/[^@]*@/, '//')}, pg ${driver}, connect-pg-simple ${alternative}, each contender on its own pg.Pool of ${POOL.max} connections`,
      ...prune,
      ...userIndex,
      AT_REST_NOTE,
      'userOf variant: every session of the bench is one user\'s (makeSession\'s user.id), so each set writes that owner and updates the owner index',
    ],
  };
}
