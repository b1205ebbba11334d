import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import { BSON, MongoClient } from 'mongodb';
import { Pool } from 'pg';
import type { BaseStoreOptions, LifetimeOptions, SessionStore, UserIndexOptions } from '../../shared';
import { MemoryStore } from '../../stores/memory';
import { storeOn as mongoStoreOn } from '../../stores/mongo/fixtures/factory';
import { createScratchDatabase, storeOn as mysqlStoreOn } from '../../stores/mysql/fixtures/factory';
import { storeOn as postgresStoreOn } from '../../stores/postgres/fixtures/factory';
import { openIORedis, openNodeRedis, storeOn as redisStoreOn, type OpenedClient } from '../../stores/redis/fixtures/factory';
import { storeOn as sqliteStoreOn } from '../../stores/sqlite/fixtures/factory';
import { describeBackend, type BackendName } from './backends';
import { createScratchSchema } from './postgres-servers';

/** The options a test varies (at rest, and the clock, touchAfter and maxLifetime); everything else is the store's default. */
export type AtRestOptions = Pick<BaseStoreOptions, 'hashIds' | 'encryptionKeys' | 'onCorrupt' | 'now' | 'touchAfter'> & Pick<UserIndexOptions, 'userOf'> & LifetimeOptions;

/** One record as the backend holds it: the id it is stored under (below the namespace) and its stored payload. */
export interface RawRecord {
  storageId: string;
  payload: string;
}

/** Everything the backend holds in the test's scratch place, read with the backend's own client, outside any store. */
export interface RawDump {
  /** All of it as one text (keys, values, columns, documents; for SQLite the bytes of its files), to search for what must not be there. */
  text: string;
  /** The session records in it. */
  records: RawRecord[];
}

export interface OpenedStore {
  store: SessionStore;
  /** Closes the store, and the client opened for it. */
  close(): Promise<void>;
}

/** One backend's scratch place (a file, a key prefix, a schema, a database): stores opened on it share it, until `drop`. */
export interface RawBackend {
  openStore(options: AtRestOptions): Promise<OpenedStore>;
  dump(): Promise<RawDump>;
  /** Removes the scratch place and what this backend opened, and nothing else. */
  drop(): Promise<void>;
}

export interface RawBackendKind {
  /** The store, and the client where a store has several. */
  name: string;
  /** Whose server the tests find; none for MemoryStore. */
  backend?: BackendName;
  /** Whether a store opened later on the same place finds the sessions of one closed before (not MemoryStore's: they are its own). */
  outlivesStore: boolean;
  open(url: string): Promise<RawBackend>;
}

const textOf = (value: unknown): string => (Buffer.isBuffer(value) ? value.toString('utf8') : value instanceof Date ? value.toISOString() : String(value));

/** The private map of the MemoryStore opened last: a MemoryStore's backend is its own object. */
function memoryBackend(): RawBackend {
  let last: SessionStore | undefined;
  return {
    async openStore(options) {
      const store = new MemoryStore(options);
      last = store;
      return { store, close: () => store.close() };
    },
    async dump() {
      const map = (last as unknown as { records: Map<string, { payload: string; expiresAt: number }> } | undefined)?.records ?? new Map();
      const records = [...map].map(([key, { payload }]) => ({ storageId: key, payload }));
      return { text: JSON.stringify([...map]), records };
    },
    async drop() {
      await last?.close();
    },
  };
}

