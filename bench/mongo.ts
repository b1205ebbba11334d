import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import ConnectMongo from 'connect-mongo';
import type { SessionData } from 'express-session';
import { MongoClient, type Collection } from 'mongodb';
import type { UserOf } from '../shared';
import type { MongoStore, MongoStoreOptions, SessionDocument } from '../stores/mongo';
import { storeOn } from '../stores/mongo/fixtures/factory';
import { describeMongoServer, mongoServersProblem, startMongoServer } from '../test/support/mongo-servers';
import { AT_REST_NOTE, withAtRestVariants, type AtRestOptions } from './at-rest';
import { callbackOperationsOf, makeSession, operationsOf, type BenchSuite, type Contender } from './harness';

const DB_NAME = 'session_stores_bench';
const DEFAULT_URL = 'mongodb://127.0.0.1:27017';

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

/** The bench session's user id (makeSession's `user.id`), as an app's userOf would name it. */
const USER_OF: UserOf = (session) => (session as { user?: { id?: number } }).user?.id;

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

/** The user measured: makeSession's other users are 1 to OTHER_USERS. */
const MEASURED_USER = 0;
const USER_SESSIONS = 10;
const OTHER_USERS = 1000;
const STORE_SIZES = [1_000, 100_000];
const USER_ROUNDS = 5;
const FILL_BATCH = 1000;

/**
 * sessionsOf and destroySessionsOf of one user with USER_SESSIONS sessions, in a store that holds
 * each of STORE_SIZES sessions of OTHER_USERS other users: the median of USER_ROUNDS, in ms, per size.
 * The sessions are inserted as MongoStore writes them (owner = the user id, as userOf gives it
 * without hashIds), since filling through set would measure set.
 */
async function userSessionCosts(url: string, log: (line: string) => void): Promise<string[]> {
  const lines: string[] = [];
  for (const size of STORE_SIZES) {
    // Generous bounds: on FerretDB v1 a find by owner scans the collection.
    const store = storeOn({ url, dbName: DB_NAME, collectionName: collectionNameFor('users'), userOf: USER_OF, operationTimeout: 120_000, pruneInterval: 0 });
    try {
      await store.length();
      log(`filling ${size} sessions of ${OTHER_USERS} other users`);
      for (let first = 0; first < size; first += FILL_BATCH) {
        await store.collection.insertMany(userDocuments('other', first, Math.min(FILL_BATCH, size - first), (i) => 1 + (i % OTHER_USERS)));
      }
      const listing: number[] = [];
      const ending: number[] = [];
      for (let round = 0; round < USER_ROUNDS; round++) {
        await store.collection.insertMany(userDocuments(`mine-${round}`, 0, USER_SESSIONS, () => MEASURED_USER));
        listing.push(await timed(async () => expectCount('sessionsOf', (await store.sessionsOf(MEASURED_USER)).length)));
        ending.push(await timed(async () => expectCount('destroySessionsOf', await store.destroySessionsOf(MEASURED_USER))));
      }
      lines.push(`${size} other sessions: sessionsOf ${median(listing).toFixed(2)} ms, destroySessionsOf ${median(ending).toFixed(2)} ms`);
      log(lines.at(-1)!);
    } finally {
      await store.collection.drop().catch(() => undefined);
      await store.close();
    }
  }
  return lines;
}

function userDocuments(prefix: string, first: number, count: number, userOfIndex: (i: number) => number): SessionDocument[] {
  const session = makeSession();
  const expires = expiresOf(session);
  return Array.from({ length: count }, (_, n) => {
    const user = userOfIndex(first + n);
    return { _id: `bench-${prefix}-${first + n}`, session: JSON.stringify({ ...session, user: { id: user } }), expires, owner: String(user) };
  });
}

function expectCount(call: string, count: number): void {
  if (count !== USER_SESSIONS) throw new Error(`${call} found ${count} sessions of the user, not ${USER_SESSIONS}`);
}

async function timed(call: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await call();
  return performance.now() - started;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
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
  const userCosts = await userSessionCosts(server.url, (line) => process.stderr.write(`${line}\n`));
  return {
    name: 'mongo',
    contenders: [
      ...withAtRestVariants('MongoStore', (name, options) => ours(server.url, name, options)),
      { ...ours(server.url, 'MongoStore + userOf', { userOf: USER_OF }), baseline: 'MongoStore' },
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
      `one user's ${USER_SESSIONS} sessions (sessionsOf, then destroySessionsOf; median of ${USER_ROUNDS}) beside sessions of ${OTHER_USERS} other users:`,
      ...userCosts.map((line) => `  ${line}`),
    ],
  };
}
