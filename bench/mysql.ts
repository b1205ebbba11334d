import { randomBytes } from 'node:crypto';
import session, { type SessionData } from 'express-session';
import mysql, { type Pool, type PoolOptions } from 'mysql2';
import { DEFAULT_TOMBSTONE_TTL_MS } from '../shared';
import type { MySqlStore, MySqlStoreOptions } from '../stores/mysql';
import { storeOn } from '../stores/mysql/fixtures/factory';
import { statementsFor } from '../stores/mysql/schema';
import { AT_REST_NOTE, withAtRestVariants } from './at-rest';
import { callbackOperationsOf, makeSession, operationsOf, type BenchSuite, type CallbackStore, type Contender } from './harness';
import { measureUserIndex, userOf, type CrowdedStore } from './user-index';
import { PRUNE_LIVE_ROWS, PRUNE_PAYLOAD, PRUNE_ROWS, StatementTimes, measuredPrune, pruneSkipped } from './prune';

type ExpressMySqlSessionClass = new (options: {
  host: string;
  port: number;
  user: string;
  password?: string;
  database: string;
  connectionLimit: number;
  clearExpired: false;
}) => CallbackStore & { onReady(): Promise<void>; close(): Promise<void> };

const URL_TEXT = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
// Every contender gets the same kind of pool: mysql2's default of 10 connections plus headroom for concurrency 64.
const CONNECTIONS = 16;
const PRUNE_BATCH_SIZE = 500;
const INSERT_CHUNK = 5000;

const poolOptions = (uri: string): PoolOptions => ({ uri, connectionLimit: CONNECTIONS });
const ended = (pool: Pool) => new Promise((resolve) => pool.end(resolve));

/** A database of its own per contender, dropped at teardown. */
async function scratchDatabase(label: string): Promise<{ uri: string; drop: () => Promise<void> }> {
  const name = `ss_bench_${label}_${randomBytes(3).toString('hex')}`;
  const admin = mysql.createPool({ uri: URL_TEXT, connectionLimit: 1 }).promise();
  await admin.query(`CREATE DATABASE \`${name}\``);
  const uri = new URL(URL_TEXT);
  uri.pathname = `/${name}`;
  return {
    uri: uri.toString(),
    drop: async () => {
      await admin.query(`DROP DATABASE \`${name}\``);
      await admin.end();
    },
  };
}

/**
 * MySqlStore as is, and with `touchAfter: 1000`: express-mysql-session stores whole seconds, so
 * most of its touches set the value already stored and InnoDB writes nothing; touchAfter is how
 * MySqlStore skips those writes, while keeping the expiry exact to the millisecond.
 */
function ours(name: string, options: Pick<MySqlStoreOptions, 'touchAfter' | 'hashIds' | 'encryptionKeys' | 'userOf'>): Contender {
  let pool: Pool;
  let database: Awaited<ReturnType<typeof scratchDatabase>>;
  let store: MySqlStore;
  return {
    name,
    kind: 'ours',
    async setup() {
      database = await scratchDatabase('ours');
      pool = mysql.createPool(poolOptions(database.uri));
      store = storeOn({ pool, pruneInterval: 0, ...options });
      await store.length();
    },
    ...operationsOf(() => store),
    async teardown() {
      await store.close();
      await ended(pool);
      await database.drop();
    },
  };
}

/** express-mysql-session as its README configures it, with a pool of the same size. */
function expressMySqlSession(): Contender {
  let database: Awaited<ReturnType<typeof scratchDatabase>>;
  let store: InstanceType<ExpressMySqlSessionClass>;
  const operations = callbackOperationsOf(() => store);
  return {
    name: 'express-mysql-session',
    kind: 'alternative',
    async setup() {
      database = await scratchDatabase('ems');
      const uri = new URL(database.uri);
      const Store = (require('express-mysql-session') as (s: typeof session) => ExpressMySqlSessionClass)(session);
      store = new Store({
        host: uri.hostname,
        port: Number(uri.port || 3306),
        user: decodeURIComponent(uri.username),
        ...(uri.password && { password: decodeURIComponent(uri.password) }),
        database: uri.pathname.slice(1),
        connectionLimit: CONNECTIONS,
        clearExpired: false,
      });
      await store.onReady();
    },
    ...operations,
    async teardown() {
      await store.close();
      await database.drop();
    },
  };
}