/** A database file of its own; the dump is the bytes of the file and of its write-ahead log, and the rows through a connection of its own. */
function sqliteBackend(): RawBackend {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'session-stores-at-rest-'));
  const filename = path.join(dir, 'sessions.db');
  return {
    async openStore(options) {
      const store = sqliteStoreOn({ filename, ...options });
      return { store, close: () => store.close() };
    },
    async dump() {
      const bytes = [filename, `${filename}-wal`].filter((file) => fs.existsSync(file)).map((file) => fs.readFileSync(file).toString('latin1'));
      const reader = new Database(filename, { readonly: true });
      try {
        const rows = reader.prepare('SELECT sid, sess FROM sessions').all() as Array<{ sid: string; sess: string }>;
        return { text: bytes.join('\n'), records: rows.map((row) => ({ storageId: row.sid, payload: row.sess })) };
      } finally {
        reader.close();
      }
    },
    async drop() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A key prefix of its own; each store on a client `open` gives; the dump SCANs the prefix and reads every key by its type. */
function redisBackend(url: string, open: (url: string) => Promise<OpenedClient> | OpenedClient): RawBackend {
  const prefix = `test:at-rest:${randomBytes(6).toString('hex')}:`;
  const raw = new Redis(url);
  // The sessions, and the user index beside them (RedisStore's default userIndexPrefix).
  const keysUnderPrefix = async () => {
    const keys: string[] = [];
    for (const pattern of [`${prefix}*`, `by-user:${prefix}*`]) {
      let cursor = '0';
      do {
        const [next, batch] = await raw.scan(cursor, 'MATCH', pattern, 'COUNT', 100);
        keys.push(...batch);
        cursor = next;
      } while (cursor !== '0');
    }
    return keys;
  };
  const valueOf = async (key: string): Promise<{ type: string; value: unknown }> => {
    const type = await raw.type(key);
    if (type === 'string') return { type, value: await raw.get(key) };
    if (type === 'hash') return { type, value: await raw.hgetall(key) };
    if (type === 'set') return { type, value: await raw.smembers(key) };
    if (type === 'zset') return { type, value: await raw.zrange(key, '0', '-1', 'WITHSCORES') };
    if (type === 'list') return { type, value: await raw.lrange(key, 0, -1) };
    // A key the dump cannot show would pass for a key that holds nothing.
    throw new Error(`the dump cannot read a Redis key of type ${type}`);
  };
  return {
    async openStore(options) {
      const client = await open(url);
      const store = redisStoreOn({ client: client.client, prefix, ...options });
      return {
        store,
        close: async () => {
          await store.close();
          await client.close();
        },
      };
    },
    async dump() {
      const entries = await Promise.all((await keysUnderPrefix()).map(async (key) => ({ key, ...(await valueOf(key)) })));
      return {
        text: JSON.stringify(entries),
        // The session a value holds comes after the head that keeps its creation instant (\x01<ms>\x01).
        records: entries
          .filter((entry) => entry.type === 'string' && entry.key.startsWith(prefix))
          .map((entry) => ({ storageId: entry.key.slice(prefix.length), payload: String(entry.value).replace(/^\u0001\d+\u0001/, '') })),
      };
    },
    async drop() {
      const keys = await keysUnderPrefix();
      if (keys.length > 0) await raw.unlink(...keys);
      await raw.quit();
    },
  };
}

/** A schema of its own; the dump is `SELECT *` of every table in it. */
async function postgresBackend(url: string): Promise<RawBackend> {
  const admin = new Pool({ connectionString: url, max: 1 });
  const schema = await createScratchSchema(admin, 'at_rest');
  return {
    async openStore(options) {
      const store = postgresStoreOn({ connectionString: url, schemaName: schema.name, pruneInterval: 0, ...options });
      return { store, close: () => store.close() };
    },
    async dump() {
      const { rows: tables } = await admin.query<{ table_name: string }>('SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name', [schema.name]);
      const dumped: Record<string, unknown[]> = {};
      for (const { table_name: table } of tables) dumped[table] = (await admin.query(`SELECT * FROM "${schema.name}"."${table}"`)).rows;
      const sessions = (dumped.express_sessions ?? []) as Array<{ sid: string; data: string }>;
      return { text: JSON.stringify(dumped), records: sessions.map((row) => ({ storageId: row.sid, payload: row.data })) };
    },
    async drop() {
      try {
        await schema.drop();
      } finally {
        await admin.end();
      }
    },
  };
}

/** A database of its own; the dump is `SELECT *` of every table in it, binary columns read as UTF-8. */
async function mysqlBackend(url: string): Promise<RawBackend> {
  const database = await createScratchDatabase(url, 'at_rest');
  return {
    async openStore(options) {
      const store = mysqlStoreOn({ uri: database.url, pruneInterval: 0, ...options });
      return { store, close: () => store.close() };
    },
    async dump() {
      const [tables] = (await database.pool.query('SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY table_name')) as unknown as [Array<{ name: string }>];
      const dumped: Record<string, Array<Record<string, string>>> = {};
      for (const { name } of tables) {
        const [rows] = (await database.pool.query(`SELECT * FROM \`${name}\``)) as unknown as [Array<Record<string, unknown>>];
        dumped[name] = rows.map((row) => Object.fromEntries(Object.entries(row).map(([column, value]) => [column, textOf(value)])));
      }
      const sessions = dumped.express_sessions ?? [];
      return { text: JSON.stringify(dumped), records: sessions.map((row) => ({ storageId: row.sid!, payload: row.data! })) };
    },
    drop: () => database.drop(),
  };
}

/** A database of its own; the dump is every document of every collection in it, as EJSON. */
async function mongoBackend(url: string): Promise<RawBackend> {
  const dbName = `session_stores_at_rest_${randomBytes(4).toString('hex')}`;
  const client = new MongoClient(url);
  const db = client.db(dbName);
  return {
    async openStore(options) {
      const store = mongoStoreOn({ url, dbName, ...options });
      return { store, close: () => store.close() };
    },
    async dump() {
      const dumped: Record<string, unknown[]> = {};
      for (const { name } of await db.listCollections({}, { nameOnly: true }).toArray()) dumped[name] = await db.collection(name).find().toArray();
      const sessions = (dumped.sessions ?? []) as Array<{ _id: string; session: string }>;
      return { text: BSON.EJSON.stringify(dumped, { relaxed: false }), records: sessions.map((document) => ({ storageId: document._id, payload: document.session })) };
    },
    async drop() {
      try {
        await db.dropDatabase();
      } finally {
        await client.close();
      }
    },
  };
}

/** Every store of this package on its backend, RedisStore on each client it takes. */
export const RAW_BACKENDS: readonly RawBackendKind[] = [
  { name: 'MemoryStore (the dump: its private map)', outlivesStore: false, open: async () => memoryBackend() },
  { name: 'SqliteStore', backend: 'sqlite', outlivesStore: true, open: async () => sqliteBackend() },
  { name: 'RedisStore (ioredis)', backend: 'redis', outlivesStore: true, open: async (url) => redisBackend(url, openIORedis) },
  { name: 'RedisStore (node-redis)', backend: 'redis', outlivesStore: true, open: async (url) => redisBackend(url, (at) => openNodeRedis(at)) },
  { name: 'PostgresStore', backend: 'postgres', outlivesStore: true, open: postgresBackend },
  { name: 'MySqlStore', backend: 'mysql', outlivesStore: true, open: mysqlBackend },
  { name: 'MongoStore', backend: 'mongo', outlivesStore: true, open: mongoBackend },
];

/**
 * `describe` per backend kind, each on the server the test setup found (its title then names that
 * server: FerretDB for Mongo here), with a fresh scratch place per test, dropped after it. A kind
 * without a server reports one skipped case (and REQUIRE_BACKENDS fails the run in the test setup).
 */
export function describeEachRawBackend(kinds: readonly RawBackendKind[], body: (kind: RawBackendKind, backend: () => RawBackend) => void): void {
  for (const kind of kinds) {
    const withUrl = (url: string) => {
      let backend: RawBackend | undefined;
      beforeEach(async () => {
        backend = await kind.open(url);
      });
      afterEach(async () => {
        const opened = backend;
        backend = undefined;
        await opened?.drop();
      });
      body(kind, () => backend!);
    };
    if (kind.backend === undefined) describe(kind.name, () => withUrl(''));
    else describeBackend(kind.backend, kind.name, withUrl);
  }
}
