import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Store } from 'express-session';
import { factoryOf, loadStoreModule, type StoreModule } from '../conformance/cli';
import { callStore, hasMethod } from './calls';

/** The per-store flags a URL takes; each applies to some schemes only. */
export interface LocationFlags {
  /** Table of postgres://, mysql:// and sqlite: (each store's default otherwise). */
  table?: string;
  /** Key prefix of redis:// (default `sess:`). */
  prefix?: string;
  /** Collection of mongodb:// (default `sessions`). */
  collection?: string;
  /** A third-party layout our store reads and writes: connect-redis (redis), connect-pg-simple (postgres), express-mysql-session (mysql) or connect-mongo (mongodb). */
  compat?: string;
}

/** What the store is opened for: a tool that only reads or prunes creates no table, index or file. */
export type StoreRole = 'read' | 'write';

export interface OpenedStore {
  store: Store;
  /** The location as it may be printed: a URL's password masked. */
  label: string;
  close(): Promise<void>;
}

export class UsageError extends Error {}

const SCHEMES: Record<string, { kind: Kind; flags: Array<keyof LocationFlags> }> = {
  'redis:': { kind: 'redis', flags: ['prefix', 'compat'] },
  'rediss:': { kind: 'redis', flags: ['prefix', 'compat'] },
  'postgres:': { kind: 'postgres', flags: ['table', 'compat'] },
  'postgresql:': { kind: 'postgres', flags: ['table', 'compat'] },
  'mysql:': { kind: 'mysql', flags: ['table', 'compat'] },
  'mongodb:': { kind: 'mongo', flags: ['collection', 'compat'] },
  'mongodb+srv:': { kind: 'mongo', flags: ['collection', 'compat'] },
  'sqlite:': { kind: 'sqlite', flags: ['table'] },
};
type Kind = 'redis' | 'postgres' | 'mysql' | 'mongo' | 'sqlite';

const COMPAT: Partial<Record<Kind, string>> = { redis: 'connect-redis', postgres: 'connect-pg-simple', mysql: 'express-mysql-session', mongo: 'connect-mongo' };

/** A location is a URL when it starts with a scheme; anything else is the path of a factory module. */
export function isUrl(location: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(location) && !/^[a-z]:[\\/]/i.test(location);
}

/** The location with a URL's password, in its userinfo or as a `password=` parameter, replaced by `***`. */
export function printable(location: string): string {
  if (!isUrl(location)) return location;
  return location.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@/]*@/i, '$1***@').replace(/([?&]password=)[^&#]*/gi, '$1***');
}

/**
 * Opens the store a location names: a URL picks this package's store for its scheme, with that
 * store's default table, prefix or collection unless a flag names another; any other location is a
 * factory module in the conformance CLI's shape (default export or createStore).
 */
export async function openStore(location: string, flags: LocationFlags, role: StoreRole, now?: () => number): Promise<OpenedStore> {
  if (!isUrl(location)) return openModule(location, flags, now);
  const scheme = location.slice(0, location.indexOf(':') + 1).toLowerCase();
  const known = SCHEMES[scheme];
  if (!known) throw new UsageError(`${scheme} is no scheme of ours: use redis://, rediss://, postgres://, mysql://, mongodb:// or sqlite:<file>`);
  for (const flag of Object.keys(flags) as Array<keyof LocationFlags>) {
    if (flags[flag] !== undefined && !known.flags.includes(flag)) throw new UsageError(`--${flag} does not apply to a ${scheme}// location`);
  }
  if (flags.compat !== undefined && flags.compat !== COMPAT[known.kind]) {
    throw new UsageError(`--compat for ${scheme}// takes ${COMPAT[known.kind]}, got ${flags.compat}`);
  }
  const store = await storeFor(known.kind, location, flags, role, now);
  return { store, label: printable(location), close: () => callStore(store, 'close') };
}

async function storeFor(kind: Kind, url: string, flags: LocationFlags, role: StoreRole, now: (() => number) | undefined): Promise<Store> {
  const clock = now === undefined ? {} : { now };
  const creates = role === 'write';
  switch (kind) {
    case 'redis': {
      const { RedisStore } = await import('../stores/redis');
      return new RedisStore({
        url,
        ...(flags.prefix !== undefined && { prefix: flags.prefix }),
        ...(flags.compat !== undefined && { compat: 'connect-redis' as const }),
        ...clock,
      });
    }
    case 'postgres': {
      const { PostgresStore } = await import('../stores/postgres');
      return new PostgresStore({
        connectionString: url,
        createTable: creates,
        pruneInterval: 0,
        ...(flags.table !== undefined && { tableName: flags.table }),
        ...(flags.compat !== undefined && { compat: 'connect-pg-simple' as const }),
        ...clock,
      });
    }
    case 'mysql': {
      const { MySqlStore } = await import('../stores/mysql');
      return new MySqlStore({
        uri: url,
        createTable: creates,
        pruneInterval: 0,
        ...(flags.table !== undefined && { tableName: flags.table }),
        ...(flags.compat !== undefined && { compat: 'express-mysql-session' as const }),
        ...clock,
      });
    }
    case 'mongo': {
      const { MongoStore } = await import('../stores/mongo');
      return new MongoStore({
        url,
        createIndex: creates,
        pruneInterval: 0,
        ...(flags.collection !== undefined && { collectionName: flags.collection }),
        ...(flags.compat !== undefined && { compat: 'connect-mongo' as const }),
        ...clock,
      });
    }
    case 'sqlite': {
      const filename = url.slice('sqlite:'.length).replace(/^\/\//, '');
      if (filename === '') throw new UsageError('sqlite: needs a file, as sqlite:<file>');
      if (role === 'read' && !existsSync(filename)) throw new UsageError(`sqlite: ${filename} does not exist`);
      const { SqliteStore } = await import('../stores/sqlite');
      return new SqliteStore({ filename, pruneInterval: 0, ...(flags.table !== undefined && { tableName: flags.table }), ...clock });
    }
  }
}

async function openModule(location: string, flags: LocationFlags, now: (() => number) | undefined): Promise<OpenedStore> {
  const given = (Object.keys(flags) as Array<keyof LocationFlags>).find((flag) => flags[flag] !== undefined);
  if (given) throw new UsageError(`--${given} applies to a URL; a factory module chooses its own ${given}`);
  if (!existsSync(location)) throw new UsageError(`${location} is neither a URL of ours nor a file`);
  const loaded = await loadStoreModule(location);
  const mod = exportsOf(loaded);
  const factory = factoryOf(mod);
  if (!factory) throw new UsageError(`${location} exports no store factory (a default export or createStore)`);
  if (now !== undefined && mod.clock !== 'injectable') {
    throw new UsageError(`${location} does not declare clock: 'injectable', which counting expired sessions needs`);
  }
  const store = (await factory(now === undefined ? {} : { now })) as Store;
  if (store === null || typeof store !== 'object' || !hasMethod(store, 'get')) throw new UsageError(`${location}: its factory made no store`);
  // Its teardown is not run: a conformance factory's teardown may drop the tables it made.
  const close = async () => {
    if (mod.disposeStore) await mod.disposeStore(store);
    else if (hasMethod(store, 'close')) await callStore(store, 'close');
  };
  return { store, label: path.relative(process.cwd(), path.resolve(location)) || location, close };
}

/** Named exports, also when an ES module's CommonJS default carries them. */
function exportsOf(mod: StoreModule): StoreModule {
  const inner = mod.default;
  return inner && typeof inner === 'object' ? { ...(inner as StoreModule), ...mod } : mod;
}
