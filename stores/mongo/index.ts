import { MongoClient, type Collection, type Filter, type IndexDescriptionInfo, type MongoClientOptions, type UpdateFilter } from 'mongodb';
import { SessionStore, SessionStoreError, TOMBSTONE, booleanOption, connectionOf, optionError, ownOptionNames, refuseWithSharedLayout, validateIdentifier } from '../../shared';
import type { BaseStoreOptions, LifetimeOptions, ReaperOptions, StoredEntry, StoredSession, TombstoneOptions, UserIndexOptions } from '../../shared';
import { indexRefusalMessage, isDuplicateKeyError, isIndexOptionUnsupported, isIndexRefusal, isMissingCollection, isUnreachableError } from './errors';
import { LIFETIME_INDEX, OWNER_INDEX, TTL_INDEX, findIndexOn, isTtlIndexOn, type TtlIndex } from './ttl-index';

/**
 * One session as MongoDB holds it: connect-mongo's default layout, so either store reads the
 * other's documents, plus what only this store writes: a tombstone (`session` empty) where a
 * session was destroyed, `lifetimeEnds` with `maxLifetime` and `owner` with `userOf`.
 * `lastModified` is written only by connect-mongo (with its `touchAfter`).
 */
export interface SessionDocument {
  _id: string;
  /** The session encoded by the store's serializer (JSON by default), as connect-mongo's `stringify: true`; `''` for a tombstone. */
  session: string;
  expires: Date;
  /** Creation + maxLifetime, set by the write that creates the document: the session ends then, whatever `expires` says. */
  lifetimeEnds?: Date;
  /** The owner key of the session's user (the user id, or its SHA-256 with hashIds or encryptionKeys), under the user index; absent for no user and on a tombstone. */
  owner?: string;
  lastModified?: Date;
}

type ProjectedSession = Partial<Pick<SessionDocument, '_id' | 'session' | 'expires' | 'lifetimeEnds'>>;

export interface MongoStoreOptions extends BaseStoreOptions, ReaperOptions, TombstoneOptions, LifetimeOptions, UserIndexOptions {
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
   * Create the TTL index `{ expires: 1 }` (expireAfterSeconds 0) before the first call, and
   * `{ lifetimeEnds: 1 }` with maxLifetime, `{ owner: 1 }` with userOf. Default true. Pass false
   * when operators manage indexes and the database user may not create them. A server without TTL
   * indexes (FerretDB v1, some managed services) gets the reaper instead.
   */
  createIndex?: boolean;
  /**
   * `'connect-mongo'`: write only documents connect-mongo reads, for a collection that
   * connect-mongo instances use too (a rollout from or back to it): no tombstones, which
   * connect-mongo fails to parse, and none of maxLifetime, hashIds, encryptionKeys or a serializer.
   */
  compat?: 'connect-mongo';
}

const COLLECTION_NAME_PATTERN = /^(?!system\.)[A-Za-z0-9_][A-Za-z0-9_.-]{0,119}$/;
const DB_NAME_PATTERN = /^[A-Za-z0-9_-]{1,63}$/;
const SYSTEM_DATABASES = new Set(['admin', 'local', 'config']);
const SCAN_BATCH = 1000;
const DRIVER_TIMEOUT_MARGIN_MS = 50;

/**
 * Sessions in one MongoDB collection, in connect-mongo's document layout: `_id` is the session
 * id, `session` the encoded session, `expires` a Date under a TTL index (and `lifetimeEnds` under
 * another). Every query also filters on both, since the server's TTL monitor deletes expired
 * documents only about once a minute.
 */
export class MongoStore extends SessionStore {
  /** The client the store works through, opened by it or handed in. */
  readonly client: MongoClient;
  readonly collection: Collection<SessionDocument>;
  private readonly namespace: string;
  private readonly createIndex: boolean;
  /** `compat: 'connect-mongo'`: writes are connect-mongo's own command. */
  private readonly sharesWithConnectMongo: boolean;
  /**
   * Each per-request command carries the operation timeout as the driver's own `timeoutMS`, so a
   * call the store has given up on is abandoned by the driver too: it cannot wait for a connection
   * through an outage and land after a later write of the same session.
   */
  private readonly bound: { timeoutMS?: number };

