import { randomBytes } from 'node:crypto';
import ConnectMongo from 'connect-mongo';
import type { SessionData } from 'express-session';
import { MongoClient, type Collection } from 'mongodb';
import type { MongoStore, MongoStoreOptions, SessionDocument } from '../stores/mongo';
import { storeOn } from '../stores/mongo/fixtures/factory';
import { describeMongoServer, mongoServersProblem, startMongoServer } from '../test/support/mongo-servers';
import { AT_REST_NOTE, withAtRestVariants, type AtRestOptions } from './at-rest';
import { callbackOperationsOf, makeSession, operationsOf, type BenchSuite, type Contender } from './harness';
import { PRUNE_LIVE_ROWS, PRUNE_PAYLOAD, PRUNE_ROWS, StatementTimes, measuredPrune } from './prune';
import { measureUserIndex, userOf, type CrowdedStore } from './user-index';

const DB_NAME = 'session_stores_bench';
const DEFAULT_URL = 'mongodb://127.0.0.1:27017';
/** The base's default, which MongoStore keeps. */
const PRUNE_BATCH_SIZE = 1000;
const INSERT_CHUNK = 5000;
/** The commands one prune batch sends: the ids of expired sessions, the rest of them, their deletion. */
const PRUNE_COMMANDS = new Set(['find', 'getMore', 'delete']);

/**
 * `MONGO_URL`, else a server answering on the default port, else a throwaway server (`mongod`, or
 * FerretDB built from test/ferretdb; killed and removed when the process exits); undefined with
 * the reason when there is none.
 */
export async function findServer(): Promise<{ url: string; server: string; lacksTtl: boolean } | { reason: string }> {
  const explicit = process.env.MONGO_URL;
  const url = explicit ?? DEFAULT_URL;
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 2000 });
  try {
    await client.db('admin').command({ ping: 1 });
    const { server, lacks } = await describeMongoServer(url);
    return { url, server, lacksTtl: lacks.includes('ttl-indexes') };
  } catch (error) {
    if (explicit) return { reason: `MONGO_URL does not answer: ${error instanceof Error ? error.message : String(error)}` };
  } finally {
    await client.close();
  }
  const problem = mongoServersProblem();
  if (problem !== undefined) return { reason: `nothing answers at ${DEFAULT_URL} (MONGO_URL is unset), and ${problem}` };
  const throwaway = await startMongoServer({ log: (line) => process.stderr.write(`${line}\n`) });
  const { server, lacks } = await describeMongoServer(throwaway.url);
  return { url: throwaway.url, server: `${server}, a throwaway on port ${throwaway.port}`, lacksTtl: lacks.includes('ttl-indexes') };
}

const collectionNameFor = (label: string) => `bench_${label}_${randomBytes(4).toString('hex')}`;


const expiresOf = (data: SessionData) => new Date(data.cookie.expires as unknown as string);


function ours(url: string, name: string, options: AtRestOptions & Pick<MongoStoreOptions, 'userOf'>): Contender {
  let store: MongoStore;
  return {
    name,
    kind: 'ours',
    async setup() {
      store = storeOn({ url, dbName: DB_NAME, collectionName: collectionNameFor('ours'), ...options });
      await store.length();
    },
    ...operationsOf(() => store),
    async teardown() {
      await store.collection.drop().catch(() => undefined);
      await store.close();
    },
  };
}

/**
 * connect-mongo with its defaults (stringify, native TTL index), on a client of its own; on a
 * server without TTL indexes its create() fails, so there with `autoRemove: 'disabled'`.
 */
function connectMongo(url: string, lacksTtl: boolean): Contender {
  let store: ConnectMongo;
  return {
    name: 'connect-mongo',
    kind: 'alternative',
    async setup() {
      store = ConnectMongo.create({
        mongoUrl: url,
        dbName: DB_NAME,
        collectionName: collectionNameFor('connect_mongo'),
        ...(lacksTtl ? { autoRemove: 'disabled' as const } : {}),
      });
      await store.collectionP;
    },
    ...callbackOperationsOf(() => store),
    async teardown() {
      await (await store.collectionP).drop().catch(() => undefined);
      await store.close();
    },
  };
}

