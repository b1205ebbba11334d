import { Client, Pool, type QueryConfig, type QueryResult, type QueryResultRow } from 'pg';
import { SessionStore, refuseWithSharedLayout, booleanOption, connectionOf, optionError, ownOptionNames, positiveIntegerOption, validateIdentifier } from '../../shared';
import { markClean } from '../../shared/causes';
import type { BaseStoreOptions, LifetimeOptions, ReaperOptions, StoredEntry, StoredSession, TombstoneOptions, UserIndexOptions } from '../../shared';
import {
  layoutMismatch,
  migrationOf,
  qualifiedName,
  statementName,
  statementsFor,
  SYSTEM_SCHEMA,
  TABLE_SHAPE_QUERY,
  type Layout,
  type Statements,
  type TableShape,
} from './schema';

export interface PostgresStoreOptions extends BaseStoreOptions, ReaperOptions, TombstoneOptions, LifetimeOptions, UserIndexOptions {
  /** A pool the caller owns: the store queries through it and never ends it. */
  pool?: Pool;
  /** Or a connection string: the store creates its own pool and ends it on `close()`. */
  connectionString?: string;
  /** Schema of the table. Default: none, so the connection's search_path decides (usually `public`). */
  schemaName?: string;
  /** Default `express_sessions`, or `session` with `compat: 'connect-pg-simple'`. */
  tableName?: string;
  /** Create the table and its indexes when missing, and add the `created_at` and `owner` columns and the owner index to a table from before them. Default true. */
  createTable?: boolean;
  /** Most expired rows one prune statement deletes. Default 5000. */
  pruneBatchSize?: number;
  /** Read and write connect-pg-simple's table (`sid`, `sess` json, `expire` timestamp) instead of ours. */
  compat?: 'connect-pg-simple';
  /**
   * Send each statement as a named prepared statement, parsed and planned once per connection.
   * Default true; false for a PgBouncer in transaction mode that does not track prepared statements.
   */
  preparedStatements?: boolean;
}

type Query = Pick<QueryConfig, 'name' | 'text'>;
type Queries = { [K in Exclude<keyof Statements, 'createTable'>]: Statements[K] extends string ? Query : Query | undefined };

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
// Leaves room under Postgres' 63-byte limit for the index name derived from the table's.
const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,47}$/;
const DEFAULT_PRUNE_BATCH_SIZE = 5000;
const SCAN_PAGE_SIZE = 1000;
/** First key of the two-key advisory locks this package takes (ASCII "SESS"), so they cannot meet an app's own. */
export const ADVISORY_LOCK_CLASS = 0x53455353;
/** Second key of the lock that serializes table creation and its migration; prune locks use the table's oid instead. */
const CREATE_LOCK_KEY = 0;
/** How long a migration statement waits for the table's lock: a pg_dump or a long transaction holding it must not queue every session statement behind it. */
const MIGRATION_LOCK_TIMEOUT_MS = 1000;
/** admin_shutdown, crash_shutdown, cannot_connect_now. */
const SHUTDOWN_STATES = new Set(['57P01', '57P02', '57P03']);

/**
 * An express-session store on PostgreSQL through `pg`. Each operation is one statement in one
 * round trip; expiry is compared with the store's clock, never the database's; expired rows are
 * pruned in small batches by one instance at a time.
 */
export class PostgresStore extends SessionStore {
  private readonly pool: Pool;
  private readonly statements: Queries;
  private readonly table: string;
  private readonly schemaName: string | undefined;
  private readonly tableName: string;
  private readonly createTableStatement: string;
  private readonly layout: Layout;
  private readonly createTable: boolean;
  private readonly onPoolError = () => this.markUnavailable();
  /** The highest expiry the run's last full prune batch deleted, where the next batch starts; null at the start of a run. */
  private pruneReached: string | null = null;