  constructor(options: MongoStoreOptions) {
    const compat = compatOf(options);
    if (compat !== undefined) refuseWithSharedLayout('mongo', compat, options);
    super('mongo', options, {
      ownOptions: ownOptionNames<MongoStoreOptions>({ client: true, url: true, clientOptions: true, dbName: true, collectionName: true, createIndex: true, compat: true }),
      tombstones: compat === undefined,
      maxLifetime: compat === undefined,
      userIndex: compat === undefined,
    });
    options ??= {};
    this.sharesWithConnectMongo = compat !== undefined;
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
      { _id: key, ...liveFilter(now) },
      { projection: { _id: 0, session: 1, expires: 1, lifetimeEnds: 1 }, ...this.bound },
    );
    if (document === null) return null;
    const { lifetimeEnds } = document;
    return lifetimeEnds instanceof Date
      ? { payload: document.session, expiresAt: expiresAtOf(document), lifetimeEndsAt: lifetimeEnds.getTime() }
      : { payload: document.session, expiresAt: expiresAtOf(document) };
  }

  /**
   * An upsert that matches only a live session, so a write over one keeps its lifetime. Any other
   * document at `key` refuses the upsert's insert (duplicate `_id`); then a dead one (expired, or
   * past its lifetime) is replaced as new, and a live tombstone is left as it is: nothing is
   * written. `owner` is set, or unset for a session of no user, in the same command. Fields other
   * tools added are kept.
   */
  protected async writeRecord(key: string, payload: string, expiresAt: number, now: number, maxLifetimeMs: number | undefined, owner: string | undefined): Promise<void> {
    const session = { session: payload, expires: new Date(expiresAt) };
    if (this.sharesWithConnectMongo) {
      await this.collection.updateOne({ _id: key }, { $set: session }, { upsert: true, ...this.bound });
      return;
    }
    const fields = owner === undefined ? session : { ...session, owner };
    const noOwner: Record<string, ''> = owner === undefined ? { owner: '' } : {};
    try {
      await this.collection.updateOne({ _id: key, ...liveSessionFilter(now) }, { $set: fields, ...unsetOf(noOwner), ...lifetimeFrom(now, maxLifetimeMs) }, { upsert: true, ...this.bound });
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
      const at = new Date(now);
      const created =
        maxLifetimeMs === undefined
          ? { $set: fields, $unset: { lifetimeEnds: '' as const, ...noOwner } }
          : { $set: { ...fields, lifetimeEnds: new Date(now + maxLifetimeMs) }, ...unsetOf(noOwner) };
      const { matchedCount } = await this.collection.updateOne({ _id: key, $or: [{ session: { $ne: TOMBSTONE } }, { expires: { $lte: at } }] }, created, this.bound);
      // FerretDB v1 reports a refusal by any unique index alike: only a tombstone at key makes it a write to drop.
      if (matchedCount === 0 && !(await this.holdsTombstone(key, at))) throw error;
    }
  }

  /**
   * Matches only a live session (never a tombstone) and, with `touchAfter`, one whose expiry is
   * before `unlessExpiresAfter`: a skipped touch writes nothing. The owner stays as the last set wrote it.
   */
  protected async extendRecord(key: string, expiresAt: number, now: number, unlessExpiresAfter: number | undefined, maxLifetimeMs: number | undefined): Promise<void> {
    const at = new Date(now);
    const expires = unlessExpiresAfter === undefined ? { $gt: at } : { $gt: at, $lt: new Date(unlessExpiresAfter) };
    await this.collection.updateOne(
      { _id: key, session: { $ne: TOMBSTONE }, expires, ...withinLifetime(at) },
      { $set: { expires: new Date(expiresAt) }, ...lifetimeFrom(now, maxLifetimeMs) },
      { upsert: false, ...this.bound },
    );
  }

  /** Whatever the document held goes, its lifetime, its owner and other tools' fields with it. */
  protected async entombRecord(key: string, expiresAt: number): Promise<void> {
    await this.collection.replaceOne({ _id: key }, { session: TOMBSTONE, expires: new Date(expiresAt) }, { upsert: true, ...this.bound });
  }

  protected async removeRecord(key: string): Promise<void> {
    await this.collection.deleteOne({ _id: key }, this.bound);
  }

  protected async *scanRecords(now: number, withPayload: boolean): AsyncIterable<StoredEntry[]> {
    const cursor = this.collection.find<ProjectedSession>(
      liveSessionFilter(now),
      { projection: withPayload ? { _id: 1, session: 1, expires: 1, lifetimeEnds: 1 } : { _id: 1, expires: 1, lifetimeEnds: 1 }, batchSize: SCAN_BATCH },
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

  /** By the user index `{ owner: 1 }`, projecting what the base needs. */
  protected async scanOwnerRecords(owner: string, now: number): Promise<StoredEntry[]> {
    const documents = await this.collection
      .find<ProjectedSession>({ owner, ...liveSessionFilter(now) }, { projection: { _id: 1, session: 1, expires: 1, lifetimeEnds: 1 }, ...this.bound })
      .toArray();
    return documents.map((document) => ({ key: String(document._id), expiresAt: expiresAtOf(document), payload: document.session }));
  }

  protected async countRecords(now: number): Promise<number> {
    return this.collection.countDocuments(liveSessionFilter(now));
  }

  /** The collection is the store's namespace, checked to hold sessions only before this runs. */
  protected async removeAllRecords(): Promise<void> {
    await this.collection.deleteMany({});
  }

  /**
   * The ids of at most `limit` expired sessions and tombstones, then those of them still expired.
   * The server's TTL monitor leaves few, where it has TTL indexes; FerretDB v1 has none.
   */
  protected async removeExpiredRecords(now: number, limit: number): Promise<number> {
    const expiredFilter = this.expiredFilter(now);
    const expired = await this.collection.find(expiredFilter, { projection: { _id: 1 }, limit }).toArray();
    if (expired.length === 0) return 0;
    const ids = expired.map((document) => document._id);
    const { deletedCount } = await this.collection.deleteMany({ _id: { $in: ids }, ...expiredFilter });
    // A batch that another reaper emptied first still counts as full, so the base goes on to the next one.
    return expired.length === limit ? limit : deletedCount;
  }

  /**
   * By `lifetimeEnds` too where this store sets it, and so has created its index: an `$or` with an
   * unindexed branch would make MongoDB scan the whole collection.
   */
  private expiredFilter(now: number): Filter<SessionDocument> {
    return this.settings.maxLifetimeMs === undefined ? { expires: { $lte: new Date(now) } } : deadFilter(new Date(now));
  }

  /** Whether a live tombstone is at `key`: what a duplicate `_id` on the write's upsert means. */
  private async holdsTombstone(key: string, at: Date): Promise<boolean> {
    return (await this.collection.findOne({ _id: key, session: TOMBSTONE, expires: { $gt: at } }, { projection: { _id: 1 }, ...this.bound })) !== null;
  }

  protected async ping(): Promise<void> {
    await this.client.db('admin').command({ ping: 1 });
  }

  protected isUnavailableError(error: unknown): boolean {
    return isUnreachableError(error) || super.isUnavailableError(error);
  }

  /** The layout check, then the indexes; a refusal (foreign documents, privilege, conflicting index) is the answer of every call until fixed. */
  protected async ready(): Promise<void> {
    await this.checkLayout();
    if (!this.createIndex) return;
    await this.createTtlIndexes();
    if (this.settings.userOf !== undefined) await this.createOwnerIndex();
  }

  /**
   * Refuses a collection that holds anything but sessions, before the first write or delete: the
   * first document in natural order must be in the session layout (a tombstone is, and fields
   * such as `lifetimeEnds` and `owner` are not looked at). One round trip, once.
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

  /** `expires`, and `lifetimeEnds` with maxLifetime, the only store that sets it. */
  private async createTtlIndexes(): Promise<void> {
    const indexes = this.settings.maxLifetimeMs === undefined ? [TTL_INDEX] : [TTL_INDEX, LIFETIME_INDEX];
    for (const index of indexes) {
      if (!(await this.createTtlIndex(index))) return await this.withoutTtlIndexes(indexes);
    }
  }

  /** False when the server has no TTL indexes. */
  private async createTtlIndex(index: TtlIndex): Promise<boolean> {
    try {
      await this.collection.createIndex(index.key, index.options);
      return true;
    } catch (error) {
      if (isIndexOptionUnsupported(error, 'expireAfterSeconds')) return false;
      if (!isIndexRefusal(error)) throw error;
      const existing = await this.existingIndexes();
      if (existing.some((other) => isTtlIndexOn(index.field, other))) return true;
      throw new SessionStoreError('ERR_SESSION_BACKEND', indexRefusalMessage(error, this.namespace, index, findIndexOn(index.field, existing)), {
        store: this.storeName,
        cause: error,
      });
    }
  }

  /**
   * The user index, partial where the server has partial indexes. FerretDB v1 refuses
   * `partialFilterExpression` (NotImplemented) and accepts `sparse` only to ignore it, so it gets a plain index.
   */
  private async createOwnerIndex(): Promise<void> {
    try {
      await this.collection.createIndex(OWNER_INDEX.key, OWNER_INDEX.options).catch((error: unknown) => {
        if (!isIndexOptionUnsupported(error, 'partialFilterExpression')) throw error;
        return this.collection.createIndex(OWNER_INDEX.key, { name: OWNER_INDEX.options.name });
      });
    } catch (error) {
      if (!isIndexRefusal(error)) throw error;
      // Any index on owner alone serves sessionsOf: one made by hand, or a plain one made on FerretDB.
      if (findIndexOn(OWNER_INDEX.field, await this.existingIndexes()) !== undefined) return;
      throw new SessionStoreError('ERR_SESSION_BACKEND', indexRefusalMessage(error, this.namespace, OWNER_INDEX, undefined), { store: this.storeName, cause: error });
    }
  }

  /** The collection's indexes, none when listing them is refused too: a user without the createIndex privilege may still find those made by someone who has it. */
  private existingIndexes(): Promise<IndexDescriptionInfo[]> {
    return this.collection
      .listIndexes()
      .toArray()
      .catch((listError: unknown) => {
        if (isIndexRefusal(listError) || isMissingCollection(listError)) return [];
        throw listError;
      });
  }

  /** The server has no TTL indexes: plain indexes for the reaper's query, and one warning. */
  private async withoutTtlIndexes(indexes: readonly TtlIndex[]): Promise<void> {
    for (const index of indexes) await this.collection.createIndex(index.key, { name: index.options.name });
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

/** A session or tombstone not yet expired nor past its lifetime. */
function liveFilter(now: number): Filter<SessionDocument> {
  const at = new Date(now);
  return { expires: { $gt: at }, ...withinLifetime(at) };
}

/** `$unset` of `fields`, or nothing: MongoDB before 5.0 refuses an empty `$unset`. */
function unsetOf(fields: Record<string, ''>): UpdateFilter<SessionDocument> {
  return Object.keys(fields).length === 0 ? {} : { $unset: fields };
}

function liveSessionFilter(now: number): Filter<SessionDocument> {
  return { session: { $ne: TOMBSTONE }, ...liveFilter(now) };
}

/** A document without `lifetimeEnds` has no end but `expires`. */
function withinLifetime(at: Date): Filter<SessionDocument> {
  return { lifetimeEnds: { $not: { $lte: at } } };
}

/** A document expired or past its lifetime, which the reaper deletes. */
function deadFilter(at: Date): Filter<SessionDocument> {
  return { $or: [{ expires: { $lte: at } }, { lifetimeEnds: { $lte: at } }] };
}

/**
 * With maxLifetime, a write over a live session keeps the earlier end of its lifetime. FerretDB v1
 * has no pipeline updates to cap `expires` by a stored field in one command, so the end is a field
 * of its own that every filter reads and a TTL index enforces. A live session without it (written
 * before, or by a store without maxLifetime) starts its lifetime at this write.
 */
function lifetimeFrom(now: number, maxLifetimeMs: number | undefined): UpdateFilter<SessionDocument> {
  return maxLifetimeMs === undefined ? {} : { $min: { lifetimeEnds: new Date(now + maxLifetimeMs) } };
}

/** The earlier of `expires` and `lifetimeEnds`; a document whose `expires` is not a Date reads as already expired. */
function expiresAtOf(document: ProjectedSession): number {
  const expiresAt = document.expires instanceof Date ? document.expires.getTime() : NaN;
  return document.lifetimeEnds instanceof Date ? Math.min(expiresAt, document.lifetimeEnds.getTime()) : expiresAt;
}

function isSessionShaped(document: { _id?: unknown; session?: unknown; expires?: unknown }): boolean {
  return typeof document._id === 'string' && 'session' in document && 'expires' in document;
}

function compatOf(options: MongoStoreOptions | undefined): 'connect-mongo' | undefined {
  const compat = (options as { compat?: unknown } | null | undefined)?.compat;
  if (compat === undefined || compat === 'connect-mongo') return compat;
  throw optionError('mongo', `compat must be 'connect-mongo' or absent, got ${String(compat)}`);
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