const OTHER_USERS = 1000;
const FILL_BATCH = 1000;
/** Runs per size: on FerretDB v1 every find scans the collection, so 100,000 sessions take seconds a run. */
const USER_RUNS = 5;

/**
 * A collection holding `crowd` sessions of OTHER_USERS other users, inserted as MongoStore writes
 * them (owner = the user id, as userOf gives it without hashIds), since filling through set would
 * take minutes on FerretDB v1.
 */
async function crowdedStore(url: string, crowd: number): Promise<CrowdedStore> {
  // Generous bounds: on FerretDB v1 a find by owner scans the collection.
  const store = storeOn({ url, dbName: DB_NAME, collectionName: collectionNameFor('users'), userOf, operationTimeout: 120_000, pruneInterval: 0 });
  const drop = async () => {
    await store.collection.drop().catch(() => undefined);
    await store.close();
  };
  try {
    await store.length();
    const session = makeSession();
    const expires = expiresOf(session);
    for (let first = 0; first < crowd; first += FILL_BATCH) {
      const documents: SessionDocument[] = Array.from({ length: Math.min(FILL_BATCH, crowd - first) }, (_, n) => {
        const user = `other-${(first + n) % OTHER_USERS}`;
        return { _id: `bench-other-${first + n}`, session: JSON.stringify({ ...session, user: { id: user } }), expires, owner: user };
      });
      await store.collection.insertMany(documents);
    }
    return { store, drop };
  } catch (error) {
    await drop();
    throw error;
  }
}

/** MongoStore's commands sent by hand through the driver: the floor any store on it can reach. */
function rawFloor(url: string, lacksTtl: boolean): Contender {
  let client: MongoClient;
  let collection: Collection<SessionDocument>;
  return {
    name: 'raw mongodb driver',
    kind: 'floor',
    async setup() {
      client = new MongoClient(url);
      collection = client.db(DB_NAME).collection<SessionDocument>(collectionNameFor('raw'));
      // The index MongoStore makes: TTL where the server has TTL indexes, a plain one where it has not.
      await collection.createIndex({ expires: 1 }, lacksTtl ? { name: 'expires_1' } : { name: 'expires_1', expireAfterSeconds: 0, background: true });
    },
    async get(sid) {
      const document = await collection.findOne<Pick<SessionDocument, 'session' | 'expires'>>(
        { _id: sid, expires: { $gt: new Date() } },
        { projection: { _id: 0, session: 1, expires: 1 } },
      );
      return document === null ? null : JSON.parse(document.session);
    },
    async set(sid, data) {
      await collection.updateOne({ _id: sid }, { $set: { session: JSON.stringify(data), expires: expiresOf(data) } }, { upsert: true });
    },
    async touch(sid, data) {
      await collection.updateOne({ _id: sid, expires: { $gt: new Date() } }, { $set: { expires: expiresOf(data) } });
    },
    async destroy(sid) {
      await collection.deleteOne({ _id: sid });
    },
    async teardown() {
      await collection.drop().catch(() => undefined);
      await client.close();
    },
  };
}

/**
 * Fills a collection with PRUNE_ROWS expired sessions among PRUNE_LIVE_ROWS live ones, lets one
 * MongoStore prune it, and times the whole run and every command of it, as the driver measures them.
 * Run by `npm run bench -- prune mongo` only: where the server has TTL indexes they delete expired
 * sessions, and FerretDB v1 scans the whole collection for every command.
 */
