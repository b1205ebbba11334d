import fs from 'node:fs';
import Database from 'better-sqlite3';
import { SessionStore, connectionOf, optionError, ownOptionNames, validateIdentifier } from '../../shared';
import type { BaseStoreOptions, LifetimeOptions, ReaperOptions, StoredEntry, StoredSession, TombstoneOptions, UserIndexOptions } from '../../shared';

export interface SqliteStoreOptions extends BaseStoreOptions, ReaperOptions, TombstoneOptions, LifetimeOptions, UserIndexOptions {
  /** An open better-sqlite3 database. The store never closes it and never changes its pragmas. */
  db?: Database.Database;
  /** A database file for the store to open (WAL, the `synchronous` and `busyTimeout` below) and close. */
  filename?: string;
  /** The table holding the sessions: letters, digits and `_`, not starting with a digit. Default `sessions`. */
  tableName?: string;
  /**
   * When commits reach the disk, for a database opened from `filename`. `normal` (default): a
   * commit survives a process crash, an OS crash or power loss may undo the latest ones. `full`:
   * every commit is fsynced before it returns.
   */
  synchronous?: 'normal' | 'full';
  /** Milliseconds to wait for another connection's write lock, for a database opened from `filename`. */
  busyTimeout?: number;
  /**
   * Permission bits of a database file the store creates from `filename` (its -wal and -shm files
   * get the same), whatever the umask. Default 0o600. A file that already exists keeps its mode.
   */
  fileMode?: number;
}

const TABLE_NAME_PATTERN = /^(?!sqlite_)[A-Za-z_][A-Za-z0-9_]{0,62}$/i;
const TABLE_NAME_RULE = 'letters, digits and _, not starting with a digit or sqlite_ (SQLite keeps those names), at most 63 characters';
const DEFAULT_FILE_MODE = 0o600;
/** The columns of our table, as `PRAGMA table_info` reports them: name, declared type, NOT NULL, primary-key position. */
const LAYOUT = [
  { name: 'sid', type: 'TEXT', notnull: 1, pk: 1 },
  { name: 'sess', type: 'TEXT', notnull: 1, pk: 0 },
  { name: 'expires_at', type: 'INTEGER', notnull: 1, pk: 0 },
  { name: 'created_at', type: 'INTEGER', notnull: 0, pk: 0 },
  { name: 'owner', type: 'TEXT', notnull: 0, pk: 0 },
];
/** The columns of 0.1's layout; the store adds the others in place, and a row gets them at its next save. */
const FIRST_COLUMNS = 3;
const SCAN_BATCH = 500;
const MAX_BUSY_TIMEOUT_MS = 1500;

/** The parameters of a write: the base's arguments, by name. */
interface WriteParameters {
  sid: string;
  sess: string;
  expiresAt: number;
  now: number;
  maxLifetimeMs: number | null;
  owner: string | null;
}

interface ExtendParameters {
  sid: string;
  expiresAt: number;
  now: number;
  maxLifetimeMs: number | null;
}

interface Statements {
  read: Database.Statement<[string, number], { sess: unknown; expires_at: number; created_at: number | null }>;
  write: Database.Statement<[WriteParameters]>;
  extend: Database.Statement<[ExtendParameters]>;
  extendUnlessRecent: Database.Statement<[ExtendParameters & { unlessExpiresAfter: number }]>;
  entomb: Database.Statement<[string, number, number]>;
  remove: Database.Statement<[string]>;
  scanIds: Database.Statement<[string, number, number], StoredRow>;
  scanAll: Database.Statement<[string, number, number], StoredRow>;
  scanOwner: Database.Statement<[string, number], StoredRow & { sess: unknown; created_at: number | null }>;
  count: Database.Statement<[number], number>;
  removeAll: Database.Statement<[]>;
  removeExpired: Database.Statement<[number, number]>;
}

interface StoredRow {
  sid: string;
  expires_at: number;
  sess?: unknown;
}

/**
 * Sessions in one SQLite table through better-sqlite3: one row per session, its expiry in epoch
 * milliseconds under an index, expired rows filtered in every query and deleted in batches by
 * the reaper. Several processes may share one database file.
 */
export class SqliteStore extends SessionStore {
  /** The database the store works on, opened by it or handed in. */
  readonly db: Database.Database;
  readonly tableName: string;
  private readonly statements: Statements;

