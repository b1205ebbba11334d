import { createPool, type Pool as CallbackPool, type PoolOptions } from 'mysql2';
import type { Pool as PromisePool } from 'mysql2/promise';
import { SessionStore, refuseWithSharedLayout, SessionStoreError, booleanOption, connectionOf, optionError, ownOptionNames, positiveIntegerOption, sidPrefixOf, validateIdentifier } from '../../shared';
import { markClean } from '../../shared/causes';
import type { BaseStoreOptions, LifetimeOptions, ReaperOptions, StoredEntry, StoredSession, TombstoneOptions, UserIndexOptions } from '../../shared';
import {
  CLEAR_BATCH_SIZE,
  COLUMNS,
  SCAN_PAGE_SIZE,
  UNITS,
  hasColumns,
  migrationOf,
  statementsFor,
  type Layout,
  type Statements,
  type TableColumn,
  type Units,
} from './schema';

export interface MySqlStoreOptions extends BaseStoreOptions, ReaperOptions, TombstoneOptions, LifetimeOptions, UserIndexOptions {
  /** A mysql2 pool the caller owns, from `mysql2` or `mysql2/promise`: the store queries through it and never ends it. */
  pool?: CallbackPool | PromisePool;
  /** Or a connection URI (`mysql://user:password@host:3306/database`): the store opens its own pool and ends it on `close()`. */
  uri?: string;
  /** Or mysql2 pool options: the store opens its own pool with them and ends it on `close()`. */
  connection?: PoolOptions;
  /** Default `express_sessions`, or `sessions` with `compat: 'express-mysql-session'`. In the connection's database. */
  tableName?: string;
  /** Create the table and its indexes when missing, and add the `created_at` and `owner` columns and the owner index to a table from before them. Default true. */
  createTable?: boolean;
  /** Most expired rows one prune statement deletes. Default 500. */
  pruneBatchSize?: number;
  /** Read and write express-mysql-session's table (`session_id`, `expires` in seconds, `data`) instead of ours. */
  compat?: 'express-mysql-session';
}

type Row = Record<string, unknown>;
type Done = (error: Error | null, result?: unknown) => void;

/** The callback pool underneath either API: one callback per statement, no promise of the driver's own. */
interface Queryable {
  execute(sql: string, values: unknown[], done: Done): unknown;
  query(sql: string, done: Done): unknown;
  getConnection(done: (error: Error | null, connection: PooledConnection) => void): void;
  end(done: (error?: Error | null) => void): void;
}

interface PooledConnection {
  query(sql: string, values: unknown[], done: Done): unknown;
  release(): void;
  destroy(): void;
}


// MySQL's identifier limit is 64; names are also backtick-quoted in every statement.
const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
// About 10-30 ms per DELETE on a loaded two-core MariaDB: short enough never to hold up the sessions it shares the table with.
const DEFAULT_PRUNE_BATCH_SIZE = 500;
/** express-mysql-session's `session_id` is a VARCHAR(128): a longer id would be refused or, without strict mode, cut. */
const COMPAT_MAX_SID_LENGTH = 128;
/** Server-wide lock names: one per database and table, hashed to stay within the 64-character limit. */
const PRUNE_LOCK_NAME = "CONCAT('session-stores:', SHA1(CONCAT(DATABASE(), '.', ?)))";
/** How long a migration statement waits for the table's metadata lock: a dump or a long transaction holding it must not queue every session statement behind it. */
const MIGRATION_LOCK_WAIT_SECONDS = 1;
/** What a migration statement fails with when a concurrent starter has just run it. */
const ALREADY_MIGRATED = new Set(['ER_DUP_FIELDNAME', 'ER_DUP_KEYNAME']);

const UNAVAILABLE_CODES = new Set([
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR',
  'ER_SERVER_SHUTDOWN',
  'ER_CONNECTION_KILLED',
  'ER_CON_COUNT_ERROR',
]);

/**
 * An express-session store on MySQL 8 or MariaDB 10.6+ through `mysql2`. Each operation is one
 * statement in one round trip; expiry is compared with the store's clock, never the server's;
 * expired rows are pruned in small batches by one instance at a time.
 */
export class MySqlStore extends SessionStore {
  private readonly pool: Queryable;
  private readonly tableName: string;
  private readonly layout: Layout;
  private readonly units: Units;
  private readonly statements: Statements;
  private readonly createTable: boolean;

