import path from 'node:path';
import session, { type SessionData, type Store } from 'express-session';
import type { LoadResult } from './http-load';

/** How a contender's app process builds its store: which builder, and the scratch names the bench made for it. */
export interface AppSpec {
  name: string;
  /** `driver`: the store a user could write on the same client by hand, which ours is also set against. */
  kind: 'ours' | 'anchor' | 'floor' | 'driver';
  /** For a `driver`: the build of ours that runs on its client. */
  driverFor?: Build;
  build: Build;
  config: {
    touchAfter?: number;
    filename?: string;
    url?: string;
    prefix?: string;
    schemaName?: string;
    applicationName?: string;
    database?: string;
    dbName?: string;
    collectionName?: string;
    lacksTtl?: boolean;
  };
  /** The driver whose statements the app counts as round trips, where the server gives no count of its own. */
  countQueries?: 'pg' | 'mysql2' | 'better-sqlite3';
}

export type Build =
  | 'floor'
  | 'memory'
  | 'express-session-memory'
  | 'sqlite'
  | 'better-sqlite3-session-store'
  | 'redis-ioredis'
  | 'redis-node-redis'
  | 'ioredis-by-hand'
  | 'connect-redis'
  | 'postgres'
  | 'connect-pg-simple'
  | 'mysql'
  | 'express-mysql-session'
  | 'mongo'
  | 'connect-mongo';

export interface OpenStore {
  store: Store;
  close(): Promise<void>;
}

export const STORE_CALLS = ['get', 'set', 'touch', 'destroy'] as const;
export type StoreCall = (typeof STORE_CALLS)[number];

export interface AppStats {
  type: 'stats';
  requests: number;
  calls: Record<StoreCall, number>;
  /** Statements sent through the counted driver, when the spec names one. */
  statements?: number;
  cpuUs: number;
}

export type AppMessage = { type: 'ready'; port: number; pid: number } | AppStats | LoadResult | { type: 'profiling' } | { type: 'stopped' } | { type: 'error'; message: string };

/** Each pool of the Postgres and MySQL contenders: the same size for all, as in bench/postgres.ts and bench/mysql.ts. */
export const POOL_CONNECTIONS = 16;

/**
 * express-session with the least a store can do: a Map of JSON strings in the app process (JSON so
 * that, as in every real store, a request never shares the object another one saved).
 */
class MapStore extends session.Store {
  private readonly sessions = new Map<string, string>();

  override get(sid: string, callback: (error: unknown, session?: SessionData | null) => void): void {
    const text = this.sessions.get(sid);
    callback(null, text === undefined ? null : (JSON.parse(text) as SessionData));
  }

  override set(sid: string, data: SessionData, callback?: (error?: unknown) => void): void {
    this.sessions.set(sid, JSON.stringify(data));
    callback?.();
  }

  override touch(sid: string, data: SessionData, callback?: () => void): void {
    if (this.sessions.has(sid)) this.sessions.set(sid, JSON.stringify(data));
    callback?.();
  }

  override destroy(sid: string, callback?: (error?: unknown) => void): void {
    this.sessions.delete(sid);
    callback?.();
  }
}

/**
 * A store written by hand on ioredis with its own methods: connect-redis' commands (GET, SET … PX,
 * PEXPIRE, DEL), as connect-redis did on ioredis up to its version 7. What any store on ioredis
 * pays for the client.
 */
class IORedisByHand extends session.Store {
  constructor(
    private readonly client: import('ioredis').Redis,
    private readonly prefix: string,
  ) {
    super();
  }

  private ttlMs(data: SessionData): number {
    const expires = data.cookie?.expires;
    return expires ? Math.max(1, new Date(expires).getTime() - Date.now()) : 86_400_000;
  }

  override get(sid: string, callback: (error: unknown, session?: SessionData | null) => void): void {
    this.client.get(this.prefix + sid).then(
      (text) => callback(null, text === null ? null : (JSON.parse(text) as SessionData)),
      (error: unknown) => callback(error),
    );
  }

  override set(sid: string, data: SessionData, callback?: (error?: unknown) => void): void {
    this.client.set(this.prefix + sid, JSON.stringify(data), 'PX', this.ttlMs(data)).then(
      () => callback?.(),
      (error: unknown) => callback?.(error),
    );
  }