  constructor(options: SqliteStoreOptions) {
    super('sqlite', options, {
      ownOptions: ownOptionNames<SqliteStoreOptions>({ db: true, filename: true, tableName: true, synchronous: true, busyTimeout: true, fileMode: true }),
      tombstones: true,
      maxLifetime: true,
      userIndex: true,
    });
    options ??= {};
    this.tableName = validateIdentifier('sqlite', 'tableName', options.tableName ?? 'sessions', TABLE_NAME_PATTERN, TABLE_NAME_RULE);
    const timeoutMs = this.settings.operationTimeoutMs;
    const connection = connectionOf('sqlite', options, {
      given: 'db',
      what: 'an open better-sqlite3 Database',
      accepts: isDatabase,
      opened: ['filename'],
      openOnly: ['synchronous', 'busyTimeout', 'fileMode'],
      open: ({ filename, synchronous = 'normal', busyTimeout = Math.min(MAX_BUSY_TIMEOUT_MS, timeoutMs / 2), fileMode = DEFAULT_FILE_MODE }) =>
        openDatabase(filename, synchronous, busyTimeout, timeoutMs, fileMode),
    });
    if (connection.handle.readonly) throw optionError('sqlite', 'db is open read-only: the store writes sessions');
    this.db = this.adopt(connection, (db) => db.close());
    try {
      this.statements = this.prepare();
    } catch (error) {
      if (connection.owned) this.db.close();
      throw error;
    }
  }

  protected readRecord(key: string, now: number): StoredSession | undefined {
    const row = this.statements.read.get(key, now);
    return row && this.storedSession(row.sess, row.expires_at, row.created_at);
  }

  protected writeRecord(key: string, payload: string, expiresAt: number, now: number, maxLifetimeMs: number | undefined, owner: string | undefined): void {
    this.statements.write.run({ sid: key, sess: payload, expiresAt, now, maxLifetimeMs: maxLifetimeMs ?? null, owner: owner ?? null });
  }

  protected extendRecord(key: string, expiresAt: number, now: number, unlessExpiresAfter: number | undefined, maxLifetimeMs: number | undefined): void {
    const parameters = { sid: key, expiresAt, now, maxLifetimeMs: maxLifetimeMs ?? null };
    if (unlessExpiresAfter === undefined) this.statements.extend.run(parameters);
    else this.statements.extendUnlessRecent.run({ ...parameters, unlessExpiresAfter });
  }

  protected entombRecord(key: string, expiresAt: number, now: number): void {
    this.statements.entomb.run(key, expiresAt, now);
  }

  protected removeRecord(key: string): void {
    this.statements.remove.run(key);
  }

  protected async *scanRecords(now: number, withPayload: boolean): AsyncIterable<StoredEntry[]> {
    const scan = withPayload ? this.statements.scanAll : this.statements.scanIds;
    let after = '';
    for (;;) {
      const rows = scan.all(after, now, SCAN_BATCH);
      if (rows.length > 0) {
        yield rows.map((row) =>
          withPayload ? { key: row.sid, expiresAt: row.expires_at, payload: row.sess } : { key: row.sid, expiresAt: row.expires_at },
        );
      }
      if (rows.length < SCAN_BATCH) return;
      after = rows[rows.length - 1]!.sid;
    }
  }

  protected scanOwnerRecords(owner: string, now: number): StoredEntry[] {
    return this.statements.scanOwner.all(owner, now).map((row) => ({
      key: row.sid,
      expiresAt: row.expires_at,
      payload: row.sess,
      ...(row.created_at !== null && { createdAt: row.created_at }),
    }));
  }

  protected countRecords(now: number): number {
    return this.statements.count.get(now)!;
  }

  protected removeAllRecords(): void {
    this.statements.removeAll.run();
  }

  protected removeExpiredRecords(now: number, limit: number): number {
    return this.statements.removeExpired.run(now, limit).changes;
  }