export async function measurePrune(): Promise<string[]> {
  const server = await findServer();
  if ('reason' in server) return [`prune: skipped (${server.reason})`];
  const client = new MongoClient(server.url, { monitorCommands: true });
  const collectionName = collectionNameFor('prune');
  try {
    const now = Date.now();
    const store = storeOn({ client, dbName: DB_NAME, collectionName, pruneInterval: 0, operationTimeout: 60_000 }, { now: () => now });
    await store.length();
    const documents = (count: number, id: (i: number) => string, expires: (i: number) => number) => {
      const chunks: SessionDocument[][] = [];
      for (let start = 0; start < count; start += INSERT_CHUNK) {
        chunks.push(Array.from({ length: Math.min(INSERT_CHUNK, count - start) }, (_, k) => ({ _id: id(start + k), session: PRUNE_PAYLOAD, expires: new Date(expires(start + k)) })));
      }
      return chunks;
    };
    for (const chunk of documents(PRUNE_ROWS, (i) => `expired-${i}`, (i) => now - 1 - (i % 100_000))) await store.collection.insertMany(chunk, { ordered: false });
    for (const chunk of documents(PRUNE_LIVE_ROWS, (i) => `live-${i}`, (i) => now + 1 + i)) await store.collection.insertMany(chunk, { ordered: false });

    const statements = new StatementTimes();
    const timed = (event: { commandName: string; duration: number }) => {
      if (PRUNE_COMMANDS.has(event.commandName)) statements.ms.push(event.duration);
    };
    client.on('commandSucceeded', timed);
    client.on('commandFailed', timed);
    return await measuredPrune({
      store,
      statements,
      statementKind: 'commands',
      batchSize: PRUNE_BATCH_SIZE,
      expiredRows: PRUNE_ROWS,
      liveRows: PRUNE_LIVE_ROWS,
      async countLeft() {
        client.off('commandSucceeded', timed);
        client.off('commandFailed', timed);
        return client.db(DB_NAME).collection(collectionName).countDocuments();
      },
    });
  } finally {
    await client.db(DB_NAME).collection(collectionName).drop().catch(() => undefined);
    await client.close();
  }
}

export default async function mongoSuite(): Promise<BenchSuite> {
  const server = await findServer();
  if ('reason' in server) {
    process.stdout.write(`mongo bench skipped: ${server.reason}\n`);
    // Nothing to measure is not a failure: the bench runs wherever a server exists.
    process.exit(0);
  }
  const driver = (require('mongodb/package.json') as { version: string }).version;
  const connectMongoVersion = (require('connect-mongo/package.json') as { version: string }).version;
  const operations = ['get', 'set', 'touch', 'destroy'] as const;
  const userCosts = await measureUserIndex((crowd) => crowdedStore(server.url, crowd), { runs: USER_RUNS, warmUps: 1 });
  return {
    name: 'mongo',
    contenders: [
      ...withAtRestVariants('MongoStore', (name, options) => ours(server.url, name, options)),
      { ...ours(server.url, 'MongoStore + userOf', { userOf: userOf }), baseline: 'MongoStore' },
      connectMongo(server.url, server.lacksTtl),
      rawFloor(server.url, server.lacksTtl),
    ],
    targets: [
      ...operations.map((operation) => ({ operation, against: 'connect-mongo', atLeast: 1 })),
      ...operations.map((operation) => ({ operation, against: 'raw mongodb driver', atLeast: 1 / 1.15 })),
    ],
    notes: [
      `server: ${server.server}`,
      `mongodb driver ${driver}, connect-mongo ${connectMongoVersion}, database ${DB_NAME} (collections dropped afterwards)`,
      `every contender on a client of its own with the driver defaults; connect-mongo with its defaults (stringify, ${server.lacksTtl ? "autoRemove 'disabled': the server has no TTL indexes" : 'TTL index'})`,
      AT_REST_NOTE,
      'userOf variant: the session\'s user.id, every bench session of one user; against the same store without it',
      `sessions of ${OTHER_USERS} other users inserted directly, as MongoStore writes them:`,
      ...userCosts.map((line) => `  ${line}`),
    ],
  };
}