/** MySqlStore's own statements, sent by hand through mysql2's callback pool on the same kind of pool. */
function rawFloor(): Contender {
  let pool: Pool;
  let database: Awaited<ReturnType<typeof scratchDatabase>>;
  const sql = statementsFor('session-stores', 'express_sessions');
  const send = (text: string, values: (string | number | null)[]) =>
    new Promise<unknown>((resolve, reject) => pool.execute(text, values, (error, result) => (error ? reject(error) : resolve(result))));
  const expiresAtOf = (data: SessionData) => Date.parse(data.cookie.expires as unknown as string);
  return {
    name: 'raw mysql2',
    kind: 'floor',
    async setup() {
      database = await scratchDatabase('raw');
      pool = mysql.createPool(poolOptions(database.uri));
      await send(sql.createTable, []);
    },
    async get(sid) {
      const rows = (await send(sql.read, [sid, Date.now()])) as { data: string }[];
      return rows.length === 0 ? null : JSON.parse(rows[0]!.data);
    },
    set: (sid, data) => send(sql.write, [sid, JSON.stringify(data), expiresAtOf(data), Date.now(), null, null]),
    touch: (sid, data) => send(sql.extend, [expiresAtOf(data), null, expiresAtOf(data), sid, Date.now()]),
    destroy: (sid) => {
      const now = Date.now();
      return send(sql.entomb!, [sid, now + DEFAULT_TOMBSTONE_TTL_MS, now]);
    },
    async teardown() {
      await ended(pool);
      await database.drop();
    },
  };
}

/**
 * Fills a table with PRUNE_ROWS expired sessions among PRUNE_LIVE_ROWS live ones, lets one
 * MySqlStore prune it, and times the whole run and every DELETE of it.
 */
export async function measurePrune(): Promise<string[]> {
  const database = await scratchDatabase('prune');
  const pool = mysql.createPool(poolOptions(database.uri));
  const promised = pool.promise();
  try {
    const now = Date.now();
    const store = storeOn({ pool, pruneInterval: 0, pruneBatchSize: PRUNE_BATCH_SIZE, operationTimeout: 60_000 }, { now: () => now });
    await store.length();
    const rows = (count: number, sid: (i: number) => string, expiresAt: (i: number) => number) => {
      const chunks: unknown[][][] = [];
      for (let start = 0; start < count; start += INSERT_CHUNK) {
        chunks.push(Array.from({ length: Math.min(INSERT_CHUNK, count - start) }, (_, k) => [sid(start + k), expiresAt(start + k), PRUNE_PAYLOAD]));
      }
      return chunks;
    };
    const insert = 'INSERT INTO express_sessions (sid, expires_at, data) VALUES ?';
    for (const chunk of rows(PRUNE_ROWS, (i) => `expired-${i}`, (i) => now - 1 - (i % 100_000))) await promised.query(insert, [chunk]);
    for (const chunk of rows(PRUNE_LIVE_ROWS, (i) => `live-${i}`, (i) => now + 1 + i)) await promised.query(insert, [chunk]);
    await promised.query('ANALYZE TABLE express_sessions');

    const statements = new StatementTimes();
    const timed = new WeakSet<object>();
    const getConnection = pool.getConnection.bind(pool);
    (pool as unknown as { getConnection: unknown }).getConnection = (done: (error: unknown, connection: mysql.PoolConnection) => void) =>
      getConnection((error, connection) => {
        // The pool hands out the same connections again: each is wrapped once.
        if (error || timed.has(connection)) return done(error, connection);
        timed.add(connection);
        const query = connection.query.bind(connection) as (...args: unknown[]) => unknown;
        (connection as unknown as { query: unknown }).query = (sql: unknown, values: unknown[], callback: (...results: unknown[]) => void) => {
          // The pool's own query() hands a connection a Query object; the store's prune sends SQL text.
          if (typeof sql !== 'string' || !sql.startsWith('DELETE')) return query(sql, values, callback);
          const finish = statements.start();
          return query(sql, values, (...results: unknown[]) => {
            finish();
            callback(...results);
          });
        };
        done(null, connection);
      });
    return await measuredPrune({
      store,
      statements,
      statementKind: 'DELETEs',
      batchSize: PRUNE_BATCH_SIZE,
      expiredRows: PRUNE_ROWS,
      liveRows: PRUNE_LIVE_ROWS,
      async countLeft() {
        const [[{ left }]] = (await promised.query('SELECT COUNT(*) AS `left` FROM express_sessions')) as unknown as [[{ left: number }]];
        return Number(left);
      },
    });
  } finally {
    await ended(pool);
    await database.drop();
  }
}