  /** Creates the table when missing, refuses one that is not in our layout, then prepares every statement. */
  private prepare(): Statements {
    const table = `"${this.tableName}"`;
    try {
      this.db.exec(`CREATE TABLE IF NOT EXISTS ${table} (sid TEXT PRIMARY KEY NOT NULL, sess TEXT NOT NULL, expires_at INTEGER NOT NULL, created_at INTEGER, owner TEXT)`);
    } catch (error) {
      throw optionError('sqlite', `cannot create table ${table}: ${(error as Error).message}`);
    }
    // Checked before the index, and before any statement can delete or overwrite a row of a table that is not ours.
    this.checkLayout(table);
    try {
      this.db.exec(`CREATE INDEX IF NOT EXISTS "${this.tableName}_expires_at" ON ${table} (expires_at)`);
      // Partial: sessions of no user cost the index nothing.
      this.db.exec(`CREATE INDEX IF NOT EXISTS "${this.tableName}_owner" ON ${table} (owner) WHERE owner IS NOT NULL`);
    } catch (error) {
      throw optionError('sqlite', `cannot create the indexes of ${table}: ${(error as Error).message}`);
    }
    // A live row keeps its creation instant, and its expiry stays within maxLifetime of it; a live tombstone ('') is left alone.
    const liveRow = `${table}.expires_at > @now`;
    const createdAt = `CASE WHEN ${liveRow} THEN COALESCE(${table}.created_at, @now) ELSE @now END`;
    const extended = 'MIN(@expiresAt, COALESCE(created_at + @maxLifetimeMs, @expiresAt))';
    const prepare = <P extends unknown[], R = unknown>(sql: string, pluck = false) => {
      // A caller's db may return BigInt integers by default; expiry instants always fit a double.
      const statement = this.db.prepare<P, R>(sql);
      if (statement.reader) statement.safeIntegers(false);
      return pluck ? statement.pluck() : statement;
    };
    return {
      read: prepare(`SELECT sess, expires_at, created_at FROM ${table} WHERE sid = ? AND expires_at > ?`),
      write: prepare(
        `INSERT INTO ${table} (sid, sess, expires_at, created_at, owner) VALUES (@sid, @sess, @expiresAt, @now, @owner)
         ON CONFLICT (sid) DO UPDATE SET sess = excluded.sess, owner = excluded.owner, created_at = ${createdAt},
           expires_at = MIN(excluded.expires_at, COALESCE(${createdAt} + @maxLifetimeMs, excluded.expires_at))
         WHERE ${table}.sess <> '' OR NOT ${liveRow}`,
      ),
      // Neither writes a row whose expiry would not move (at the end of its lifetime, say); with touchAfter none moves it back either.
      extend: prepare(`UPDATE ${table} SET expires_at = ${extended} WHERE sid = @sid AND expires_at > @now AND sess <> '' AND expires_at <> ${extended}`),
      extendUnlessRecent: prepare(
        `UPDATE ${table} SET expires_at = ${extended} WHERE sid = @sid AND expires_at > @now AND expires_at < @unlessExpiresAfter AND sess <> '' AND expires_at < ${extended}`,
      ),
      entomb: prepare(
        `INSERT INTO ${table} (sid, sess, expires_at, created_at) VALUES (?, '', ?, ?)
         ON CONFLICT (sid) DO UPDATE SET sess = '', expires_at = excluded.expires_at, created_at = excluded.created_at, owner = NULL`,
      ),
      remove: prepare(`DELETE FROM ${table} WHERE sid = ?`),
      scanIds: prepare(`SELECT sid, expires_at FROM ${table} WHERE sid > ? AND expires_at > ? AND sess <> '' ORDER BY sid LIMIT ?`),
      scanAll: prepare(`SELECT sid, expires_at, sess FROM ${table} WHERE sid > ? AND expires_at > ? AND sess <> '' ORDER BY sid LIMIT ?`),
      scanOwner: prepare(`SELECT sid, sess, expires_at, created_at FROM ${table} WHERE owner = ? AND expires_at > ? AND sess <> ''`),
      count: prepare(`SELECT COUNT(*) FROM ${table} WHERE expires_at > ? AND sess <> ''`, true),
      removeAll: prepare(`DELETE FROM ${table}`),
      removeExpired: prepare(
        `DELETE FROM ${table} WHERE rowid IN (SELECT rowid FROM ${table} WHERE expires_at <= ? LIMIT ?)`,
      ),
    } as Statements;
  }

