import type { Store } from 'express-session';
import { createApp } from './app';

type StoreKind = 'memory' | 'sqlite' | 'redis' | 'postgres' | 'mongo';

interface OpenedStore {
  store: Store & { close(): Promise<void> };
  /** Where the sessions live, for the start-up line. */
  where: string;
}

// Each store is made as the tests, the report and the bench make it: by its factory module's storeOn().
const OPENERS: Record<StoreKind, () => Promise<OpenedStore>> = {
  async memory() {
    const { createStore } = await storeModule('memory', () => import('../stores/memory/fixtures/factory'));
    return { store: createStore(), where: 'this process' };
  },
  async sqlite() {
    const { storeOn } = await storeModule('sqlite', () => import('../stores/sqlite/fixtures/factory'));
    const filename = process.env.SQLITE_FILE ?? './demo-sessions.db';
    return { store: storeOn({ filename }), where: filename };
  },
  async redis() {
    const { storeOn } = await storeModule('redis', () => import('../stores/redis/fixtures/factory'));
    const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
    return { store: storeOn({ url, prefix: 'demo-sess:' }), where: url };
  },
  async postgres() {
    const { storeOn } = await storeModule('postgres', () => import('../stores/postgres/fixtures/factory'));
    const connectionString = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
    return { store: storeOn({ connectionString }), where: connectionString };
  },
  async mongo() {
    const { storeOn } = await storeModule('mongo', () => import('../stores/mongo/fixtures/factory'));
    const url = process.env.MONGO_URL ?? 'mongodb://127.0.0.1:27017/session-stores-demo';
    return { store: storeOn({ url }), where: url };
  },
};

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
  const kind = (process.env.STORE ?? 'sqlite') as StoreKind;
  if (!Object.hasOwn(OPENERS, kind)) {
    throw new Error(`STORE must be one of ${Object.keys(OPENERS).join(', ')}; got ${JSON.stringify(kind)}`);
  }
  const port = Number(process.env.PORT ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT must be a port number, got ${JSON.stringify(process.env.PORT)}`);
  const { store, where } = await OPENERS[kind]();
  store.on('disconnect', () => console.warn(`[demo] the ${kind} store lost its backend`));
  store.on('connect', () => console.warn(`[demo] the ${kind} store reached its backend again`));

  const server = createApp(store).listen(port, (error) => {
    if (error) {
      console.error(`[demo] cannot listen on port ${port}: ${error.message}`);
      void store.close().finally(() => process.exit(1));
      return;
    }
    console.log(`session-stores demo: http://localhost:${port} (STORE=${kind}, sessions in ${withoutPassword(where)})`);
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