  constructor(options: PostgresStoreOptions) {
    const layout = layoutOf(options);
    if (layout === 'connect-pg-simple') refuseWithSharedLayout('postgres', layout, options);
    const pruneBatchSize = positiveIntegerOption('postgres', 'pruneBatchSize', options.pruneBatchSize, DEFAULT_PRUNE_BATCH_SIZE);
    super('postgres', options, {
      pruneBatchSize,
      // connect-pg-simple would read a tombstone as a session, and its table has no place for a creation instant or an owner.
      tombstones: layout === 'session-stores',
      maxLifetime: layout === 'session-stores',
      userIndex: layout === 'session-stores',
      ownOptions: ownOptionNames<PostgresStoreOptions>({
        pool: true,
        connectionString: true,
        schemaName: true,
        tableName: true,
        createTable: true,
        pruneBatchSize: true,
        compat: true,
        preparedStatements: true,
      }),
    });

    const schemaName =
      options.schemaName === undefined
        ? undefined
        : validateIdentifier('postgres', 'schemaName', options.schemaName, SCHEMA_NAME, 'a letter or _ then up to 62 letters, digits or _');
    if (schemaName !== undefined && SYSTEM_SCHEMA.test(schemaName)) {
      throw optionError('postgres', `schemaName ${schemaName} is a PostgreSQL system schema: sessions need a schema of their own`);
    }
    const tableName = validateIdentifier(
      'postgres',
      'tableName',
      options.tableName ?? (layout === 'connect-pg-simple' ? 'session' : 'express_sessions'),
      TABLE_NAME,
      'a letter or _ then up to 47 letters, digits or _',
    );
    const createTable = booleanOption('postgres', 'createTable', options.createTable, true);
    const preparedStatements = booleanOption('postgres', 'preparedStatements', options.preparedStatements, true);

    this.table = qualifiedName(schemaName, tableName);
    this.schemaName = schemaName;
    this.tableName = tableName;
    this.layout = layout;
    this.createTable = createTable;
    const { createTable: ddl, ...statements } = statementsFor(layout, schemaName, tableName);
    this.statements = Object.fromEntries(
      Object.entries(statements).map(([key, text]) => [key, text === undefined ? undefined : preparedStatements ? { name: statementName(text), text } : { text }]),
    ) as Queries;
    // One simple-protocol round trip, one implicit transaction: concurrent creators queue on the lock.
    this.createTableStatement = `SELECT pg_advisory_xact_lock(${ADVISORY_LOCK_CLASS}, ${CREATE_LOCK_KEY});\n${ddl}`;
    const operationTimeoutMs = this.settings.operationTimeoutMs;
    this.pool = this.adopt(
      connectionOf('postgres', options, {
        given: 'pool',
        what: 'a pg.Pool',
        accepts: (pool) => typeof (pool as Pool).query === 'function' && typeof (pool as Pool).on === 'function',
        opened: ['connectionString'],
        open: ({ connectionString }) => openPool(connectionString, operationTimeoutMs),
      }),
      (pool) => {
        // Our pool keeps a listener: a client still closing when the server goes away reports an error after end().
        pool.on('error', () => undefined);
        return pool.end();
      },
    );
    // An idle client's error would otherwise be an uncaughtException when the pool has no listener.
    this.pool.on('error', this.onPoolError);
  }

  protected async readRecord(key: string, now: number): Promise<StoredSession | undefined> {
    const { rows } = await this.query<{ data: string; expires_at: string | number; created_at?: string | number | null }>(this.statements.read, [key, now]);
    const row = rows[0];
    // connect-pg-simple's table has no created_at.
    return row && this.storedSession(row.data, Number(row.expires_at), row.created_at);
  }

  protected async writeRecord(key: string, payload: string, expiresAt: number, now: number, maxLifetimeMs: number | undefined, owner: string | undefined): Promise<void> {
    // connect-pg-simple's table keeps no creation instant and no owner: its statements take neither now, maxLifetimeMs nor owner.
    const values = this.layout === 'session-stores' ? [key, payload, expiresAt, now, maxLifetimeMs ?? null, owner ?? null] : [key, payload, expiresAt];
    await this.query(this.statements.write, values);
  }

