import Database from 'better-sqlite3';
import { MemoryStore } from '../stores/memory';
import { MongoStore } from '../stores/mongo';
import { PostgresStore } from '../stores/postgres';
import { RedisStore } from '../stores/redis';
import { SqliteStore } from '../stores/sqlite';

// Each constructor refuses before it opens a client, a pool or a file, so no server is needed.
const stores: Array<[string, (extra: object) => unknown]> = [
  ['MemoryStore', (extra) => new MemoryStore({ ...extra })],
  ['SqliteStore', (extra) => new SqliteStore({ db: new Database(':memory:'), ...extra })],
  ['PostgresStore', (extra) => new PostgresStore({ connectionString: 'postgres://127.0.0.1:1/none', ...extra })],
  ['RedisStore', (extra) => new RedisStore({ url: 'redis://127.0.0.1:1', ...extra })],
  ['MongoStore', (extra) => new MongoStore({ url: 'mongodb://127.0.0.1:1', ...extra })],
];

describe.each(stores)('%s options', (_name, make) => {
  it('refuses an option it does not know with ERR_SESSION_OPTIONS, naming it and the closest known name', () => {
    expect(() => make({ touchAfer: 1000 })).toThrow(
      expect.objectContaining({ code: 'ERR_SESSION_OPTIONS', message: expect.stringContaining('unknown option "touchAfer" (did you mean touchAfter?)') }),
    );
    expect(() => make({ compress: true })).toThrow(expect.objectContaining({ code: 'ERR_SESSION_OPTIONS', message: expect.stringContaining('"compress"') }));
  });

  it('accepts tombstoneTtl, maxLifetime and userOf, and refuses bad values of them', async () => {
    const store = make({ tombstoneTtl: 60_000, maxLifetime: 3_600_000, userOf: () => undefined }) as { close(): Promise<void> };
    await store.close();
    for (const bad of [{ tombstoneTtl: -1 }, { tombstoneTtl: Infinity }, { maxLifetime: 0 }, { maxLifetime: '1h' }, { userOf: 'passport.user' }]) {
      expect(() => make(bad)).toThrow(expect.objectContaining({ code: 'ERR_SESSION_OPTIONS', message: expect.stringContaining(Object.keys(bad)[0]!) }));
    }
  });

  it('accepts the base options it shares with every store', async () => {
    const store = make({ ttl: 1000, touchAfter: 10, disableTouch: false, operationTimeout: 500, onCorrupt: 'treat-as-missing', maxSessionBytes: 4096 }) as { close(): Promise<void> };
    await store.close();
  });
});
