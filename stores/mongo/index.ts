import { MongoClient, type Collection, type MongoClientOptions } from 'mongodb';
import { SessionStore, SessionStoreError, booleanOption, connectionOf, optionError, ownOptionNames, validateIdentifier } from '../../shared';
import type { BaseStoreOptions, ReaperOptions, StoredEntry, StoredSession } from '../../shared';
import { indexRefusalMessage, isIndexRefusal, isIndexUnsupported, isMissingCollection, isUnreachableError } from './errors';
import { TTL_INDEX, TTL_INDEX_NAME, findIndexOnExpires, isTtlIndexOnExpires } from './ttl-index';

/**
 * One session as MongoDB holds it: connect-mongo's default layout, so either store reads the
 * other's documents. `lastModified` is written only by connect-mongo (with its `touchAfter`).
 */
export interface SessionDocument {
  _id: string;
  /** The session encoded by the store's serializer (JSON by default), as connect-mongo's `stringify: true`. */
  session: string;
  expires: Date;
  lastModified?: Date;
}

type ProjectedSession = Partial<Pick<SessionDocument, '_id' | 'session' | 'expires'>>;

export interface MongoStoreOptions extends BaseStoreOptions, ReaperOptions {
  /** A MongoClient the caller owns: the store never closes it. */
  client?: MongoClient;
  /** A connection string for a client the store opens itself and closes in `close()`. */
  url?: string;
  /** Options for the client opened from `url`. */
  clientOptions?: MongoClientOptions;
  /** The database; default: the one named in the connection string (the driver's default otherwise). */
  dbName?: string;
  /** The collection holding the sessions. Default `sessions`, connect-mongo's. */
  collectionName?: string;
  /**
   * Create the TTL index `{ expires: 1 }` (expireAfterSeconds 0) before the first call. Default
   * true. Pass false when operators manage indexes and the database user may not create them.
   * A server without TTL indexes (FerretDB v1, some managed services) gets the reaper instead.
   */
  createIndex?: boolean;
}

const COLLECTION_NAME_PATTERN = /^(?!system\.)[A-Za-z0-9_][A-Za-z0-9_.-]{0,119}$/;
const DB_NAME_PATTERN = /^[A-Za-z0-9_-]{1,63}$/;
const SYSTEM_DATABASES = new Set(['admin', 'local', 'config']);
const SCAN_BATCH = 1000;
const DRIVER_TIMEOUT_MARGIN_MS = 50;

/**
 * Sessions in one MongoDB collection, in connect-mongo's document layout: `_id` is the session
 * id, `session` the encoded session, `expires` a Date under a TTL index. Every query also filters
 * on `expires`, since the server's TTL monitor deletes expired documents only about once a minute.
 */
export class MongoStore extends SessionStore {
  /** The client the store works through, opened by it or handed in. */
  readonly client: MongoClient;
  readonly collection: Collection<SessionDocument>;
  private readonly namespace: string;
  private readonly createIndex: boolean;
  /**
   * Each per-request command carries the operation timeout as the driver's own `timeoutMS`, so a
   * call the store has given up on is abandoned by the driver too: it cannot wait for a connection
   * through an outage and land after a later write of the same session.
   */
  private readonly bound: { timeoutMS?: number };