  protected async extendRecord(key: string, expiresAt: number, now: number, unlessExpiresAfter: number | undefined, maxLifetimeMs: number | undefined): Promise<void> {
    const values = this.layout === 'session-stores' ? [key, expiresAt, now, maxLifetimeMs ?? null] : [key, expiresAt, now];
    if (unlessExpiresAfter === undefined) await this.query(this.statements.extend, values);
    else await this.query(this.statements.extendUnlessRecent, [...values, unlessExpiresAfter]);
  }

  protected async entombRecord(key: string, expiresAt: number, now: number): Promise<void> {
    // Only our layout declares tombstones, and only it has this statement.
    await this.query(this.statements.entomb!, [key, expiresAt, now]);
  }

  protected async removeRecord(key: string): Promise<void> {
    await this.query(this.statements.remove, [key]);
  }

  protected async *scanRecords(now: number, withPayload: boolean): AsyncIterable<StoredEntry[]> {
    const statement = withPayload ? this.statements.scanSessions : this.statements.scanIds;
    let after = '';
    for (;;) {
      const { rows } = await this.query<{ sid: string; expires_at: string | number; data?: string }>(statement, [now, after, SCAN_PAGE_SIZE]);
      if (rows.length === 0) return;
      yield rows.map((row) => ({ key: row.sid, expiresAt: Number(row.expires_at), payload: row.data }));
      if (rows.length < SCAN_PAGE_SIZE) return;
      after = rows[rows.length - 1].sid;
    }
  }

  protected async scanOwnerRecords(owner: string, now: number): Promise<StoredEntry[]> {
    // Only our layout declares a user index, and only it has this statement.
    const { rows } = await this.query<{ sid: string; data: string; expires_at: string | number; created_at: string | number | null }>(this.statements.scanOwner!, [owner, now]);
    return rows.map((row) => ({ key: row.sid, expiresAt: Number(row.expires_at), payload: row.data, ...(row.created_at !== null && { createdAt: Number(row.created_at) }) }));
  }

  protected async countRecords(now: number): Promise<number> {
    const { rows } = await this.query<{ count: number }>(this.statements.count, [now]);
    return rows[0].count;
  }

  protected async removeAllRecords(): Promise<void> {
    await this.query(this.statements.removeAll, []);
  }

  protected async removeExpiredRecords(now: number, limit: number): Promise<number> {
    const { rows } = await this.query<{ removed: number; reached: string | null }>(this.statements.removeExpired, [now, limit, ADVISORY_LOCK_CLASS, this.table, this.pruneReached]);
    const { removed, reached } = rows[0]!;
    // A short batch ends the run; the next run scans from the lowest expiry again, for the rows a batch skipped as locked.
    this.pruneReached = removed < limit ? null : reached;
    return removed;
  }

  protected async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  protected closeBackend(): void {
    this.pool.off('error', this.onPoolError);
  }

  protected isUnavailableError(error: unknown): boolean {
    if (super.isUnavailableError(error)) return true;
    const code = (error as { code?: unknown } | null)?.code;
    // SQLSTATE class 08 is "connection exception"; 57P01-57P03 are the server shutting down or starting up.
    if (typeof code === 'string' && (code.startsWith('08') || SHUTDOWN_STATES.has(code))) return true;
    const message = error instanceof Error ? error.message : '';
    return /not queryable|timeout exceeded when trying to connect/i.test(message);
  }

  /**
   * pg copies every query config it is given, property by property with their descriptors (about
   * 1.7 µs for `{ name, text, values }`, on every query of every request). A config whose `name`
   * and `text` are its prototype's, with the values passed beside it, leaves it nothing to copy; each
   * query still gets an object of its own, so whatever pg sets on it (the values, in a pg that does
   * not copy) stays with that query.
   */
  private query<R extends QueryResultRow = QueryResultRow>(statement: Query, values: unknown[]): Promise<QueryResult<R>> {
    return this.pool.query<R>(Object.create(statement) as Query, values);
  }

