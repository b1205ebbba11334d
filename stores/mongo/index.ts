import { MongoClient, type Collection, type MongoClientOptions } from 'mongodb';
import { SessionStore, SessionStoreError, SharedAttempt, optionError, ownOptionNames, resolvePruneInterval, validateIdentifier } from '../../shared';
import type { BaseStoreOptions, StoredEntry, StoredSession } from '../../shared';
import {
  ALL_FILTER,
  EXTEND_OPTIONS,
  READ_PROJECTION,
  TTL_INDEX,
  TTL_INDEX_NAME,
  WRITE_OPTIONS,
  entryOf,
  extendFilter,
  extendUpdate,
  findIndexOnExpires,
  idFilter,
  isTtlIndexOnExpires,
  liveFilter,
  readFilter,
  recordOf,
  scanProjection,
  writeUpdate,
  type ProjectedSession,
  type SessionDocument,
} from './documents';
import { indexRefusalMessage, isIndexRefusal, isIndexUnsupported, isMissingCollection, isUnreachableError } from './errors';

export interface MongoStoreOptions extends BaseStoreOptions {
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
  /**
   * Milliseconds between runs of the reaper, which deletes expired sessions in batches. Default:
   * the reaper runs (every 15 minutes) only when the server refuses TTL indexes as not implemented.
   * A number runs it whatever the index; 0 never runs it.
   */
  pruneInterval?: number;
}