  constructor(options: MongoStoreOptions) {
    super('mongo', options, {
      ownOptions: ownOptionNames<MongoStoreOptions>({ client: true, url: true, clientOptions: true, dbName: true, collectionName: true, createIndex: true }),
    });
    options ??= {};
    const { dbName, collectionName = 'sessions' } = options;
    const collection = validateIdentifier(
      'mongo',
      'collectionName',
      collectionName,
      COLLECTION_NAME_PATTERN,
      'letters, digits, _ . and -, at most 120 characters, not starting with system.',
    );
    if (dbName !== undefined) {
      validateIdentifier('mongo', 'dbName', dbName, DB_NAME_PATTERN, 'letters, digits, _ and -, at most 63 characters');
    }
    this.createIndex = booleanOption('mongo', 'createIndex', options.createIndex, true);
    this.client = this.adopt(
      connectionOf('mongo', options, {
        given: 'client',
        what: 'a MongoClient',
        accepts: (client) => typeof (client as { db?: unknown }).db === 'function',
        opened: ['url'],
        openOnly: ['clientOptions'],
        open: ({ url, clientOptions }) => openClient(url, clientOptions),
      }),
      (client) => client.close(),
    );
    // A little after the store's own deadline, so a caller sees ERR_SESSION_TIMEOUT, then the driver lets go.
    this.bound = this.settings.operationTimeoutMs === Infinity ? {} : { timeoutMS: this.settings.operationTimeoutMs + DRIVER_TIMEOUT_MARGIN_MS };
    const db = this.client.db(dbName);
    if (SYSTEM_DATABASES.has(db.databaseName)) {
      throw optionError('mongo', `the database ${db.databaseName} is one of the server's own; name another with dbName or in the connection string`);
    }
    this.collection = db.collection<SessionDocument>(collection);
    this.namespace = `${db.databaseName}.${collection}`;
  }

  protected async readRecord(key: string, now: number): Promise<StoredSession | null> {
    const document = await this.collection.findOne<ProjectedSession>(
      { _id: key, expires: { $gt: new Date(now) } },
      { projection: { _id: 0, session: 1, expires: 1 }, ...this.bound },
    );
    return document && { payload: document.session, expiresAt: expiresAtOf(document) };
  }

  /** Fields other tools added (connect-mongo's timestamps) are kept. */
  protected async writeRecord(key: string, payload: string, expiresAt: number): Promise<void> {
    await this.collection.updateOne({ _id: key }, { $set: { session: payload, expires: new Date(expiresAt) } }, { upsert: true, ...this.bound });
  }

  /** Matches only a live document and, with `touchAfter`, one whose expiry is before `unlessExpiresAfter`: a skipped touch writes nothing. */
  protected async extendRecord(key: string, expiresAt: number, now: number, unlessExpiresAfter: number | undefined): Promise<void> {
    const expires = unlessExpiresAfter === undefined ? { $gt: new Date(now) } : { $gt: new Date(now), $lt: new Date(unlessExpiresAfter) };
    await this.collection.updateOne({ _id: key, expires }, { $set: { expires: new Date(expiresAt) } }, { upsert: false, ...this.bound });
  }

  protected async removeRecord(key: string): Promise<void> {
    await this.collection.deleteOne({ _id: key }, this.bound);
  }

  protected async *scanRecords(now: number, withPayload: boolean): AsyncIterable<StoredEntry[]> {
    const cursor = this.collection.find<ProjectedSession>(
      { expires: { $gt: new Date(now) } },
      { projection: withPayload ? { _id: 1, session: 1, expires: 1 } : { _id: 1, expires: 1 }, batchSize: SCAN_BATCH },
    );
    try {
      let batch: StoredEntry[] = [];
      for await (const document of cursor) {
        const entry: StoredEntry = { key: String(document._id), expiresAt: expiresAtOf(document) };
        if (withPayload) entry.payload = document.session;
        batch.push(entry);
        if (batch.length === SCAN_BATCH) {
          yield batch;
          batch = [];
        }
      }
      if (batch.length > 0) yield batch;
    } finally {
      await cursor.close();
    }
  }

  protected async countRecords(now: number): Promise<number> {
    return this.collection.countDocuments({ expires: { $gt: new Date(now) } });
  }

  /** The collection is the store's namespace, checked to hold sessions only before this runs. */
  protected async removeAllRecords(): Promise<void> {
    await this.collection.deleteMany({});
  }