  /**
   * Creates the table when allowed and missing, then checks it is a session table in this store's
   * layout, and brings one of an earlier layout to this one when allowed (its missing columns, then
   * the owner index). A table that is not ours is refused for good.
   */
  protected async ready(): Promise<void> {
    // Looked at first, so a role without CREATE privilege can use a table that already exists.
    let shape = await this.tableShape();
    if (shape === undefined) {
      if (!this.createTable) throw new Error(`table ${this.table} does not exist and createTable is false`);
      await this.pool.query(this.createTableStatement);
      shape = await this.tableShape();
      if (shape === undefined) throw new Error(`table ${this.table} is still missing after CREATE TABLE`);
    }
    const mismatch = layoutMismatch(this.layout, shape);
    if (mismatch !== undefined) {
      throw optionError('postgres', `${this.table} ${mismatch}: the store refuses to read, write or delete in it; choose another tableName`);
    }
    if (this.layout !== 'session-stores') return;
    const { lacks, statements } = migrationOf(shape, this.schemaName, this.tableName);
    if (statements.length === 0) return;
    // Not a SessionStoreError: the next call looks again, so what the owner ran by hand meanwhile is found.
    if (!this.createTable) throw wholeError(`table ${this.table} lacks ${lacks.join(', ')} and createTable is false: run ${statements.join('; ')}`);
    // One transaction each, so the index's build (a scan of the table) runs after the ALTER's exclusive lock is gone: reads go on meanwhile.
    for (const statement of statements) {
      await this.pool.query(`SELECT pg_advisory_xact_lock(${ADVISORY_LOCK_CLASS}, ${CREATE_LOCK_KEY});\nSET LOCAL lock_timeout = ${MIGRATION_LOCK_TIMEOUT_MS};\n${statement};`);
    }
    // IF NOT EXISTS passes over an index of that name that a failed CREATE INDEX CONCURRENTLY left invalid.
    if (!(await this.tableShape())?.ownerIndexed) throw new Error(`table ${this.table} still has no valid index on owner: drop the invalid one, and the next call creates it`);
  }

  private async tableShape(): Promise<TableShape | undefined> {
    const { rows } = await this.pool.query<TableShape>(TABLE_SHAPE_QUERY, [this.table]);
    return rows[0];
  }
}

/** An error the next call retries, its message (our own names and statements) kept whole rather than cut as a driver's would be. */
function wholeError(message: string): Error {
  const error = new Error(message);
  markClean(error);
  return error;
}

function layoutOf(options: PostgresStoreOptions): Layout {
  if (options === null || typeof options !== 'object') {
    throw optionError('postgres', 'options must be an object with a pool or a connectionString');
  }
  const { compat } = options;
  if (compat === undefined) return 'session-stores';
  if (compat === 'connect-pg-simple') return compat;
  throw optionError('postgres', `compat must be 'connect-pg-simple' or absent, got ${String(compat)}`);
}

function openPool(connectionString: unknown, operationTimeoutMs: number): Pool {
  if (typeof connectionString !== 'string' || connectionString.length === 0) {
    throw optionError('postgres', 'connectionString must be a non-empty string');
  }
  try {
    // pg parses the string only when the pool opens its first connection; a Client parses it now, and connects nothing.
    new Client({ connectionString });
  } catch {
    // The driver's error quotes the string, password included: none of it goes into ours.
    throw optionError('postgres', 'connectionString is not a valid PostgreSQL connection string');
  }
  const boundMs = Number.isFinite(operationTimeoutMs) ? operationTimeoutMs : 0;
  return new Pool({
    connectionString,
    // A dead server fails a checkout, and a stalled query releases its client, within the operation bound.
    connectionTimeoutMillis: boundMs,
    query_timeout: boundMs,
    keepAlive: true,
    // An idle pool never keeps the process alive.
    allowExitOnIdle: true,
  });
}