  constructor(options: MySqlStoreOptions) {
    const layout = layoutOf(options);
    if (layout === 'express-mysql-session') refuseWithSharedLayout('mysql', layout, options);
    const pruneBatchSize = positiveIntegerOption('mysql', 'pruneBatchSize', options.pruneBatchSize, DEFAULT_PRUNE_BATCH_SIZE);
    super('mysql', options, {
      pruneBatchSize,
      // express-mysql-session would read a tombstone as a session, and its table has no place for a creation instant or an owner.
      tombstones: layout === 'session-stores',
      maxLifetime: layout === 'session-stores',
      userIndex: layout === 'session-stores',
      ownOptions: ownOptionNames<MySqlStoreOptions>({
        pool: true,
        uri: true,
        connection: true,
        tableName: true,
        createTable: true,
        pruneBatchSize: true,
        compat: true,
      }),
    });

    this.layout = layout;
    this.units = UNITS[layout];
    this.tableName = validateIdentifier(
      'mysql',
      'tableName',
      options.tableName ?? (layout === 'express-mysql-session' ? 'sessions' : 'express_sessions'),
      TABLE_NAME,
      'a letter or _ then up to 63 letters, digits or _',
    );
    this.createTable = booleanOption('mysql', 'createTable', options.createTable, true);
    this.statements = statementsFor(layout, this.tableName);
    const operationTimeoutMs = this.settings.operationTimeoutMs;
    const connection = connectionOf<unknown, MySqlStoreOptions>('mysql', options, {
      given: 'pool',
      what: 'a mysql2 pool (from mysql2 or mysql2/promise)',
      accepts: (pool) => callbackPoolOf(pool) !== undefined,
      opened: ['uri', 'connection'],
      open: (opening) => openPool(opening, operationTimeoutMs),
    });
    this.pool = this.adopt(
      { handle: callbackPoolOf(connection.handle)!, owned: connection.owned },
      (pool) => new Promise<void>((resolve, reject) => pool.end((error) => (error ? reject(error) : resolve()))),
    );
  }

  protected async readRecord(key: string, now: number): Promise<StoredSession | undefined> {
    const rows = (await this.execute(this.statements.read, [this.checked(key), this.units.now(now)])) as Row[];
    const row = rows[0];
    // express-mysql-session's table has no created_at.
    return row && this.storedSession(row.data, Number(row.expires_at), row.created_at as string | number | null | undefined);
  }

  protected writeRecord(key: string, payload: string, expiresAt: number, now: number, maxLifetimeMs: number | undefined, owner: string | undefined): Promise<unknown> {
    const values: unknown[] = [this.checked(key), payload, this.units.expiresAt(expiresAt)];
    // express-mysql-session's table keeps no creation instant and no owner: its statements take neither now, owner nor maxLifetimeMs.
    if (this.layout === 'session-stores') values.push(this.units.now(now), owner ?? null, maxLifetimeMs ?? null);
    return this.execute(this.statements.write, values);
  }

  protected extendRecord(key: string, expiresAt: number, now: number, unlessExpiresAfter: number | undefined, maxLifetimeMs: number | undefined): Promise<unknown> {
    const expiry = this.units.expiresAt(expiresAt);
    const cap = this.layout === 'session-stores' ? [maxLifetimeMs ?? null, expiry] : [];
    const values = [expiry, ...cap, this.checked(key), this.units.now(now)];
    if (unlessExpiresAfter === undefined) return this.execute(this.statements.extend, values);
    return this.execute(this.statements.extendUnlessRecent, [...values, this.units.before(unlessExpiresAfter)]);
  }

  protected entombRecord(key: string, expiresAt: number, now: number): Promise<unknown> {
    // Only our layout declares tombstones, and only it has this statement.
    return this.execute(this.statements.entomb!, [this.checked(key), this.units.expiresAt(expiresAt), this.units.now(now)]);
  }

  protected removeRecord(key: string): Promise<unknown> {
    return this.execute(this.statements.remove, [this.checked(key)]);
  }

  protected async *scanRecords(now: number, withPayload: boolean): AsyncIterable<StoredEntry[]> {
    const statement = withPayload ? this.statements.scanSessions : this.statements.scanIds;
    let after = '';
    for (;;) {
      const rows = (await this.execute(statement, [this.units.now(now), after])) as Row[];
      if (rows.length === 0) return;
      const entries = rows.map((row) => ({ key: textOf(row.sid), expiresAt: Number(row.expires_at), payload: row.data }));
      yield entries;
      if (rows.length < SCAN_PAGE_SIZE) return;
      after = entries[entries.length - 1].key;
    }
  }