  /**
   * The ids of at most `limit` expired sessions, then those of them still expired. The server's TTL
   * monitor leaves few, where it has TTL indexes; FerretDB v1 has none.
   */
  protected async removeExpiredRecords(now: number, limit: number): Promise<number> {
    const expired = await this.collection.find(expiredFilter(now), { projection: { _id: 1 }, limit }).toArray();
    if (expired.length === 0) return 0;
    const ids = expired.map((document) => document._id);
    const { deletedCount } = await this.collection.deleteMany({ _id: { $in: ids }, ...expiredFilter(now) });
    // A batch that another reaper emptied first still counts as full, so the base goes on to the next one.
    return expired.length === limit ? limit : deletedCount;
  }

  protected async ping(): Promise<void> {
    await this.client.db('admin').command({ ping: 1 });
  }

  protected isUnavailableError(error: unknown): boolean {
    return isUnreachableError(error) || super.isUnavailableError(error);
  }

  /** The layout check, then the TTL index; a refusal (foreign documents, privilege, conflicting index) is the answer of every call until fixed. */
  protected async ready(): Promise<void> {
    await this.checkLayout();
    if (this.createIndex) await this.createTtlIndex();
  }

  /**
   * Refuses a collection that holds anything but sessions, before the first write or delete: the
   * first document in natural order must be in the session layout. One round trip, once.
   */
  private async checkLayout(): Promise<void> {
    const first = await this.collection.findOne({}, { projection: { _id: 1, session: 1, expires: 1 } });
    if (first === null || isSessionShaped(first)) return;
    throw new SessionStoreError(
      'ERR_SESSION_BACKEND',
      `collection ${this.namespace} holds documents that are not sessions (a session document has a string _id, session and expires); choose another collectionName`,
      { store: this.storeName },
    );
  }

  private async createTtlIndex(): Promise<void> {
    try {
      await this.collection.createIndex(TTL_INDEX.key, TTL_INDEX.options);
    } catch (error) {
      if (isIndexUnsupported(error)) return await this.withoutTtlIndex();
      if (!isIndexRefusal(error)) throw error;
      // A user without the createIndex privilege may still find the index made by someone who has it.
      const indexes = await this.collection
        .listIndexes()
        .toArray()
        .catch((listError: unknown) => {
          if (isIndexRefusal(listError) || isMissingCollection(listError)) return [];
          throw listError;
        });
      if (indexes.some(isTtlIndexOnExpires)) return;
      throw new SessionStoreError('ERR_SESSION_BACKEND', indexRefusalMessage(error, this.namespace, findIndexOnExpires(indexes)), {
        store: this.storeName,
        cause: error,
      });
    }
  }

  /** The server has no TTL indexes: a plain index on `expires` for the reaper's query, and one warning. */
  private async withoutTtlIndex(): Promise<void> {
    await this.collection.createIndex(TTL_INDEX.key, { name: TTL_INDEX_NAME });
    this.emit(
      'warning',
      new SessionStoreError(
        'ERR_SESSION_UNSUPPORTED',
        `the server of ${this.namespace} has no TTL indexes; only the reaper deletes expired sessions (pruneInterval, default every 15 minutes; with 0, call prune() from a job)`,
        { store: this.storeName },
      ),
    );
  }
}

function expiredFilter(now: number): { expires: { $lte: Date } } {
  return { expires: { $lte: new Date(now) } };
}

/** A document whose `expires` is not a Date reads as already expired. */
function expiresAtOf(document: ProjectedSession): number {
  return document.expires instanceof Date ? document.expires.getTime() : NaN;
}

function isSessionShaped(document: { _id?: unknown; session?: unknown; expires?: unknown }): boolean {
  return typeof document._id === 'string' && 'session' in document && 'expires' in document;
}

function openClient(url: unknown, clientOptions: MongoClientOptions | undefined): MongoClient {
  if (typeof url !== 'string' || url.length === 0) throw optionError('mongo', 'url must be a non-empty connection string');
  try {
    return new MongoClient(url, clientOptions);
  } catch (error) {
    // The driver's message and its cause quote the connection string, password included: none of it goes into ours.
    throw optionError('mongo', `url could not be parsed as a mongodb:// or mongodb+srv:// connection string (${error instanceof Error ? error.name : typeof error})`);
  }
}