  private checkLayout(table: string): void {
    const kind = this.db.prepare<[string], string>(`SELECT type FROM sqlite_master WHERE name = ? COLLATE NOCASE`).pluck().get(this.tableName);
    const columns = this.db
      .prepare<[], { name: string; type: string; notnull: number; pk: number }>(`SELECT name, type, "notnull", pk FROM pragma_table_xinfo('${this.tableName}')`)
      .all()
      .map(({ name, type, notnull, pk }) => ({ name, type: type.toUpperCase(), notnull: Number(notnull), pk: Number(pk) }));
    const known = columns.length >= FIRST_COLUMNS && columns.length < LAYOUT.length && JSON.stringify(columns) === JSON.stringify(LAYOUT.slice(0, columns.length));
    if (kind === 'table' && known) {
      // Adding a nullable column rewrites no row; one transaction, so another process sees all the columns or none.
      this.db.transaction(() => {
        for (const { name, type } of LAYOUT.slice(columns.length)) this.db.exec(`ALTER TABLE ${table} ADD COLUMN ${name} ${type}`);
      }).immediate();
      return;
    }
    if (kind !== 'table' || JSON.stringify(columns) !== JSON.stringify(LAYOUT)) {
      throw optionError(
        'sqlite',
        `${table} is ${kind === 'table' ? 'a table' : `a ${kind}`} that is not a session table of this store ` +
          `(expected exactly sid TEXT PRIMARY KEY NOT NULL, sess TEXT NOT NULL, expires_at INTEGER NOT NULL, created_at INTEGER, owner TEXT): choose another tableName`,
      );
    }
  }
}

/** Opens a database file in WAL mode with the given durability and lock wait, creating it with `fileMode`. */
function openDatabase(filename: unknown, synchronous: unknown, busyTimeoutMs: unknown, operationTimeoutMs: number, fileMode: unknown): Database.Database {
  if (typeof filename !== 'string' || filename.length === 0) {
    throw optionError('sqlite', 'filename must be a non-empty string');
  }
  if (synchronous !== 'normal' && synchronous !== 'full') {
    throw optionError('sqlite', `synchronous must be 'normal' or 'full', got ${String(synchronous)}`);
  }
  if (!(typeof busyTimeoutMs === 'number' && busyTimeoutMs >= 0 && busyTimeoutMs < operationTimeoutMs)) {
    throw optionError('sqlite', `busyTimeout must be a number of milliseconds from 0 to below operationTimeout, got ${String(busyTimeoutMs)}`);
  }
  if (!(Number.isInteger(fileMode) && (fileMode as number) >= 0 && (fileMode as number) <= 0o777)) {
    throw optionError('sqlite', `fileMode must be permission bits from 0 to 0o777, got ${String(fileMode)}`);
  }
  if (filename !== ':memory:') createFile(filename, fileMode as number);
  let db: Database.Database;
  try {
    // better-sqlite3 runs every statement synchronously, so the busy timeout is the only bound on a locked database.
    db = new Database(filename, { timeout: busyTimeoutMs });
  } catch (error) {
    throw optionError('sqlite', `cannot open ${filename}: ${(error as Error).message}`);
  }
  try {
    // SQLite falls back to read-only on a file it may not write; only a write proves the store can work.
    const journalMode = db.pragma('journal_mode = WAL', { simple: true });
    if (journalMode !== 'wal' && !db.memory) throw new Error('it refused WAL mode (a read-only file?)');
    db.pragma(`synchronous = ${synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    db.exec('BEGIN; CREATE TABLE main.session_stores_write_check (x); ROLLBACK');
  } catch (error) {
    db.close();
    throw optionError('sqlite', `cannot write ${filename}: ${(error as Error).message}`);
  }
  return db;
}

/**
 * Creates a missing database file with exactly `mode` (SQLite gives its -wal and -shm files the
 * mode of the database file); an existing file is left as it is.
 */
function createFile(filename: string, mode: number): void {
  let fd: number;
  try {
    fd = fs.openSync(filename, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_EXCL, mode);
  } catch (error) {
    // An existing file, even one the directory's permissions keep us from creating, is SQLite's to open or refuse.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST' || fs.existsSync(filename)) return;
    throw optionError('sqlite', `cannot create ${filename}: ${(error as Error).message}`);
  }
  try {
    // The umask may have taken bits off at creation.
    fs.fchmodSync(fd, mode);
  } finally {
    fs.closeSync(fd);
  }
}

function isDatabase(value: unknown): value is Database.Database {
  const db = value as Partial<Database.Database> | null | undefined;
  return typeof db?.prepare === 'function' && typeof db.exec === 'function' && db.open === true;
}