  override touch(sid: string, data: SessionData, callback?: (error?: unknown) => void): void {
    this.client.pexpire(this.prefix + sid, this.ttlMs(data)).then(
      () => callback?.(),
      (error: unknown) => callback?.(error),
    );
  }

  override destroy(sid: string, callback?: (error?: unknown) => void): void {
    this.client.del(this.prefix + sid).then(
      () => callback?.(),
      (error: unknown) => callback?.(error),
    );
  }
}

const withTouchAfter = (config: AppSpec['config']) => (config.touchAfter === undefined ? {} : { touchAfter: config.touchAfter });

function required<K extends keyof AppSpec['config']>(spec: AppSpec, key: K): NonNullable<AppSpec['config'][K]> {
  const value = spec.config[key];
  if (value === undefined) throw new Error(`${spec.name}: the bench gave no ${key}`);
  return value as NonNullable<AppSpec['config'][K]>;
}

/** Builds the contender's store in the app process, each as its own README sets it up, on the bench's scratch names. */
export async function openContender(spec: AppSpec): Promise<OpenStore> {
  switch (spec.build) {
    case 'floor':
      return { store: new MapStore(), close: async () => undefined };
    case 'memory': {
      const { MemoryStore } = await import('../stores/memory');
      const store = new MemoryStore(withTouchAfter(spec.config));
      return { store, close: () => store.close() };
    }
    case 'express-session-memory':
      return { store: new session.MemoryStore(), close: async () => undefined };
    case 'sqlite': {
      const { SqliteStore } = await import('../stores/sqlite');
      const store = new SqliteStore({ filename: required(spec, 'filename'), ...withTouchAfter(spec.config) });
      return { store, close: () => store.close() };
    }
    case 'better-sqlite3-session-store': {
      const Database = (await import('better-sqlite3')).default;
      const db = new Database(required(spec, 'filename'));
      type Options = { client: InstanceType<typeof Database>; expired: { clear: boolean; intervalMs: number } };
      const Store = (require('better-sqlite3-session-store') as (s: typeof session) => new (options: Options) => Store)(session);
      return { store: new Store({ client: db, expired: { clear: true, intervalMs: 900_000 } }), close: async () => void db.close() };
    }
    case 'redis-ioredis': {
      const { RedisStore } = await import('../stores/redis');
      const store = new RedisStore({ url: required(spec, 'url'), prefix: required(spec, 'prefix'), ...withTouchAfter(spec.config) });
      return { store, close: () => store.close() };
    }
    case 'redis-node-redis': {
      const { RedisStore } = await import('../stores/redis');
      const { createClient } = await import('redis');
      const client = createClient({ url: required(spec, 'url') });
      await client.connect();
      const store = new RedisStore({ client, prefix: required(spec, 'prefix'), ...withTouchAfter(spec.config) });
      return {
        store,
        close: async () => {
          await store.close();
          await client.quit();
        },
      };
    }
    case 'ioredis-by-hand': {
      const { Redis } = await import('ioredis');
      const client = new Redis(required(spec, 'url'));
      await client.ping();
      return { store: new IORedisByHand(client, required(spec, 'prefix')), close: async () => void (await client.quit()) };
    }
    case 'connect-redis': {
      const { RedisStore } = await import('connect-redis');
      const { createClient } = await import('redis');
      const client = createClient({ url: required(spec, 'url') });
      await client.connect();
      return { store: new RedisStore({ client, prefix: required(spec, 'prefix') }), close: async () => void (await client.quit()) };
    }
    case 'postgres':
    case 'connect-pg-simple': {
      const { Pool } = await import('pg');
      // Idle connections stay open between rounds, so that no round pays for reconnecting and the server's backends can be read.
      const pool = new Pool({ connectionString: required(spec, 'url'), application_name: required(spec, 'applicationName'), max: POOL_CONNECTIONS, idleTimeoutMillis: 0 });
      const schemaName = required(spec, 'schemaName');
      if (spec.build === 'postgres') {
        const { PostgresStore } = await import('../stores/postgres');
        const store = new PostgresStore({ pool, schemaName, ...withTouchAfter(spec.config) });
        await store.length();
        return {
          store,
          close: async () => {
            await store.close();
            await pool.end();
          },
        };
      }
      type Options = { pool: typeof pool; schemaName: string; createTableIfMissing: boolean };
      const Store = (require('connect-pg-simple') as (s: typeof session) => new (options: Options) => Store & { close(): Promise<void> })(session);
      const store = new Store({ pool, schemaName, createTableIfMissing: true });
      await new Promise((resolve) => store.get('create-table', resolve));
      return {
        store,
        close: async () => {
          await store.close();
          await pool.end();
        },
      };
    }
    case 'mysql': {
      const mysql = await import('mysql2');
      const { MySqlStore } = await import('../stores/mysql');
      const pool = mysql.createPool({ uri: required(spec, 'url'), connectionLimit: POOL_CONNECTIONS });
      const store = new MySqlStore({ pool, ...withTouchAfter(spec.config) });
      await store.length();
      return {
        store,
        close: async () => {
          await store.close();
          await new Promise((resolve) => pool.end(resolve));
        },
      };
    }
    case 'express-mysql-session': {
      const uri = new URL(required(spec, 'url'));
      type Options = { host: string; port: number; user: string; password?: string; database: string; connectionLimit: number };
      const Store = (require('express-mysql-session') as (s: typeof session) => new (options: Options) => Store & { onReady(): Promise<void>; close(): Promise<void> })(session);
      const store = new Store({
        host: uri.hostname,
        port: Number(uri.port || 3306),
        user: decodeURIComponent(uri.username),
        ...(uri.password && { password: decodeURIComponent(uri.password) }),
        database: uri.pathname.slice(1),
        connectionLimit: POOL_CONNECTIONS,
      });
      await store.onReady();
      return { store, close: () => store.close() };
    }
    case 'mongo': {
      const { MongoStore } = await import('../stores/mongo');
      const store = new MongoStore({ url: required(spec, 'url'), dbName: required(spec, 'dbName'), collectionName: required(spec, 'collectionName'), ...withTouchAfter(spec.config) });
      await store.length();
      return { store, close: () => store.close() };
    }
    case 'connect-mongo': {
      const ConnectMongo = (await import('connect-mongo')).default;
      const store = ConnectMongo.create({
        mongoUrl: required(spec, 'url'),
        dbName: required(spec, 'dbName'),
        collectionName: required(spec, 'collectionName'),
        ...(spec.config.lacksTtl ? { autoRemove: 'interval' as const } : {}),
      });
      await store.collectionP;
      return { store, close: () => store.close() };
    }
  }
}