  protected async scanOwnerRecords(owner: string, now: number): Promise<StoredEntry[]> {
    // Only our layout declares a user index, and only it has this statement.
    const rows = (await this.execute(this.statements.scanOwner!, [owner, this.units.now(now)])) as Row[];
    return rows.map((row) => ({
      key: textOf(row.sid),
      expiresAt: Number(row.expires_at),
      payload: row.data,
      ...(row.created_at !== null && { createdAt: Number(row.created_at) }),
    }));
  }

  protected async countRecords(now: number): Promise<number> {
    const rows = (await this.execute(this.statements.count, [this.units.now(now)])) as Row[];
    return Number(rows[0].count);
  }

  protected async *removeAllRecords(): AsyncIterable<unknown> {
    for (;;) {
      const result = (await this.execute(this.statements.removeBatch, [])) as { affectedRows: number };
      yield undefined;
      if (result.affectedRows < CLEAR_BATCH_SIZE) return;
    }
  }

  /**
   * One batch of at most `limit` rows on one connection that holds the table's named lock: another
   * instance's batch meanwhile deletes nothing and ends its run.
   */
  protected async removeExpiredRecords(now: number, limit: number): Promise<number> {
    const { connection, onConnection } = await this.ownConnection();
    try {
      const rows = (await onConnection(`SELECT GET_LOCK(${PRUNE_LOCK_NAME}, 0) AS held`, [this.tableName])) as Row[];
      if (Number(rows[0].held) !== 1) {
        connection.release();
        return 0;
      }
      const result = (await onConnection(this.statements.removeExpired, [this.units.now(now), limit])) as { affectedRows: number };
      await onConnection(`DO RELEASE_LOCK(${PRUNE_LOCK_NAME})`, [this.tableName]);
      connection.release();
      return result.affectedRows;
    } catch (error) {
      // Ending the connection's session is what releases a lock it may still hold.
      connection.destroy();
      throw error;
    }
  }

  /** A connection of the pool to itself (a named lock, a session setting), with its query as a promise; the caller releases or destroys it. */
  private async ownConnection(): Promise<{ connection: PooledConnection; onConnection: (sql: string, values: unknown[]) => Promise<unknown> }> {
    const connection = await new Promise<PooledConnection>((resolve, reject) =>
      this.pool.getConnection((error, acquired) => (error ? reject(error) : resolve(acquired))),
    );
    const onConnection = (sql: string, values: unknown[]) =>
      new Promise<unknown>((resolve, reject) => connection.query(sql, values, (error, result) => (error ? reject(error) : resolve(result))));
    return { connection, onConnection };
  }

  protected async ping(): Promise<void> {
    await new Promise((resolve, reject) => this.pool.query('SELECT 1', (error, result) => (error ? reject(error) : resolve(result))));
  }

  protected isUnavailableError(error: unknown): boolean {
    if (super.isUnavailableError(error)) return true;
    const { code, fatal } = (error ?? {}) as { code?: unknown; fatal?: unknown };
    return fatal === true || (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) || /pool is closed/i.test(String((error as Error)?.message));
  }

  /** The key as a parameter; a compat table's shorter column refuses what it could not hold whole. */
  private checked(key: string): string {
    if (this.layout === 'express-mysql-session' && key.length > COMPAT_MAX_SID_LENGTH) {
      throw new SessionStoreError('ERR_SESSION_ID', `session id must be at most ${COMPAT_MAX_SID_LENGTH} characters in express-mysql-session's table`, {
        store: this.storeName,
        sidPrefix: sidPrefixOf(key),
      });
    }
    return key;
  }

