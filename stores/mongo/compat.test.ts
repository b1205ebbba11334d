import ConnectMongo from 'connect-mongo';
import type { SessionData } from 'express-session';
import { MongoClient } from 'mongodb';
import { MongoStore, type MongoStoreOptions } from '.';
import request from 'supertest';
import { backendLacks, describeBackend, describeWithFeature } from '../../test/support/backends';
import { appWith, sidOfCookie } from '../../test/support/migration-app';
import { TEST_DB, dropTestDatabase, uniqueCollection } from './fixtures/servers';

const HOUR = 60 * 60 * 1000;

function sessionUntil(expiresAt: number, data: Record<string, unknown> = {}): SessionData {
  return {
    cookie: { originalMaxAge: HOUR, expires: new Date(expiresAt).toISOString(), path: '/', httpOnly: true },
    ...data,
  } as unknown as SessionData;
}

function promised<T = void>(call: (callback: (error: unknown, result?: T) => void) => void): Promise<T | undefined> {
  return new Promise((resolve, reject) => call((error, result) => (error ? reject(error) : resolve(result))));
}

describeBackend('mongo', "MongoStore with compat 'connect-mongo' and connect-mongo on one collection", (url) => {
  let client: MongoClient;

  beforeAll(() => {
    client = new MongoClient(url);
  });

  afterAll(async () => {
    await dropTestDatabase(client);
    await client.close();
  });

  /**
   * connect-mongo as its users set it up on this server: its default TTL index, or on a server
   * without TTL indexes (FerretDB v1) `autoRemove: 'disabled'`, as its create() fails otherwise.
   */
  const connectMongoOn = (collectionName: string, options: { touchAfter?: number } = {}) =>
    // connect-mongo's close() closes the client it was given, so it is never called on this shared one.
    ConnectMongo.create({
      client,
      dbName: TEST_DB,
      collectionName,
      ...(backendLacks('mongo', 'ttl-indexes') ? { autoRemove: 'disabled' as const } : {}),
      ...options,
    });

  /** Both stores on a fresh collection, ours in connect-mongo's layout unless `ourOptions` say otherwise; connect-mongo's index is in place first. */
  async function pair(connectMongoOptions: { touchAfter?: number } = {}, ourOptions: Partial<MongoStoreOptions> = { compat: 'connect-mongo' }) {
    const collectionName = uniqueCollection('sessions_compat');
    const theirs = connectMongoOn(collectionName, connectMongoOptions);
    await theirs.collectionP;
    const ours = new MongoStore({ client, dbName: TEST_DB, collectionName, ...ourOptions });
    const collection = client.db(TEST_DB).collection(collectionName);
    return {
      ours,
      collection,
      theirs: {
        get: (sid: string) => promised<SessionData | null>((cb) => theirs.get(sid, cb)),
        set: (sid: string, data: SessionData) => promised((cb) => theirs.set(sid, data, cb)),
        touch: (sid: string, data: SessionData) => promised((cb) => theirs.touch(sid, data, cb)),
        destroy: (sid: string) => promised((cb) => theirs.destroy(sid, cb)),
      },
      async close() {
        await ours.close();
      },
    };
  }

  it('reads a session connect-mongo wrote with its defaults', async () => {
    const { ours, theirs, close } = await pair();
    const written = sessionUntil(Date.now() + HOUR, { user: { id: 7 }, flash: ['hi'] });
    await theirs.set('sid-theirs', written);
    expect(await ours.get('sid-theirs')).toEqual(written);
    await close();
  });

  it('writes sessions connect-mongo reads', async () => {
    const { ours, theirs, close } = await pair();
    const written = sessionUntil(Date.now() + HOUR, { user: { id: 8 } });
    await ours.set('sid-ours', written);
    expect(await theirs.get('sid-ours')).toEqual(written);
    await close();
  });

  it('writes the same document as connect-mongo for the same session', async () => {
    const { ours, theirs, collection, close } = await pair();
    const written = sessionUntil(Date.now() + HOUR, { n: 1 });
    await theirs.set('sid-a', written);
    await ours.set('sid-b', written);
    const [a, b] = await Promise.all([collection.findOne({ _id: 'sid-a' as never }), collection.findOne({ _id: 'sid-b' as never })]);
    expect({ ...b, _id: 'sid-a' }).toEqual(a);
    await close();
  });

  it('reads a session connect-mongo extended with touch', async () => {
    const { ours, theirs, collection, close } = await pair();
    await ours.set('sid-1', sessionUntil(Date.now() + HOUR, { n: 1 }));
    const later = Date.now() + 3 * HOUR;
    await theirs.touch('sid-1', sessionUntil(later, { n: 1 }));
    expect((await collection.findOne({ _id: 'sid-1' as never }))?.expires).toEqual(new Date(later));
    expect(await ours.get('sid-1')).toMatchObject({ n: 1 });
    await close();
  });

  it('extends a session connect-mongo wrote, which connect-mongo still reads', async () => {
    const { ours, theirs, collection, close } = await pair();
    await theirs.set('sid-1', sessionUntil(Date.now() + HOUR, { n: 1 }));
    const later = Date.now() + 3 * HOUR;
    await ours.touch('sid-1', sessionUntil(later, { n: 1 }));
    expect((await collection.findOne({ _id: 'sid-1' as never }))?.expires).toEqual(new Date(later));
    expect(await theirs.get('sid-1')).toMatchObject({ n: 1 });
    await close();
  });

  it('hides from each store a session the other destroyed', async () => {
    const { ours, theirs, collection, close } = await pair();
    await ours.set('sid-1', sessionUntil(Date.now() + HOUR));
    await theirs.set('sid-2', sessionUntil(Date.now() + HOUR));
    await theirs.destroy('sid-1');
    await ours.destroy('sid-2');
    expect(await ours.get('sid-1')).toBeNull();
    expect(await theirs.get('sid-2')).toBeNull();
    expect(await collection.countDocuments()).toBe(0);
    await close();
  });

  it('without compat, leaves a tombstone on destroy that connect-mongo fails to read: the reason for the option', async () => {
    const { ours, theirs, collection, close } = await pair({}, {});
    await theirs.set('sid-1', sessionUntil(Date.now() + HOUR, { n: 1 }));
    expect(await ours.get('sid-1')).toMatchObject({ n: 1 });
    await ours.destroy('sid-1');
    expect(await collection.findOne({ _id: 'sid-1' as never })).toMatchObject({ session: '' });
    await expect(theirs.get('sid-1')).rejects.toThrow(SyntaxError);
    await close();
  });

  it('does not return a session connect-mongo wrote that has expired', async () => {
    const { ours, theirs, close } = await pair();
    await theirs.set('sid-old', sessionUntil(Date.now() - 1000));
    expect(await ours.get('sid-old')).toBeNull();
    expect(await ours.ids()).toEqual([]);
    await close();
  });

  it('reads sessions connect-mongo wrote with touchAfter (and its lastModified field), and back', async () => {
    const { ours, theirs, close } = await pair({ touchAfter: 60 });
    const written = sessionUntil(Date.now() + HOUR, { n: 1 });
    await theirs.set('sid-1', written);
    expect(await ours.get('sid-1')).toEqual(written);
    await ours.set('sid-1', sessionUntil(Date.now() + HOUR, { n: 2 }));
    expect(await theirs.get('sid-1')).toMatchObject({ n: 2 });
    await close();
  });

  it('a user logged in through connect-mongo stays logged in after the app switches to MongoStore, and back', async () => {
    const collectionName = uniqueCollection('sessions_switch');
    const connectMongo = connectMongoOn(collectionName);
    await connectMongo.collectionP;
    const mongoStore = new MongoStore({ client, dbName: TEST_DB, collectionName, compat: 'connect-mongo' });
    const before = appWith(connectMongo);
    const after = appWith(mongoStore);

    const login = await request(before).post('/login');
    const cookie = login.headers['set-cookie'] as unknown as string[];
    expect(sidOfCookie(cookie)).toHaveLength(32);
    expect((await request(after).get('/me').set('Cookie', cookie)).body).toEqual({ user: 'ada', cart: [1, 2, 3] });
    expect((await request(before).get('/me').set('Cookie', cookie)).body).toEqual({ user: 'ada', cart: [1, 2, 3] });

    const ourLogin = await request(after).post('/login');
    const ourCookie = ourLogin.headers['set-cookie'] as unknown as string[];
    expect((await request(before).get('/me').set('Cookie', ourCookie)).body).toEqual({ user: 'ada', cart: [1, 2, 3] });
    await mongoStore.close();
  });

  describeWithFeature('mongo', 'ttl-indexes', 'the TTL index', () => {
    it('is shared with connect-mongo, whichever store starts first', async () => {
      const first = await pair();
      await first.ours.set('sid-1', sessionUntil(Date.now() + HOUR));
      const indexes = await first.collection.listIndexes().toArray();
      expect(indexes.filter((index) => index.key.expires !== undefined)).toHaveLength(1);
      await first.close();

      const collectionName = uniqueCollection('sessions_compat');
      const ours = new MongoStore({ client, dbName: TEST_DB, collectionName, compat: 'connect-mongo' });
      await ours.length();
      const theirs = ConnectMongo.create({ client, dbName: TEST_DB, collectionName });
      await expect(theirs.collectionP).resolves.toBeDefined();
      await ours.close();
    });
  });
});