/**
 * Counts the statements the app sends through `driver` (every copy of it installed: express-mysql-session
 * has its own mysql2), by wrapping the methods every pool ends in; returns the running count.
 */
export function countStatements(driver: NonNullable<AppSpec['countQueries']>): () => number {
  let count = 0;
  const wrap = (prototype: Record<string, unknown>, method: string) => {
    let owner: Record<string, unknown> | null = prototype;
    while (owner !== null && !Object.prototype.hasOwnProperty.call(owner, method)) owner = Object.getPrototypeOf(owner) as Record<string, unknown> | null;
    if (owner === null) throw new Error(`${driver} has no ${method} to count`);
    const original = owner[method] as (...args: unknown[]) => unknown;
    owner[method] = function counted(this: unknown, ...args: unknown[]) {
      count++;
      return original.apply(this, args);
    };
  };
  if (driver === 'pg') {
    wrap((require('pg') as { Client: { prototype: Record<string, unknown> } }).Client.prototype, 'query');
  } else if (driver === 'better-sqlite3') {
    // Statement is a native class that the package does not export: its prototype is that of any prepared statement.
    const Database = require('better-sqlite3') as new (filename: string) => { prepare(sql: string): object; close(): void };
    const scratch = new Database(':memory:');
    const prototype = Object.getPrototypeOf(scratch.prepare('SELECT 1')) as Record<string, unknown>;
    scratch.close();
    for (const method of ['run', 'get', 'all', 'iterate']) wrap(prototype, method);
  } else {
    const copies = new Set([require.resolve('mysql2'), require.resolve('mysql2', { paths: [path.dirname(require.resolve('express-mysql-session'))] })]);
    for (const copy of copies) {
      const { Connection } = require(copy) as { Connection: { prototype: Record<string, unknown> } };
      wrap(Connection.prototype, 'query');
      wrap(Connection.prototype, 'execute');
    }
  }
  return () => count;
}
