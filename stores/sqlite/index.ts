import Database from 'better-sqlite3';
import { SessionStore, optionError, resolvePruneInterval, validateIdentifier } from '../../shared';
import type { BaseStoreOptions, ReaperOptions, StoredEntry, StoredSession } from '../../shared';

export interface SqliteStoreOptions extends BaseStoreOptions, ReaperOptions {
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
}

const TABLE_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const SCAN_BATCH = 500;
const MAX_BUSY_TIMEOUT_MS = 1500;

interface Statements {
  read: Database.Statement<[string, number], { sess: unknown; expires_at: number }>;
  write: Database.Statement<[string, string, number]>;
  extend: Database.Statement<[number, string, number]>;
  extendUnlessRecent: Database.Statement<[number, string, number, number]>;
  remove: Database.Statement<[string]>;
  scanIds: Database.Statement<[string, number, number], StoredRow>;
  scanAll: Database.Statement<[string, number, number], StoredRow>;
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
  private readonly ownsDb: boolean;
  private readonly statements: Statements;

  constructor(options: SqliteStoreOptions) {
    super('sqlite', options, {
      pruneIntervalMs: resolvePruneInterval('sqlite', options ?? undefined),
    });
    const { db, filename, tableName = 'sessions', synchronous, busyTimeout } = options ?? {};
    this.tableName = validateIdentifier('sqlite', 'tableName', tableName, TABLE_NAME_PATTERN, 'letters, digits and _, not starting with a digit, at most 63 characters');
    if ((db === undefined) === (filename === undefined)) {
      throw optionError('sqlite', 'exactly one of db (an open better-sqlite3 Database) or filename must be given');
    }
    if (db !== undefined) {
      if (!isDatabase(db)) throw optionError('sqlite', 'db must be an open better-sqlite3 Database');
      if (synchronous !== undefined || busyTimeout !== undefined) {
        throw optionError('sqlite', 'synchronous and busyTimeout apply to a database the store opens; set them on your own db');
      }
      this.db = db;
      this.ownsDb = false;
    } else {
      const timeoutMs = this.settings.operationTimeoutMs;
      this.db = openDatabase(filename, synchronous ?? 'normal', busyTimeout ?? Math.min(MAX_BUSY_TIMEOUT_MS, timeoutMs / 2), timeoutMs);
      this.ownsDb = true;
    }
    try {
      this.statements = this.prepare();
    } catch (error) {
      if (this.ownsDb) this.db.close();
      throw error;
    }
    this.startReaper();
  }

  protected readRecord(key: string, now: number): StoredSession | undefined {
    const row = this.statements.read.get(key, now);
    return row && { payload: row.sess, expiresAt: row.expires_at };
  }

  protected writeRecord(key: string, payload: string, expiresAt: number): void {
    this.statements.write.run(key, payload, expiresAt);
  }

  protected extendRecord(key: string, expiresAt: number, now: number, unlessExpiresAfter: number | undefined): void {
    if (unlessExpiresAfter === undefined) this.statements.extend.run(expiresAt, key, now);
    else this.statements.extendUnlessRecent.run(expiresAt, key, now, unlessExpiresAfter);
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

  protected countRecords(now: number): number {
    return this.statements.count.get(now)!;
  }

  protected removeAllRecords(): void {
    this.statements.removeAll.run();
  }

  protected removeExpiredRecords(now: number, limit: number): number {
    return this.statements.removeExpired.run(now, limit).changes;
  }

  protected closeBackend(): void {
    if (this.ownsDb) this.db.close();
  }

  private prepare(): Statements {
    const table = `"${this.tableName}"`;
    this.db.exec(
      `CREATE TABLE IF NOT EXISTS ${table} (sid TEXT PRIMARY KEY NOT NULL, sess TEXT NOT NULL, expires_at INTEGER NOT NULL);
       CREATE INDEX IF NOT EXISTS "${this.tableName}_expires_at" ON ${table} (expires_at);`,
    );
    const prepare = <P extends unknown[], R = unknown>(sql: string, pluck = false) => {
      // A caller's db may return BigInt integers by default; expiry instants always fit a double.
      const statement = this.db.prepare<P, R>(sql);
      if (statement.reader) statement.safeIntegers(false);
      return pluck ? statement.pluck() : statement;
    };
    return {
      read: prepare(`SELECT sess, expires_at FROM ${table} WHERE sid = ? AND expires_at > ?`),
      write: prepare(
        `INSERT INTO ${table} (sid, sess, expires_at) VALUES (?, ?, ?)
         ON CONFLICT (sid) DO UPDATE SET sess = excluded.sess, expires_at = excluded.expires_at`,
      ),
      extend: prepare(`UPDATE ${table} SET expires_at = ? WHERE sid = ? AND expires_at > ?`),
      extendUnlessRecent: prepare(`UPDATE ${table} SET expires_at = ? WHERE sid = ? AND expires_at > ? AND expires_at < ?`),
      remove: prepare(`DELETE FROM ${table} WHERE sid = ?`),
      scanIds: prepare(`SELECT sid, expires_at FROM ${table} WHERE sid > ? AND expires_at > ? ORDER BY sid LIMIT ?`),
      scanAll: prepare(`SELECT sid, expires_at, sess FROM ${table} WHERE sid > ? AND expires_at > ? ORDER BY sid LIMIT ?`),
      count: prepare(`SELECT COUNT(*) FROM ${table} WHERE expires_at > ?`, true),
      removeAll: prepare(`DELETE FROM ${table}`),
      removeExpired: prepare(
        `DELETE FROM ${table} WHERE rowid IN (SELECT rowid FROM ${table} WHERE expires_at <= ? LIMIT ?)`,
      ),
    } as Statements;
  }
}

/** Opens a database file in WAL mode with the given durability and lock wait. */
function openDatabase(filename: unknown, synchronous: unknown, busyTimeoutMs: unknown, operationTimeoutMs: number): Database.Database {
  if (typeof filename !== 'string' || filename.length === 0) {
    throw optionError('sqlite', 'filename must be a non-empty string');
  }
  if (synchronous !== 'normal' && synchronous !== 'full') {
    throw optionError('sqlite', `synchronous must be 'normal' or 'full', got ${String(synchronous)}`);
  }
  if (!(typeof busyTimeoutMs === 'number' && busyTimeoutMs >= 0 && busyTimeoutMs < operationTimeoutMs)) {
    throw optionError('sqlite', `busyTimeout must be a number of milliseconds from 0 to below operationTimeout, got ${String(busyTimeoutMs)}`);
  }
  // better-sqlite3 runs every statement synchronously, so the busy timeout is the only bound on a locked database.
  const db = new Database(filename, { timeout: busyTimeoutMs });
  try {
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

function isDatabase(value: unknown): value is Database.Database {
  const db = value as Partial<Database.Database> | null | undefined;
  return typeof db?.prepare === 'function' && typeof db.exec === 'function' && db.open === true;
}