/** A database holding `crowd` sessions of other users, ten each. */
async function crowdedStore(crowd: number): Promise<CrowdedStore> {
  const database = await scratchDatabase('users');
  const pool = mysql.createPool(poolOptions(database.uri));
  const store = storeOn({ pool, pruneInterval: 0, userOf, operationTimeout: 60_000 });
  const drop = async () => {
    await store.close();
    await ended(pool);
    await database.drop();
  };
  try {
    await store.length();
    const expiresAt = Date.now() + 86_400_000;
    for (let start = 0; start < crowd; start += INSERT_CHUNK) {
      const rows = Array.from({ length: Math.min(INSERT_CHUNK, crowd - start) }, (_, k) => {
        const user = (start + k) % (crowd / 10);
        return [`crowd-${start + k}`, expiresAt, JSON.stringify({ ...makeSession(200), user: { id: user } }), Date.now(), String(user)];
      });
      await pool.promise().query('INSERT INTO express_sessions (sid, expires_at, data, created_at, owner) VALUES ?', [rows]);
    }
    await pool.promise().query('ANALYZE TABLE express_sessions');
    return { store, drop };
  } catch (error) {
    await drop();
    throw error;
  }
}

export default async function mysqlSuite(): Promise<BenchSuite> {
  const probe = mysql.createPool({ uri: URL_TEXT, connectionLimit: 1 }).promise();
  let server: string;
  try {
    const [[{ version }]] = (await probe.query('SELECT VERSION() AS version')) as unknown as [[{ version: string }]];
    server = version;
  } finally {
    await probe.end();
  }
  const driver = (require('mysql2/package.json') as { version: string }).version;
  const alternative = (require('express-mysql-session/package.json') as { version: string }).version;
  const prune = pruneSkipped() ?? (await measurePrune());
  const userIndex = await measureUserIndex(crowdedStore);
  return {
    name: 'mysql',
    contenders: [
      ...withAtRestVariants('MySqlStore', ours),
      { ...ours('MySqlStore + userOf', { userOf }), baseline: 'MySqlStore' },
      ours('MySqlStore touchAfter=1000', { touchAfter: 1000 }),
      expressMySqlSession(),
      rawFloor(),
    ],
    targets: [
      ...(['get', 'set', 'touch', 'destroy'] as const).map((operation) => ({ operation, against: 'express-mysql-session', atLeast: 1 })),
      ...(['get', 'set', 'touch', 'destroy'] as const).map((operation) => ({ operation, against: 'raw mysql2', atLeast: 1 / 1.15 })),
    ],
    notes: [
      `${server} at ${URL_TEXT.replace(/\/\/[^@]*@/, '//')}, mysql2 ${driver}, express-mysql-session ${alternative}, each contender on a pool of ${CONNECTIONS} connections in a database of its own`,
      ...prune,
      ...userIndex,
      AT_REST_NOTE,
      'userOf variant: every session of the bench is one user\'s (makeSession\'s user.id), so each set writes that owner and updates the owner index',
    ],
  };
}