  private execute(sql: string, values: unknown[]): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.pool.execute(sql, values, (error, result) => (error ? reject(error) : resolve(result)));
    });
  }

  /**
   * Creates the table when it is missing, brings one of an earlier layout of ours to this one (its
   * missing columns, then the owner index), then checks that it has the layout's columns with the id
   * as primary key, so that no write or delete ever reaches another application's table.
   */
  protected async ready(): Promise<void> {
    let columns = await this.columnsOfTable();
    // Checked first so that a user without the CREATE privilege can use a table created for it.
    if (columns.length === 0 && this.createTable) {
      await this.execute(this.statements.createTable, []);
      columns = await this.columnsOfTable();
    }
    // Not a SessionStoreError: the next call looks again, so a table created meanwhile is found.
    if (columns.length === 0) throw new Error(`table ${this.tableName} does not exist in the connection's database`);
    const { lacks, statements } = this.layout === 'session-stores' ? migrationOf(this.tableName, columns) : { lacks: [], statements: [] };
    if (statements.length > 0) {
      // Retried by the next call too, so what was run by hand meanwhile is found.
      if (!this.createTable) throw wholeError(`table ${this.tableName} lacks ${lacks.join(', ')} and createTable is false: run ${statements.join('; ')}`);
      await this.migrate(statements);
      columns = await this.columnsOfTable();
    }
    const expected = COLUMNS[this.layout];
    if (!hasColumns(columns, expected)) {
      const names = columns.map((column) => column.name).sort();
      throw new SessionStoreError(
        'ERR_SESSION_OPTIONS',
        `table ${this.tableName} is not a session table in the ${this.layout} layout (columns ${expected.join(', ')}, ` +
          `primary key ${expected[0]}); it has columns ${names.join(', ')}: the store will not read or write it`,
        { store: this.storeName },
      );
    }
  }

  /**
   * Runs `statements` on a connection of its own whose metadata lock wait is short, then ends that
   * connection rather than return its changed session to the pool. Nullable columns are added in
   * place (instantly on MySQL 8 and MariaDB 10.3+), the index online; a concurrent starter's
   * duplicate column or index is fine.
   */
  private async migrate(statements: readonly string[]): Promise<void> {
    const { connection, onConnection } = await this.ownConnection();
    try {
      await onConnection(`SET SESSION lock_wait_timeout = ${MIGRATION_LOCK_WAIT_SECONDS}`, []);
      for (const statement of statements) {
        await onConnection(statement, []).catch((error: unknown) => {
          if (!ALREADY_MIGRATED.has(String((error as { code?: unknown } | null)?.code))) throw error;
        });
      }
    } finally {
      connection.destroy();
    }
  }

  private async columnsOfTable(): Promise<TableColumn[]> {
    const rows = (await this.execute(
      'SELECT COLUMN_NAME AS name, COLUMN_KEY AS `key` FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?',
      [this.tableName],
    )) as Row[];
    return rows.map((row) => ({ name: textOf(row.name), key: textOf(row.key) }));
  }
}

/** An error the next call retries, its message (our own names and statements) kept whole rather than cut as a driver's would be. */
function wholeError(message: string): Error {
  const error = new Error(message);
  markClean(error);
  return error;
}

function layoutOf(options: MySqlStoreOptions): Layout {
  if (options === null || typeof options !== 'object') {
    throw optionError('mysql', 'options must be an object with a pool, a uri or connection options');
  }
  const { compat } = options;
  if (compat === undefined) return 'session-stores';
  if (compat === 'express-mysql-session') return compat;
  throw optionError('mysql', `compat must be 'express-mysql-session' or absent, got ${String(compat)}`);
}

/** The callback pool of a mysql2 pool: a mysql2/promise pool wraps the callback pool it was made from. */
function callbackPoolOf(pool: unknown): Queryable | undefined {
  const core = (pool as { pool?: unknown })?.pool ?? pool;
  if (core === null || typeof core !== 'object' || typeof (core as CallbackPool).execute !== 'function' || typeof (core as CallbackPool).getConnection !== 'function') {
    return undefined;
  }
  return core as unknown as Queryable;
}

function openPool({ uri, connection }: MySqlStoreOptions, operationTimeoutMs: number): Queryable {
  if (uri !== undefined && (typeof uri !== 'string' || uri.length === 0)) throw optionError('mysql', 'uri must be a non-empty string');
  if (connection !== undefined && (connection === null || typeof connection !== 'object')) {
    throw optionError('mysql', 'connection must be an object of mysql2 pool options');
  }
  const boundMs = Number.isFinite(operationTimeoutMs) ? operationTimeoutMs : undefined;
  // A dead server fails a connection attempt within the operation bound.
  return createPool({ connectTimeout: boundMs, enableKeepAlive: true, ...(uri === undefined ? connection : { uri }) }) as unknown as Queryable;
}

/** A VARBINARY column comes back as a Buffer. */
function textOf(value: unknown): string {
  return Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
}
