import { inspect } from 'node:util';
import { MongoClient } from 'mongodb';
import { MongoStore } from '.';
import { SessionStoreError } from '../../shared';

// Constructing a MongoClient does not connect; these cases never reach a server.
const URL = 'mongodb://127.0.0.1:1/app';

function optionsError(build: () => unknown): SessionStoreError {
  try {
    build();
  } catch (error) {
    expect(error).toBeInstanceOf(SessionStoreError);
    expect((error as SessionStoreError).code).toBe('ERR_SESSION_OPTIONS');
    return error as SessionStoreError;
  }
  throw new Error('expected the constructor to throw');
}

describe('MongoStore options', () => {
  let client: MongoClient;

  beforeEach(() => {
    client = new MongoClient(URL);
  });

  afterEach(async () => {
    await client.close();
  });

  it('uses connect-mongo\'s collection, sessions, in the database named by the connection string', async () => {
    const store = new MongoStore({ client, createIndex: false });
    expect(store.collection.collectionName).toBe('sessions');
    expect(store.collection.dbName).toBe('app');
    await store.close();
  });

  it('takes dbName and collectionName', async () => {
    const store = new MongoStore({ client, dbName: 'other', collectionName: 'web_sessions', createIndex: false });
    expect(store.collection.namespace).toBe('other.web_sessions');
    await store.close();
  });

  it('works through the client it was given', async () => {
    const store = new MongoStore({ client, createIndex: false });
    expect(store.client).toBe(client);
    await store.close();
  });

  it('requires a client or a url', () => {
    expect(optionsError(() => new MongoStore({})).message).toMatch(/client,? or url/);
    expect(optionsError(() => new MongoStore(undefined as never)).message).toMatch(/client,? or url/);
  });

  it('refuses a client and a url together', () => {
    expect(optionsError(() => new MongoStore({ client, url: URL })).message).toMatch(/client,? or url/);
  });

  it('refuses something that is not a MongoClient', () => {
    expect(optionsError(() => new MongoStore({ client: {} as MongoClient })).message).toContain('client must be a MongoClient');
  });

  it('refuses clientOptions next to a client the caller owns', () => {
    expect(optionsError(() => new MongoStore({ client, clientOptions: { maxPoolSize: 1 } })).message).toContain('clientOptions');
  });

  it('reports an unparsable url as an options error that quotes nothing of it', () => {
    for (const url of ['mongodb://ada:hunter2@[bad', 'mongodb://ada:hun@ter2@host/db', 'mongodb+srv://ada:hunter2@', 'redis://ada:hunter2@host']) {
      const error = optionsError(() => new MongoStore({ url }));
      expect(inspect(error, { depth: 10 })).not.toMatch(/hunter2|hun@ter2|ada/);
    }
  });

  it('reports an unparsable url as an options error', () => {
    expect(optionsError(() => new MongoStore({ url: 'http://127.0.0.1/app' })).message).toContain('url could not be parsed');
    expect(optionsError(() => new MongoStore({ url: '' })).message).toContain('url must be');
  });

  it('refuses collection names MongoDB would reject or reserve', () => {
    for (const collectionName of ['', 'system.sessions', 'a$b', 'with space', 'x'.repeat(121), 7]) {
      optionsError(() => new MongoStore({ client, collectionName: collectionName as string }));
    }
  });

  it('refuses database names MongoDB would reject', () => {
    for (const dbName of ['', 'a.b', 'a/b', 'a b', 'x'.repeat(64)]) {
      optionsError(() => new MongoStore({ client, dbName }));
    }
  });

  it('refuses the server\'s own databases, named by dbName or by the connection string', () => {
    for (const dbName of ['admin', 'local', 'config']) {
      optionsError(() => new MongoStore({ client, dbName }));
      optionsError(() => new MongoStore({ url: `mongodb://127.0.0.1:1/${dbName}` }));
    }
  });

  it('refuses a createIndex that is not a boolean', () => {
    expect(optionsError(() => new MongoStore({ client, createIndex: 'no' as never })).message).toContain('createIndex');
  });

  it('takes tombstoneTtl, maxLifetime and userOf in its own layout', async () => {
    const store = new MongoStore({ client, createIndex: false, tombstoneTtl: 60_000, maxLifetime: 7 * 24 * 60 * 60 * 1000, userOf: () => 'ana' });
    await store.close();
  });

  it.each([
    ['tombstoneTtl', { tombstoneTtl: 60_000 }, 'would read a tombstone as a session: tombstoneTtl cannot be used with it'],
    ['maxLifetime', { maxLifetime: 60_000 }, 'maxLifetime cannot be used with it'],
    ['userOf', { userOf: () => 'ana' }, "has no place for a session's user: userOf cannot be used with it"],
    ['hashIds', { hashIds: true }, 'hashIds cannot be used with it'],
    ['encryptionKeys', { encryptionKeys: [Buffer.alloc(32, 1)] }, 'encryptionKeys cannot be used with it'],
    ['a serializer', { serializer: { stringify: JSON.stringify, parse: JSON.parse } }, 'a serializer cannot be used with it'],
  ])("refuses %s with compat 'connect-mongo', whose documents connect-mongo reads", (_name, extra, message) => {
    const error = optionsError(() => new MongoStore({ client, compat: 'connect-mongo', ...extra }));
    expect(error.message).toContain("compat 'connect-mongo'");
    expect(error.message).toContain(message);
  });

  it('refuses a compat layout it does not know', () => {
    expect(optionsError(() => new MongoStore({ client, compat: 'connect-redis' as never })).message).toContain("compat must be 'connect-mongo' or absent");
  });

  it('applies the base options, refusing a ttl of 0 instead of defaulting it', () => {
    expect(optionsError(() => new MongoStore({ client, ttl: 0 })).message).toContain('ttl');
  });
});