export type { SessionDocument } from './documents';

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
  private readonly ownsClient: boolean;
  private readonly namespace: string;
  private readonly setup: SharedAttempt;
  /**
   * Each per-request command carries the operation timeout as the driver's own `timeoutMS`, so a
   * call the store has given up on is abandoned by the driver too: it cannot wait for a connection
   * through an outage and land after a later write of the same session.
   */
  private readonly options: {
    read: { projection: typeof READ_PROJECTION; timeoutMS?: number };
    write: typeof WRITE_OPTIONS & { timeoutMS?: number };
    extend: typeof EXTEND_OPTIONS & { timeoutMS?: number };
    remove: { timeoutMS?: number };
  };
  /** No pruneInterval given: the reaper starts if the server turns out to have no TTL indexes. */
  private readonly pruneByDefault: boolean;
  private readonly pruneOff: boolean;

  constructor(options: MongoStoreOptions) {
    super('mongo', options, {
      pruneIntervalMs: resolvePruneInterval('mongo', options),
      ownOptions: ownOptionNames<MongoStoreOptions>({ client: true, url: true, clientOptions: true, dbName: true, collectionName: true, createIndex: true, pruneInterval: true }),
    });
    const { client, url, clientOptions, dbName, collectionName = 'sessions', createIndex = true, pruneInterval } = options ?? {};
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
    if (typeof createIndex !== 'boolean') throw optionError('mongo', `createIndex must be a boolean, got ${typeof createIndex}`);
    if ((client === undefined) === (url === undefined)) {
      throw optionError('mongo', 'exactly one of client (a MongoClient) or url must be given');
    }
    if (client !== undefined) {
      if (typeof (client as { db?: unknown } | null)?.db !== 'function') throw optionError('mongo', 'client must be a MongoClient');
      if (clientOptions !== undefined) throw optionError('mongo', 'clientOptions apply to a client the store opens from url; set them on your own client');
      this.client = client;
      this.ownsClient = false;
    } else {
      if (typeof url !== 'string' || url.length === 0) throw optionError('mongo', 'url must be a non-empty connection string');
      this.client = openClient(url, clientOptions);
      this.ownsClient = true;
    }
    // A little after the store's own deadline, so a caller sees ERR_SESSION_TIMEOUT, then the driver lets go.
    const bound = this.settings.operationTimeoutMs === Infinity ? {} : { timeoutMS: this.settings.operationTimeoutMs + DRIVER_TIMEOUT_MARGIN_MS };
    this.options = {
      read: { projection: READ_PROJECTION, ...bound },
      write: { ...WRITE_OPTIONS, ...bound },
      extend: { ...EXTEND_OPTIONS, ...bound },
      remove: bound,
    };
    const db = this.client.db(dbName);
    if (SYSTEM_DATABASES.has(db.databaseName)) {
      throw optionError('mongo', `the database ${db.databaseName} is one of the server's own; name another with dbName or in the connection string`);
    }
    this.collection = db.collection<SessionDocument>(collection);
    this.namespace = `${db.databaseName}.${collection}`;
    // A refusal (foreign documents, privilege, conflicting index) is the answer of every call until it is fixed and the store restarted.
    this.setup = new SharedAttempt(() => this.prepare(createIndex), (error) => error instanceof SessionStoreError);
    // Started now so the index exists before the first request; calls wait for it within their own deadline.
    this.setup.start();
    if (pruneInterval !== undefined && pruneInterval > 0) this.startReaper();
    this.pruneByDefault = pruneInterval === undefined;
    this.pruneOff = pruneInterval === 0;
  }

  protected async readRecord(key: string, now: number): Promise<StoredSession | null> {
    await this.indexed();
    const document = await this.collection.findOne<ProjectedSession>(readFilter(key, now), this.options.read);
    return recordOf(document);
  }

  protected async writeRecord(key: string, payload: string, expiresAt: number): Promise<void> {
    await this.indexed();
    await this.collection.updateOne(idFilter(key), writeUpdate(payload, expiresAt), this.options.write);
  }

  protected async extendRecord(key: string, expiresAt: number, now: number, unlessExpiresAfter: number | undefined): Promise<void> {
    await this.indexed();
    await this.collection.updateOne(extendFilter(key, now, unlessExpiresAfter), extendUpdate(expiresAt), this.options.extend);
  }

  protected async removeRecord(key: string): Promise<void> {
    await this.indexed();
    await this.collection.deleteOne(idFilter(key), this.options.remove);
  }

  protected async *scanRecords(now: number, withPayload: boolean): AsyncIterable<StoredEntry[]> {
    await this.indexed();
    const cursor = this.collection.find<ProjectedSession>(liveFilter(now), {
      projection: scanProjection(withPayload),
      batchSize: SCAN_BATCH,
    });
    try {
      let batch: StoredEntry[] = [];
      for await (const document of cursor) {
        batch.push(entryOf(document, withPayload));
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
    await this.indexed();
    return this.collection.countDocuments(liveFilter(now));
  }

  protected async removeAllRecords(): Promise<void> {
    await this.indexed();
    await this.collection.deleteMany(ALL_FILTER);
  }

  /** Without TTL indexes: the ids of at most `limit` expired sessions, then those of them still expired. */
  protected async removeExpiredRecords(now: number, limit: number): Promise<number> {
    await this.indexed();
    const expired = await this.collection.find(expiredFilter(now), { projection: { _id: 1 }, limit }).toArray();
    if (expired.length === 0) return 0;
    const ids = expired.map((document) => document._id);
    const { deletedCount } = await this.collection.deleteMany({ _id: { $in: ids }, ...expiredFilter(now) });
    // A batch that another reaper emptied first still counts as full, so the base goes on to the next one.
    return expired.length === limit ? limit : deletedCount;
  }

  /** Waits for the one-time setup (layout check, TTL index) until it is done; nothing to wait for after that. */
  private indexed(): Promise<void> | undefined {
    return this.setup.isDone ? undefined : this.setup.ready();
  }

  protected async ping(): Promise<void> {
    await this.client.db('admin').command({ ping: 1 });
  }

  protected async closeBackend(): Promise<void> {
    if (this.ownsClient) await this.client.close();
  }

  protected isUnavailableError(error: unknown): boolean {
    return isUnreachableError(error) || super.isUnavailableError(error);
  }

  private async prepare(createIndex: boolean): Promise<void> {
    await this.checkLayout();
    if (createIndex) await this.createTtlIndex();
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

  /**
   * The server has no TTL indexes: a plain index on `expires` for the reaper's query, one warning,
   * and the reaper deletes expired sessions unless told otherwise.
   */
  private async withoutTtlIndex(): Promise<void> {
    await this.collection.createIndex(TTL_INDEX.key, { name: TTL_INDEX_NAME });
    const prune = this.pruneByDefault
      ? 'its reaper deletes expired sessions instead (pruneInterval, default every 15 minutes)'
      : this.pruneOff
        ? 'nothing deletes expired sessions (pruneInterval: 0): call prune() from a job'
        : 'its reaper deletes expired sessions (pruneInterval)';
    this.emit(
      'warning',
      new SessionStoreError('ERR_SESSION_UNSUPPORTED', `the server of ${this.namespace} has no TTL indexes; ${prune}`, { store: this.storeName }),
    );
    if (this.pruneByDefault) this.startReaper();
  }
}

function expiredFilter(now: number): { expires: { $lte: Date } } {
  return { expires: { $lte: new Date(now) } };
}

function isSessionShaped(document: { _id?: unknown; session?: unknown; expires?: unknown }): boolean {
  return typeof document._id === 'string' && 'session' in document && 'expires' in document;
}

function openClient(url: string, clientOptions: MongoClientOptions | undefined): MongoClient {
  try {
    return new MongoClient(url, clientOptions);
  } catch (error) {
    // The driver's message and its cause quote the connection string, password included: none of it goes into ours.
    throw optionError('mongo', `url could not be parsed as a mongodb:// or mongodb+srv:// connection string (${error instanceof Error ? error.name : typeof error})`);
  }
}
