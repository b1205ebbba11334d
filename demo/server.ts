import type { Store } from 'express-session';
import type { BaseStoreOptions } from '../shared';
import { createApp, userOf } from './app';

type StoreKind = 'memory' | 'sqlite' | 'redis' | 'postgres' | 'mysql' | 'mongo';

/** The at-rest options the demo can switch on. */
type AtRestOptions = Pick<BaseStoreOptions, 'hashIds' | 'encryptionKeys' | 'onCorrupt'>;

interface OpenedStore {
  store: Store & { close(): Promise<void> };
  /** Where the sessions live, for the start-up line. */
  where: string;
}

const USAGE = `usage: npm start   (or: npx tsx demo/server.ts [--help])

Environment:
  STORE=memory|sqlite|redis|postgres|mysql|mongo   the store (default sqlite)
  SQLITE_FILE, REDIS_URL, POSTGRES_URL, MYSQL_URL, MONGO_URL   where it keeps the sessions
  PORT=3000                                  the port
  HASH_IDS=1|migrate                         store each session under the SHA-256 of its id (hashIds)
  ENCRYPTION_KEYS=<key>[,<older key>...]     encrypt every stored session (encryptionKeys, newest first);
                                             a key is 32 bytes in base64 or hex:
                                             node -e "console.log(require('node:crypto').randomBytes(32).toString('base64'))"
                                             with keys, a session stored without them starts over (onCorrupt 'treat-as-missing')

The page shows the session's storage key and stored value as the backend holds them, and, once logged in,
the user's sessions on every device (the store is built with userOf), each of which can be logged out.`;

// Every store indexes sessions by their user, for the account panel; a store that cannot refuses userOf when built, and the demo exits saying so.
const USER_INDEX = { userOf };

// Each store is made as the tests, the report and the bench make it: by its factory module's storeOn() (MemoryStore, which needs none, by its class).
const OPENERS: Record<StoreKind, (atRest: AtRestOptions) => Promise<OpenedStore>> = {
  async memory(atRest) {
    const { MemoryStore } = await import('../stores/memory');
    return { store: new MemoryStore({ ...atRest, ...USER_INDEX }), where: 'this process' };
  },
  async sqlite(atRest) {
    const { storeOn } = await storeModule('sqlite', () => import('../stores/sqlite/fixtures/factory'));
    const filename = process.env.SQLITE_FILE ?? './demo-sessions.db';
    return { store: storeOn({ filename, ...atRest }, USER_INDEX), where: filename };
  },
  async redis(atRest) {
    const { storeOn } = await storeModule('redis', () => import('../stores/redis/fixtures/factory'));
    const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
    return { store: storeOn({ url, prefix: 'demo-sess:', ...atRest }, USER_INDEX), where: url };
  },
  async postgres(atRest) {
    const { storeOn } = await storeModule('postgres', () => import('../stores/postgres/fixtures/factory'));
    const connectionString = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
    return { store: storeOn({ connectionString, ...atRest }, USER_INDEX), where: connectionString };
  },
  async mysql(atRest) {
    const { storeOn } = await storeModule('mysql', () => import('../stores/mysql/fixtures/factory'));
    const uri = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
    return { store: storeOn({ uri, ...atRest }, USER_INDEX), where: uri };
  },
  async mongo(atRest) {
    const { storeOn } = await storeModule('mongo', () => import('../stores/mongo/fixtures/factory'));
    const url = process.env.MONGO_URL ?? 'mongodb://127.0.0.1:27017/session-stores-demo';
    return { store: storeOn({ url, ...atRest }, USER_INDEX), where: url };
  },
};

/** HASH_IDS and ENCRYPTION_KEYS as store options; a bad key is refused by the store, by its position. */
function atRestOptions(env: NodeJS.ProcessEnv): AtRestOptions {
  const hashIds = env.HASH_IDS ?? '';
  if (!['', '0', '1', 'true', 'false', 'migrate'].includes(hashIds)) throw new Error(`HASH_IDS must be 1 or migrate (or 0), got ${JSON.stringify(hashIds)}\n${USAGE}`);
  const keys = (env.ENCRYPTION_KEYS ?? '').split(',').map((key) => key.trim()).filter(Boolean);
  return {
    ...(hashIds === 'migrate' ? { hashIds: 'migrate' as const } : (hashIds === '1' || hashIds === 'true') && { hashIds: true }),
    ...(keys.length > 0 && { encryptionKeys: keys, onCorrupt: 'treat-as-missing' as const }),
  };
}

/** What the start-up line says of the at-rest options. */
function describeAtRest({ hashIds, encryptionKeys }: AtRestOptions): string {
  const hashing = hashIds === undefined || hashIds === false ? 'ids as they are' : `hashIds ${hashIds === true ? 'on' : hashIds}`;
  const encryption = encryptionKeys === undefined ? 'no encryption' : `encryptionKeys: ${encryptionKeys.length} key${encryptionKeys.length === 1 ? '' : 's'}`;
  return `${hashing}, ${encryption}`;
}

/** Loads a store's module only when it is chosen, so the others' drivers need not be installed. */
async function storeModule<T>(kind: StoreKind, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND') {
      throw new Error(`STORE=${kind} cannot load: ${(error as Error).message.split('\n')[0]}`);
    }
    throw error;
  }
}

/** A connection URL as it may be printed: its password replaced. */
function withoutPassword(where: string): string {
  try {
    const url = new URL(where);
    if (url.password === '') return where;
    url.password = '***';
    return url.toString();
  } catch {
    return where.includes('@') ? 'the configured URL' : where;
  }
}

async function main(): Promise<void> {
  if (process.argv.includes('--help')) {
    console.log(USAGE);
    return;
  }
  const kind = (process.env.STORE ?? 'sqlite') as StoreKind;
  if (!Object.hasOwn(OPENERS, kind)) {
    throw new Error(`STORE must be one of ${Object.keys(OPENERS).join(', ')}; got ${JSON.stringify(kind)}\n${USAGE}`);
  }
  const atRest = atRestOptions(process.env);
  const port = Number(process.env.PORT ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT must be a port number, got ${JSON.stringify(process.env.PORT)}`);
  const { store, where } = await OPENERS[kind](atRest);
  store.on('disconnect', () => console.warn(`[demo] the ${kind} store lost its backend`));
  store.on('connect', () => console.warn(`[demo] the ${kind} store reached its backend again`));

  const server = createApp(store).listen(port, (error) => {
    if (error) {
      console.error(`[demo] cannot listen on port ${port}: ${error.message}`);
      void store.close().finally(() => process.exit(1));
      return;
    }
    console.log(`session-stores demo: http://localhost:${port} (STORE=${kind}, sessions in ${withoutPassword(where)}; ${describeAtRest(atRest)})`);
  });
  const shutdown = () => {
    server.close(() => void store.close().finally(() => process.exit(0)));
    server.closeAllConnections();
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((error: unknown) => {
  console.error(`[demo] ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
