import { inspect } from 'node:util';
import { MongoClient, type Collection } from 'mongodb';
import { MongoStore, type SessionDocument } from '.';
import { SessionStoreError } from '../../shared';
import { backendLacks, backendServer, describeBackend, describeWithFeature } from '../../test/support/backends';
import { TEST_DB, dropTestDatabase, uniqueCollection } from './fixtures/servers';

const HOUR = 60 * 60 * 1000;
const session = (data: Record<string, unknown> = {}, expiresAt: number | null = null) =>
  ({ cookie: { originalMaxAge: null, expires: expiresAt === null ? null : new Date(expiresAt).toISOString(), path: '/', httpOnly: true }, ...data }) as never;

describeBackend('mongo', 'MongoStore on a real server', (url) => {
  let client: MongoClient;
  const stores: MongoStore[] = [];

  beforeAll(() => {
    client = new MongoClient(url);
  });

  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
  });

  afterAll(async () => {
    await dropTestDatabase(client);
    await client.close();
  });

  function collectionName(label = 'sessions'): string {
    return uniqueCollection(label);
  }

  function storeOn(name: string, options: Partial<ConstructorParameters<typeof MongoStore>[0]> = {}): MongoStore {
    const store = new MongoStore({ client, dbName: TEST_DB, collectionName: name, ...options });
    stores.push(store);
    return store;
  }

  const raw = (name: string): Collection<SessionDocument> => client.db(TEST_DB).collection<SessionDocument>(name);

  /** A store on a client that monitors its commands; `sent(call)` gives the names of the commands that call sent. */
  async function countingStore(options: Partial<ConstructorParameters<typeof MongoStore>[0]> = {}) {
    const monitored = new MongoClient(url, { monitorCommands: true });
    const commands: string[] = [];
    monitored.on('commandStarted', (event) => commands.push(event.commandName));
    const store = storeOn(collectionName(), { client: monitored, ...options });
    await store.length();
    const sent = async (call: () => Promise<unknown>) => {
      commands.length = 0;
      await call();
      return [...commands];
    };
    const close = async () => {
      await store.close();
      await monitored.close();
    };
    return { store, sent, close };
  }

  describeWithFeature('mongo', 'ttl-indexes', 'the TTL index', () => {
    it('exists as { expires: 1 } with expireAfterSeconds 0 once the first call has answered', async () => {
      const name = collectionName();
      await storeOn(name).length();
      const indexes = await raw(name).listIndexes().toArray();
      expect(indexes.find((index) => index.name === 'expires_1')).toMatchObject({ key: { expires: 1 }, expireAfterSeconds: 0 });
    });

    it('is created idempotently by many stores on one collection', async () => {
      const name = collectionName();
      await Promise.all([storeOn(name).length(), storeOn(name).length(), storeOn(name).length()]);
      await storeOn(name).length();
      const indexes = await raw(name).listIndexes().toArray();
      expect(indexes.map((index) => index.name).sort()).toEqual(['_id_', 'expires_1']);
    });

    it('is taken as it is when the collection already has an equivalent one under another name', async () => {
      const name = collectionName();
      await raw(name).createIndex({ expires: 1 }, { name: 'sessions_ttl', expireAfterSeconds: 0 });
      const store = storeOn(name);
      await store.set('sid-1', session({ n: 1 }));
      expect(await store.get('sid-1')).toMatchObject({ n: 1 });
    });

    it('is refused with an error naming the conflicting index, on every call', async () => {
      const name = collectionName();
      await raw(name).createIndex({ expires: 1 }, { name: 'expires_1' });
      const store = storeOn(name);
      for (let attempt = 0; attempt < 2; attempt++) {
        const error = await store.get('sid-1').catch((e: unknown) => e);
        expect(error).toBeInstanceOf(SessionStoreError);
        expect((error as SessionStoreError).code).toBe('ERR_SESSION_BACKEND');
        expect((error as Error).message).toContain('index expires_1 exists on expires without expireAfterSeconds');
        expect((error as Error).message).toContain('createIndex: false');
      }
    });

  });

  it('leaves indexes to the operator with createIndex: false', async () => {
    const name = collectionName();
    const store = storeOn(name, { createIndex: false });
    await store.set('sid-1', session());
    const indexes = await raw(name).listIndexes().toArray();
    expect(indexes.map((index) => index.name)).toEqual(['_id_']);
  });

  describe('the document layout', () => {
    it('is connect-mongo\'s: _id the session id, session a JSON string, expires a Date to the millisecond', async () => {
      const name = collectionName();
      const expiresAt = Date.now() + HOUR + 123;
      await storeOn(name).set('sid-layout', session({ user: 'ana' }, expiresAt));
      const document = await raw(name).findOne({ _id: 'sid-layout' });
      expect(Object.keys(document ?? {}).sort()).toEqual(['_id', 'expires', 'session']);
      expect(document?.expires).toEqual(new Date(expiresAt));
      expect(JSON.parse(document!.session)).toMatchObject({ user: 'ana', cookie: { path: '/' } });
    });

    it('keeps fields another writer added when a session is saved again', async () => {
      const name = collectionName();
      await raw(name).insertOne({ _id: 'sid-1', session: JSON.stringify(session()), expires: new Date(Date.now() + HOUR), createdAt: new Date(0) } as never);
      await storeOn(name).set('sid-1', session({ n: 2 }));
      expect(await raw(name).findOne({ _id: 'sid-1' })).toMatchObject({ createdAt: new Date(0) });
    });
  });

  describe('expiry before the TTL monitor runs', () => {
    it('does not return a document whose expiry has passed', async () => {
      const name = collectionName();
      await raw(name).insertOne({ _id: 'sid-old', session: JSON.stringify(session()), expires: new Date(Date.now() - 1000) });
      const store = storeOn(name);
      expect(await store.get('sid-old')).toBeNull();
      expect(await store.ids()).toEqual([]);
      expect(await store.all()).toEqual({});
      expect(await store.length()).toBe(0);
    });

    it('stops returning a session whose short ttl has passed in real time', async () => {
      // Seconds, not milliseconds: a loaded server may take hundreds of ms for the set and the first get.
      const ttl = 3000;
      const store = storeOn(collectionName(), { ttl });
      const setAt = Date.now();
      await store.set('sid-short', session());
      expect(await store.get('sid-short')).not.toBeNull();
      await new Promise((resolve) => setTimeout(resolve, setAt + ttl + 100 - Date.now()));
      expect(await store.get('sid-short')).toBeNull();
    });
  });

  describe('bulk methods', () => {
    it('stream more sessions than one batch through all, ids and length', async () => {
      const name = collectionName();
      const expires = new Date(Date.now() + HOUR);
      const documents = Array.from({ length: 2500 }, (_, i) => ({ _id: `sid-${i}`, session: JSON.stringify(session({ i })), expires }));
      await raw(name).insertMany(documents);
      const store = storeOn(name);
      expect((await store.ids()).length).toBe(2500);
      expect(Object.keys(await store.all()).length).toBe(2500);
      expect(await store.length()).toBe(2500);
    });

    it('clear empties the collection and keeps its indexes', async () => {
      const name = collectionName();
      const store = storeOn(name);
      await store.set('sid-1', session());
      const indexes = (await raw(name).listIndexes().toArray()).map((index) => index.name);
      await store.clear();
      expect(await raw(name).countDocuments()).toBe(0);
      expect((await raw(name).listIndexes().toArray()).map((index) => index.name)).toEqual(indexes);
    });

    it('clear touches no other collection', async () => {
      const mine = collectionName();
      const other = collectionName('other');
      await raw(other).insertOne({ _id: 'x', session: '{}', expires: new Date(Date.now() + HOUR) });
      await storeOn(mine).clear();
      expect(await raw(other).countDocuments()).toBe(1);
    });
  });

  describe('prune', () => {
    const expiredAndLive = async (name: string, expired: number, live: number) => {
      const past = new Date(Date.now() - HOUR);
      const future = new Date(Date.now() + HOUR);
      const documents = [
        ...Array.from({ length: expired }, (_, i) => ({ _id: `old-${i}`, session: JSON.stringify(session({ i })), expires: past })),
        ...Array.from({ length: live }, (_, i) => ({ _id: `live-${i}`, session: JSON.stringify(session({ i })), expires: future })),
      ];
      await raw(name).insertMany(documents);
    };

    it('deletes every expired session in batches and leaves the live ones', async () => {
      const name = collectionName();
      await expiredAndLive(name, 2500, 30);
      const store = storeOn(name, { createIndex: false, pruneInterval: 0 });
      expect(await store.prune()).toBe(2500);
      expect(await raw(name).countDocuments()).toBe(30);
      expect(await raw(name).countDocuments({ _id: { $regex: /^live-/ } })).toBe(30);
    });

    it('leaves no expired session when several stores prune one collection at once', async () => {
      const name = collectionName();
      await expiredAndLive(name, 3000, 10);
      const counts = await Promise.all([1, 2, 3].map(() => storeOn(name, { createIndex: false, pruneInterval: 0 }).prune()));
      expect(await raw(name).countDocuments()).toBe(10);
      // A batch another store emptied first still counts as full for the store that found it, so the sum may exceed 3000.
      expect(counts.reduce((sum, count) => sum + count, 0)).toBeGreaterThanOrEqual(3000);
    });

    it('runs from the reaper at pruneInterval', async () => {
      const name = collectionName();
      await expiredAndLive(name, 5, 1);
      storeOn(name, { createIndex: false, pruneInterval: 50 });
      const deadline = Date.now() + 10_000;
      while ((await raw(name).countDocuments()) > 1 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(await raw(name).countDocuments()).toBe(1);
    });

    it('refuses a pruneInterval that is not a non-negative number of milliseconds', () => {
      expect(() => new MongoStore({ client, dbName: TEST_DB, collectionName: collectionName(), pruneInterval: -1 })).toThrow(
        expect.objectContaining({ code: 'ERR_SESSION_OPTIONS' }),
      );
    });
  });

  (backendLacks('mongo', 'ttl-indexes') ? describe : describe.skip)('on a server without TTL indexes (FerretDB v1)', () => {
    it('warns once, then serves every call, with the reaper deleting expired sessions', async () => {
      const name = collectionName();
      const store = storeOn(name);
      const warnings: Error[] = [];
      store.on('warning', (warning: Error) => warnings.push(warning));
      await store.set('sid-1', session({ n: 1 }));
      await store.set('sid-2', session({ n: 2 }));
      expect(await store.get('sid-1')).toMatchObject({ n: 1 });
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatchObject({ code: 'ERR_SESSION_UNSUPPORTED' });
      expect(warnings[0]!.message).toContain('has no TTL indexes; only the reaper deletes expired sessions');
      const indexes = await raw(name).listIndexes().toArray();
      expect(indexes.find((index) => index.name === 'expires_1')).toEqual(expect.objectContaining({ key: { expires: 1 } }));
      expect(indexes.find((index) => index.name === 'expires_1')).not.toHaveProperty('expireAfterSeconds');
    });

    it('says when nothing will delete expired sessions (pruneInterval: 0)', async () => {
      const store = storeOn(collectionName(), { pruneInterval: 0 });
      const warnings: Error[] = [];
      store.on('warning', (warning: Error) => warnings.push(warning));
      await store.length();
      expect(warnings.map((warning) => warning.message)).toEqual([expect.stringContaining('call prune() from a job')]);
    });
  });

  describe('tombstones', () => {
    const TOMBSTONE_TTL = 60_000;

    it('destroy replaces the document with { _id, session: \'\', expires: now + tombstoneTtl }, other fields gone', async () => {
      const name = collectionName();
      const now = Date.now();
      const store = storeOn(name, { now: () => now, tombstoneTtl: TOMBSTONE_TTL, maxLifetime: HOUR });
      await store.set('sid-1', session({ n: 1 }, now + HOUR));
      await raw(name).updateOne({ _id: 'sid-1' }, { $set: { lastModified: new Date(now) } });
      await store.destroy('sid-1');
      expect(await raw(name).findOne({ _id: 'sid-1' })).toEqual({ _id: 'sid-1', session: '', expires: new Date(now + TOMBSTONE_TTL) });
    });

    it('a set over a live tombstone resolves and leaves it as it was; once it lapses, the set stores the session', async () => {
      const name = collectionName();
      let now = Date.now();
      const store = storeOn(name, { now: () => now, tombstoneTtl: TOMBSTONE_TTL });
      await store.destroy('sid-1');
      const tombstone = await raw(name).findOne({ _id: 'sid-1' });
      await expect(store.set('sid-1', session({ n: 1 }, now + HOUR))).resolves.toBeUndefined();
      expect(await raw(name).findOne({ _id: 'sid-1' })).toEqual(tombstone);
      now += TOMBSTONE_TTL;
      await store.set('sid-1', session({ n: 2 }, now + HOUR));
      expect(await store.get('sid-1')).toMatchObject({ n: 2 });
    });

    it('a set of a new or a live id, and a touch, are one command each; only a set that meets a tombstone sends more', async () => {
      const { store, sent, close } = await countingStore();
      try {
        expect(await sent(() => store.set('sid-1', session({ n: 1 })))).toEqual(['update']);
        expect(await sent(() => store.set('sid-1', session({ n: 2 })))).toEqual(['update']);
        expect(await sent(() => store.touch('sid-1', session({ n: 2 }, Date.now() + HOUR)))).toEqual(['update']);
        expect(await sent(() => store.destroy('sid-1'))).toEqual(['update']);
        expect(await sent(() => store.set('sid-1', session({ n: 3 })))).toEqual(['update', 'update', 'find']);
      } finally {
        await close();
      }
    });

    it('the reaper deletes an expired tombstone as any expired document', async () => {
      const name = collectionName();
      let now = Date.now();
      const store = storeOn(name, { now: () => now, tombstoneTtl: TOMBSTONE_TTL, createIndex: false, pruneInterval: 0 });
      await store.destroy('sid-1');
      expect(await store.prune()).toBe(0);
      now += TOMBSTONE_TTL;
      expect(await store.prune()).toBe(1);
      expect(await raw(name).countDocuments()).toBe(0);
    });
  });

  describe('maxLifetime', () => {
    const LIFETIME = 4 * HOUR;
    const lifetimeEndsOf = async (name: string, sid: string) => (await raw(name).findOne({ _id: sid }))?.lifetimeEnds;

    it('sets lifetimeEnds to the first set + maxLifetime, which later sets and touches keep', async () => {
      const name = collectionName();
      const start = Date.now();
      let now = start;
      const store = storeOn(name, { now: () => now, maxLifetime: LIFETIME });
      await store.set('sid-1', session({ n: 1 }, now + HOUR));
      expect(await lifetimeEndsOf(name, 'sid-1')).toEqual(new Date(start + LIFETIME));
      now += HOUR / 2;
      await store.set('sid-1', session({ n: 2 }, now + HOUR));
      await store.touch('sid-1', session({ n: 2 }, now + 2 * HOUR));
      expect(await lifetimeEndsOf(name, 'sid-1')).toEqual(new Date(start + LIFETIME));
    });

    it('ends the session at lifetimeEnds whatever expires says, for every call, and the reaper deletes it', async () => {
      const name = collectionName();
      const now = Date.now();
      await raw(name).insertOne({ _id: 'sid-1', session: JSON.stringify(session()), expires: new Date(now + HOUR), lifetimeEnds: new Date(now) });
      const store = storeOn(name, { now: () => now, maxLifetime: LIFETIME, createIndex: false, pruneInterval: 0 });
      expect(await store.get('sid-1')).toBeNull();
      expect(await store.ids()).toEqual([]);
      expect(await store.length()).toBe(0);
      await store.touch('sid-1', session({}, now + 2 * HOUR));
      expect((await raw(name).findOne({ _id: 'sid-1' }))?.expires).toEqual(new Date(now + HOUR));
      expect(await store.prune()).toBe(1);
    });

    it('a set over a document expired or past its lifetime starts a new lifetime', async () => {
      const name = collectionName();
      const now = Date.now();
      const body = JSON.stringify(session());
      await raw(name).insertMany([
        { _id: 'expired', session: body, expires: new Date(now - 1), lifetimeEnds: new Date(now + HOUR) },
        { _id: 'lifetime-over', session: body, expires: new Date(now + HOUR), lifetimeEnds: new Date(now - 1) },
      ]);
      const store = storeOn(name, { now: () => now, maxLifetime: LIFETIME });
      for (const sid of ['expired', 'lifetime-over']) {
        await store.set(sid, session({ sid }, now + HOUR));
        expect(await lifetimeEndsOf(name, sid)).toEqual(new Date(now + LIFETIME));
        expect(await store.get(sid)).toMatchObject({ sid });
      }
    });

    it('a session saved without maxLifetime loads, and its lifetime starts at its next save', async () => {
      const name = collectionName();
      const now = Date.now();
      await raw(name).insertOne({ _id: 'sid-1', session: JSON.stringify(session({ n: 1 })), expires: new Date(now + HOUR) });
      const store = storeOn(name, { now: () => now, maxLifetime: LIFETIME });
      expect(await store.get('sid-1')).toMatchObject({ n: 1 });
      await store.set('sid-1', session({ n: 2 }, now + HOUR));
      expect(await lifetimeEndsOf(name, 'sid-1')).toEqual(new Date(now + LIFETIME));
    });

    it('a store without maxLifetime keeps a live session\'s lifetimeEnds and ends the session there', async () => {
      const name = collectionName();
      let now = Date.now();
      await raw(name).insertOne({ _id: 'sid-1', session: JSON.stringify(session()), expires: new Date(now + HOUR), lifetimeEnds: new Date(now + HOUR / 2) });
      const store = storeOn(name, { now: () => now });
      await store.set('sid-1', session({ n: 2 }, now + HOUR));
      expect(await lifetimeEndsOf(name, 'sid-1')).toEqual(new Date(now + HOUR / 2));
      now += HOUR / 2;
      expect(await store.get('sid-1')).toBeNull();
    });

    it('passes the layout check on a collection whose first document is a tombstone or has lifetimeEnds', async () => {
      for (const first of [{ _id: 'sid-t', session: '', expires: new Date(Date.now() + HOUR) }, { _id: 'sid-l', session: '{}', expires: new Date(), lifetimeEnds: new Date() }]) {
        const name = collectionName();
        await raw(name).insertOne(first);
        await expect(storeOn(name, { maxLifetime: LIFETIME }).set('sid-1', session())).resolves.toBeUndefined();
      }
    });

    describeWithFeature('mongo', 'ttl-indexes', 'the lifetimeEnds TTL index', () => {
      it('exists as { lifetimeEnds: 1 } with expireAfterSeconds 0 with maxLifetime, and not without', async () => {
        const name = collectionName();
        await storeOn(name, { maxLifetime: LIFETIME }).length();
        const indexes = await raw(name).listIndexes().toArray();
        expect(indexes.find((index) => index.name === 'lifetimeEnds_1')).toMatchObject({ key: { lifetimeEnds: 1 }, expireAfterSeconds: 0 });
        const without = collectionName();
        await storeOn(without).length();
        expect((await raw(without).listIndexes().toArray()).map((index) => index.name).sort()).toEqual(['_id_', 'expires_1']);
      });
    });

    (backendLacks('mongo', 'ttl-indexes') ? it : it.skip)('on a server without TTL indexes, gets a plain lifetimeEnds index for the reaper and the one warning', async () => {
      const name = collectionName();
      const store = storeOn(name, { maxLifetime: LIFETIME });
      const warnings: Error[] = [];
      store.on('warning', (warning: Error) => warnings.push(warning));
      await store.length();
      expect(warnings).toHaveLength(1);
      const lifetimeIndex = (await raw(name).listIndexes().toArray()).find((index) => index.name === 'lifetimeEnds_1');
      expect(lifetimeIndex).toEqual(expect.objectContaining({ key: { lifetimeEnds: 1 } }));
      expect(lifetimeIndex).not.toHaveProperty('expireAfterSeconds');
    });
  });

  describe('sessions per user (userOf)', () => {
    const userOf = (data: { user?: string }) => data.user;
    const ownerOf = async (name: string, sid: string) => (await raw(name).findOne({ _id: sid }))?.owner;
    // FerretDB v1 has no partial indexes and plans no query by a secondary index.
    const onFerretDb = /^FerretDB/.test(backendServer('mongo') ?? '');

    it('a set writes the owner beside the session, a set of no user removes it, a touch keeps it and a tombstone has none', async () => {
      const name = collectionName();
      const store = storeOn(name, { userOf });
      await store.set('sid-1', session({ user: 'ana' }));
      expect(await ownerOf(name, 'sid-1')).toBe('ana');
      await store.touch('sid-1', session({ user: 'bob' }, Date.now() + HOUR));
      expect(await ownerOf(name, 'sid-1')).toBe('ana');
      await store.set('sid-1', session({ user: 'bob' }));
      expect(await ownerOf(name, 'sid-1')).toBe('bob');
      await store.set('sid-1', session({ cart: [1] }));
      expect(Object.keys((await raw(name).findOne({ _id: 'sid-1' })) ?? {}).sort()).toEqual(['_id', 'expires', 'session']);
      await store.set('sid-2', session({ user: 'ana' }));
      await store.destroy('sid-2');
      expect(await raw(name).findOne({ _id: 'sid-2' })).not.toHaveProperty('owner');
    });

    it('a set over a dead document that had an owner writes the new owner, or none', async () => {
      const name = collectionName();
      const now = Date.now();
      const body = JSON.stringify(session({ user: 'old' }));
      await raw(name).insertMany([
        { _id: 'expired-1', session: body, expires: new Date(now - 1), owner: 'old' },
        { _id: 'expired-2', session: body, expires: new Date(now - 1), owner: 'old' },
      ]);
      // With and without maxLifetime: the two commands that replace a dead document.
      await storeOn(name, { now: () => now, userOf, maxLifetime: HOUR }).set('expired-1', session({ user: 'ana' }, now + HOUR));
      await storeOn(name, { now: () => now, userOf }).set('expired-2', session({}, now + HOUR));
      expect(await ownerOf(name, 'expired-1')).toBe('ana');
      expect(await raw(name).findOne({ _id: 'expired-2' })).not.toHaveProperty('owner');
    });

    it('holds the SHA-256 of the user id with hashIds or encryptionKeys, never the id itself', async () => {
      for (const atRest of [{ hashIds: true }, { encryptionKeys: [Buffer.alloc(32, 7)] }]) {
        const name = collectionName();
        const store = storeOn(name, { userOf, ...atRest });
        await store.set('sid-1', session({ user: 'ana' }));
        await store.set('sid-2', session({ user: 'ana' }));
        const owners = (await raw(name).find({}).toArray()).map((document) => document.owner);
        expect(owners[0]).toMatch(/^[A-Za-z0-9_-]{43}$/);
        expect(owners).toEqual([owners[0], owners[0]]);
        expect((await store.sessionsOf('ana')).map((listed) => listed.session)).toEqual([expect.objectContaining({ user: 'ana' }), expect.objectContaining({ user: 'ana' })]);
      }
    });

    it('get, set, touch and destroy stay one command each with userOf, and sessionsOf is one find', async () => {
      const { store, sent, close } = await countingStore({ userOf });
      try {
        expect(await sent(() => store.set('sid-1', session({ user: 'ana' })))).toEqual(['update']);
        expect(await sent(() => store.set('sid-1', session({ user: 'ana', n: 2 })))).toEqual(['update']);
        expect(await sent(() => store.set('sid-1', session({ user: 'bob' })))).toEqual(['update']);
        expect(await sent(() => store.get('sid-1'))).toEqual(['find']);
        expect(await sent(() => store.touch('sid-1', session({ user: 'bob' }, Date.now() + HOUR)))).toEqual(['update']);
        expect(await sent(() => store.sessionsOf('bob'))).toEqual(['find']);
        expect(await sent(() => store.destroy('sid-1'))).toEqual(['update']);
      } finally {
        await close();
      }
    });

    it(`creates the index { owner: 1 } named owner_1 with userOf only, ${onFerretDb ? 'plain on FerretDB v1, which has no partial indexes' : 'partial on the documents that have an owner'}`, async () => {
      const name = collectionName();
      await storeOn(name, { userOf }).length();
      const index = (await raw(name).listIndexes().toArray()).find((each) => each.name === 'owner_1');
      expect(index).toEqual(expect.objectContaining({ key: { owner: 1 } }));
      if (onFerretDb) expect(index).not.toHaveProperty('partialFilterExpression');
      else expect(index).toEqual(expect.objectContaining({ partialFilterExpression: { owner: { $exists: true } } }));
      for (const without of [storeOn(collectionName()), storeOn(collectionName(), { userOf, createIndex: false })]) {
        await without.set('sid-1', session({ user: 'ana' }));
        expect((await without.collection.listIndexes().toArray()).map((each) => each.name)).not.toContain('owner_1');
      }
    });

    it('takes an existing index on owner under another name as it is', async () => {
      const name = collectionName();
      await raw(name).createIndex({ owner: 1 }, { name: 'by_owner' });
      const store = storeOn(name, { userOf });
      await store.set('sid-1', session({ user: 'ana' }));
      expect((await store.sessionsOf('ana')).map((listed) => listed.id)).toEqual(['sid-1']);
    });

    it('is refused with the command to create the index by hand when another index took the name owner_1, on every call', async () => {
      const name = collectionName();
      await raw(name).createIndex({ device: 1 }, { name: 'owner_1' });
      const store = storeOn(name, { userOf });
      for (const attempt of [() => store.set('sid-1', session({ user: 'ana' })), () => store.sessionsOf('ana')]) {
        const error = await attempt().catch((e: unknown) => e);
        expect(error).toMatchObject({ code: 'ERR_SESSION_BACKEND', message: expect.stringContaining('an index named owner_1 exists on other fields') });
        expect((error as Error).message).toContain("partialFilterExpression: { owner: { $exists: true } }");
      }
    });

    it('passes the layout check on a collection whose first document has an owner', async () => {
      const name = collectionName();
      await raw(name).insertOne({ _id: 'sid-o', session: JSON.stringify(session({ user: 'ana' })), expires: new Date(Date.now() + HOUR), owner: 'ana' });
      const store = storeOn(name, { userOf });
      await expect(store.set('sid-1', session({ user: 'ana' }))).resolves.toBeUndefined();
      expect((await store.sessionsOf('ana')).map((listed) => listed.id).sort()).toEqual(['sid-1', 'sid-o']);
    });

    (onFerretDb ? it.skip : it)(
      onFerretDb ? `could not run: ${backendServer('mongo')} plans no query by a secondary index (its explain shows filterPushdown false)` : "sessionsOf's find is answered by the owner index, not a collection scan",
      async () => {
        const monitored = new MongoClient(url, { monitorCommands: true });
        const finds: Array<Record<string, unknown>> = [];
        monitored.on('commandStarted', (event) => event.commandName === 'find' && finds.push(event.command));
        const store = storeOn(collectionName(), { client: monitored, userOf });
        try {
          await store.set('sid-1', session({ user: 'ana' }));
          finds.length = 0;
          await store.sessionsOf('ana');
          const [{ find, filter, projection }] = finds as [{ find: string; filter: unknown; projection: unknown }];
          const explained = await client.db(TEST_DB).command({ explain: { find, filter, projection }, verbosity: 'queryPlanner' });
          const plan = JSON.stringify(explained.queryPlanner.winningPlan);
          expect(plan).toContain('"indexName":"owner_1"');
          expect(plan).not.toContain('COLLSCAN');
        } finally {
          await store.close();
          await monitored.close();
        }
      },
    );
  });

  describe('errors', () => {
    it('carry neither the session id nor the session data, cause chain included, when the server refuses a write', async () => {
      const name = collectionName();
      // A unique index on the payload makes the second write a duplicate-key error, which MongoDB
      // answers quoting the payload (errmsg and keyValue); FerretDB v1 names only the collection.
      await raw(name).createIndex({ session: 1 }, { unique: true });
      const store = storeOn(name);
      const marker = 'MARKER-5f3e9a';
      const first = 'sid-first-7d1c2b9e4a6f8d0c';
      const second = 'sid-second-3b8e1f6a9c2d4e7f';
      const until = Date.now() + HOUR;
      await store.set(first, session({ marker }, until));
      const error = await store.set(second, session({ marker }, until)).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'ERR_SESSION_BACKEND' });
      const printed = inspect(error, { depth: 10 });
      for (const secret of [marker, first, second]) expect(printed).not.toContain(secret);
    });
  });

  describe('a collection that is not a session collection', () => {
    it('is refused before any write or delete, and keeps its documents', async () => {
      const name = collectionName('orders');
      await raw(name).insertMany([{ _id: 'order-1', total: 5 }, { _id: 'order-2', total: 7 }] as never);
      const store = storeOn(name);
      for (const attempt of [() => store.set('sid-1', session()), () => store.clear(), () => store.prune(), () => store.destroy('order-1')]) {
        const error = await attempt().catch((e: unknown) => e);
        expect(error).toMatchObject({ code: 'ERR_SESSION_BACKEND', message: expect.stringContaining('holds documents that are not sessions') });
      }
      expect(await raw(name).countDocuments()).toBe(2);
    });
  });

  describe('ownership', () => {
    it('close leaves the caller\'s client open', async () => {
      const store = new MongoStore({ client, dbName: TEST_DB, collectionName: collectionName() });
      await store.length();
      await store.close();
      await expect(client.db(TEST_DB).command({ ping: 1 })).resolves.toMatchObject({ ok: 1 });
    });

    it('a store opened from a url works and closes its own client', async () => {
      const name = collectionName();
      const store = new MongoStore({ url, dbName: TEST_DB, collectionName: name });
      await store.set('sid-1', session({ n: 1 }));
      expect(await store.get('sid-1')).toMatchObject({ n: 1 });
      await store.close();
      expect(store.client).not.toBe(client);
      expect(await raw(name).countDocuments()).toBe(1);
    });
  });
});
