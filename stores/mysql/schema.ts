/**
 * Every statement the store sends, for one table layout. Parameters are listed beside each; the
 * express-mysql-session layout keeps no creation instant and no owner, so its statements take no
 * `now` for it, no maxLifetimeMs and no owner, and it has no tombstones.
 */
export interface Statements {
  /** Idempotent DDL: the table, its primary key on the id, its index on expiry and (our layout) its index on owner. */
  createTable: string;
  /** ? sid, ? now → one row `{ data, expires_at, created_at }` (express-mysql-session: no created_at) when the record is live (a tombstone's data is ''). */
  read: string;
  /** ? sid, ? payload, ? expiresAt, ? now, ? owner or null, ? maxLifetimeMs or null (express-mysql-session: the first three). */
  write: string;
  /** ? expiresAt, ? maxLifetimeMs or null, ? expiresAt, ? sid, ? now (express-mysql-session: ? expiresAt, ? sid, ? now). */
  extend: string;
  /** As `extend`, then ? the stored expiry must be before this. */
  extendUnlessRecent: string;
  /** ? sid, ? the tombstone's expiry, ? now; our layout only. */
  entomb?: string;
  /** ? sid. */
  remove: string;
  /** ? now, ? the last sid of the previous page → rows `{ sid, expires_at }`, at most SCAN_PAGE_SIZE, tombstones left out. */
  scanIds: string;
  /** As `scanIds`, rows also carry `data`. */
  scanSessions: string;
  /** ? owner, ? now → rows `{ sid, data, expires_at, created_at }` of that owner, live, tombstones left out; our layout only. */
  scanOwner?: string;
  /** ? now → one row `{ count }`, tombstones left out. */
  count: string;
  /** Deletes at most CLEAR_BATCH_SIZE rows → `affectedRows`. */
  removeBatch: string;
  /** ? now, ? the batch size → `affectedRows`, at most that many, oldest expiry first. */
  removeExpired: string;
}

export type Layout = 'session-stores' | 'express-mysql-session';

/** How a layout stores instants: the store hands over epoch milliseconds, a seconds column needs them converted. */
export interface Units {
  /** The parameter for an expiry to store (rounded up, so a live session stays live). */
  expiresAt(ms: number): number;
  /** The parameter for "now" in `> now` and `<= now` filters (for an integer column, x > now exactly when x > floor(now)). */
  now(ms: number): number;
  /** The parameter for "stored expiry before this instant" (x < t exactly when x < ceil(t) for an integer x). */
  before(ms: number): number;
}

/** The longest owner key: 512 UTF-16 units of user id (the base's limit), at most 3 UTF-8 bytes each; a hashed one is 43. */
const MAX_OWNER_BYTES = 1536;

/** 0.1's columns, then those our layout gained since, in order, each added in place to a table of an earlier layout. */
const FIRST_COLUMNS = ['sid', 'expires_at', 'data'];
const ADDED_COLUMNS: ReadonlyArray<[name: string, definition: string]> = [
  ['created_at', 'BIGINT NULL'],
  ['owner', `VARBINARY(${MAX_OWNER_BYTES}) NULL`],
];

/** The columns a table of the layout has, the first being its primary key, for the check before any write. */
export const COLUMNS: Record<Layout, readonly string[]> = {
  'session-stores': [...FIRST_COLUMNS, ...ADDED_COLUMNS.map(([name]) => name)],
  'express-mysql-session': ['session_id', 'expires', 'data'],
};

/** A column as `information_schema.COLUMNS` gives it: `key` is `PRI`, `MUL` (first of a secondary index)… or ''. */
export interface TableColumn {
  name: string;
  key: string;
}

/** The table has exactly `expected`'s columns, the first as its primary key alone. */
export function hasColumns(columns: readonly TableColumn[], expected: readonly string[]): boolean {
  const names = columns.map((column) => column.name).sort();
  const primaryKey = columns.filter((column) => column.key === 'PRI').map((column) => column.name);
  return names.join() === [...expected].sort().join() && primaryKey.join() === expected[0];
}

/** The added columns a table of an earlier layout of ours lacks ([] for this one), or undefined for any other table. */
function missingColumns(columns: readonly TableColumn[]): ReadonlyArray<[name: string, definition: string]> | undefined {
  for (let kept = ADDED_COLUMNS.length; kept >= 0; kept--) {
    if (hasColumns(columns, [...FIRST_COLUMNS, ...ADDED_COLUMNS.slice(0, kept).map(([name]) => name)])) return ADDED_COLUMNS.slice(kept);
  }
  return undefined;
}

/**
 * What a table of our layout, this one or an earlier one, still lacks (columns, the owner index)
 * and the statements that add it, in order: none for any other table, which the column check then
 * refuses. MySQL 8 has no ADD COLUMN IF NOT EXISTS: a concurrent starter's duplicate column or
 * index is for the caller to tolerate.
 */
export function migrationOf(tableName: string, columns: readonly TableColumn[]): { lacks: string[]; statements: string[] } {
  const table = quoteIdentifier(tableName);
  const missing = missingColumns(columns);
  if (missing === undefined) return { lacks: [], statements: [] };
  const indexed = columns.some((column) => column.name === 'owner' && column.key !== '');
  // Apart, so the ALTER stays instant (with an index in it, it would rebuild the table); the index is built online.
  const statements = [
    ...(missing.length > 0 ? [`ALTER TABLE ${table} ${missing.map(([name, definition]) => `ADD COLUMN ${name} ${definition}`).join(', ')}`] : []),
    ...(indexed ? [] : [`CREATE INDEX owner_idx ON ${table} (owner) ALGORITHM=INPLACE LOCK=NONE`]),
  ];
  return { lacks: [...missing.map(([name]) => name), ...(indexed ? [] : ['the index on owner'])], statements };
}

export const UNITS: Record<Layout, Units> = {
  'session-stores': { expiresAt: Math.ceil, now: Math.floor, before: Math.ceil },
  'express-mysql-session': {
    expiresAt: (ms) => Math.ceil(ms / 1000),
    now: (ms) => Math.floor(ms / 1000),
    before: (ms) => Math.ceil(ms / 1000),
  },
};

export const SCAN_PAGE_SIZE = 1000;
export const CLEAR_BATCH_SIZE = 1000;

/** Quotes a name already checked against the identifier pattern; doubling backticks keeps it safe regardless. */
export function quoteIdentifier(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}

export function statementsFor(layout: Layout, tableName: string): Statements {
  const table = quoteIdentifier(tableName);
  return layout === 'express-mysql-session'
    ? expressMySqlSessionStatements(table)
    : nativeStatements(table);
}

/**
 * `sid` is VARBINARY(3072): bytes compare as bytes, so `CaseSid` and `casesid`, or `pad` and
 * `pad `, are different sessions (`utf8mb4_bin` pads trailing spaces on MariaDB and MySQL 8, and a
 * server's default collation folds case), with one DDL for MySQL and MariaDB; 3072 bytes is InnoDB's
 * longest key and holds any id the base accepts (1024 UTF-16 units are at most 3072 UTF-8 bytes).
 * `expires_at` is a BIGINT of epoch milliseconds, compared with the store's clock as an exact
 * integer, never with the server's time zone or clock. `data` is MEDIUMTEXT (16 MB) because the
 * serializer is pluggable and may not produce JSON; '' marks a tombstone. `created_at` (epoch ms,
 * nullable: a row from before the column gets one at its next save) bounds `maxLifetime`. `owner`
 * is the owner key the base gives each write (NULL for a session of no user and for a tombstone),
 * VARBINARY so it too compares as bytes, under a plain secondary index (MySQL has no partial ones).
 */
function nativeStatements(table: string): Statements {
  // LENGTH, not = '': in a PAD SPACE collation (MariaDB's default) a payload of spaces equals ''.
  const session = 'LENGTH(data) > 0';
  const scan = (columns: string) =>
    `SELECT ${columns} FROM ${table} WHERE expires_at > ? AND sid > ? AND ${session} ORDER BY sid LIMIT ${SCAN_PAGE_SIZE}`;
  // The write's now is the created_at it would insert. Each assignment gives the same whether the server
  // assigns left to right, each seeing those before, or all at once (MariaDB's SIMULTANEOUS_ASSIGNMENT):
  // data is set first and kept on a live tombstone (so owner, after it, sees the same), and expires_at recomputes createdAt rather than read it.
  const now = 'VALUES(created_at)';
  const liveTombstone = `LENGTH(data) = 0 AND expires_at > ${now}`;
  const createdAt = `IF(expires_at > ${now}, COALESCE(created_at, ${now}), ${now})`;
  const extended = `LEAST(?, COALESCE(created_at + ?, ?))`;
  const extend = `UPDATE ${table} SET expires_at = ${extended} WHERE sid = ? AND expires_at > ? AND ${session}`;
  return {
    createTable: [
      `CREATE TABLE IF NOT EXISTS ${table} (`,
      '  sid VARBINARY(3072) NOT NULL,',
      '  expires_at BIGINT NOT NULL,',
      '  data MEDIUMTEXT CHARACTER SET utf8mb4 NOT NULL,',
      '  created_at BIGINT NULL,',
      `  owner VARBINARY(${MAX_OWNER_BYTES}) NULL,`,
      '  PRIMARY KEY (sid),',
      '  INDEX expires_at_idx (expires_at),',
      '  INDEX owner_idx (owner)',
      ') ENGINE=InnoDB',
    ].join('\n'),
    read: `SELECT data, expires_at, created_at FROM ${table} WHERE sid = ? AND expires_at > ?`,
    write:
      `INSERT INTO ${table} (sid, data, expires_at, created_at, owner) VALUES (?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE ` +
      `data = IF(${liveTombstone}, data, VALUES(data)), ` +
      `owner = IF(${liveTombstone}, owner, VALUES(owner)), ` +
      `created_at = ${createdAt}, ` +
      `expires_at = IF(${liveTombstone}, expires_at, LEAST(VALUES(expires_at), COALESCE(${createdAt} + ?, VALUES(expires_at))))`,
    extend,
    extendUnlessRecent: `${extend} AND expires_at < ?`,
    entomb:
      `INSERT INTO ${table} (sid, data, expires_at, created_at) VALUES (?, '', ?, ?) ` +
      'ON DUPLICATE KEY UPDATE data = VALUES(data), expires_at = VALUES(expires_at), created_at = VALUES(created_at), owner = NULL',
    remove: `DELETE FROM ${table} WHERE sid = ?`,
    scanIds: scan('sid, expires_at'),
    scanSessions: scan('sid, expires_at, data'),
    scanOwner: `SELECT sid, data, expires_at, created_at FROM ${table} WHERE owner = ? AND expires_at > ? AND ${session}`,
    count: `SELECT COUNT(*) AS count FROM ${table} WHERE expires_at > ? AND ${session}`,
    removeBatch: `DELETE FROM ${table} ORDER BY sid LIMIT ${CLEAR_BATCH_SIZE}`,
    removeExpired: `DELETE FROM ${table} WHERE expires_at <= ? ORDER BY expires_at LIMIT ?`,
  };
}

/**
 * express-mysql-session's table (its schema.sql): `expires` in whole seconds, `session_id` a
 * VARCHAR(128) in `utf8mb4_bin`, which pads trailing spaces. Its own table has no index
 * on `expires`; one created here has one, which express-mysql-session ignores.
 */
function expressMySqlSessionStatements(table: string): Statements {
  const scan = (columns: string) =>
    `SELECT ${columns} FROM ${table} WHERE expires > ? AND session_id > ? ORDER BY session_id LIMIT ${SCAN_PAGE_SIZE}`;
  return {
    createTable: [
      `CREATE TABLE IF NOT EXISTS ${table} (`,
      '  session_id VARCHAR(128) COLLATE utf8mb4_bin NOT NULL,',
      '  expires INT(11) UNSIGNED NOT NULL,',
      '  data MEDIUMTEXT COLLATE utf8mb4_bin,',
      '  PRIMARY KEY (session_id),',
      '  INDEX expires_idx (expires)',
      ') ENGINE=InnoDB',
    ].join('\n'),
    read: `SELECT data, expires * 1000 AS expires_at FROM ${table} WHERE session_id = ? AND expires > ?`,
    write:
      `INSERT INTO ${table} (session_id, data, expires) VALUES (?, ?, ?) ` +
      'ON DUPLICATE KEY UPDATE data = VALUES(data), expires = VALUES(expires)',
    extend: `UPDATE ${table} SET expires = ? WHERE session_id = ? AND expires > ?`,
    extendUnlessRecent: `UPDATE ${table} SET expires = ? WHERE session_id = ? AND expires > ? AND expires < ?`,
    remove: `DELETE FROM ${table} WHERE session_id = ?`,
    scanIds: scan('session_id AS sid, expires * 1000 AS expires_at'),
    scanSessions: scan('session_id AS sid, expires * 1000 AS expires_at, data'),
    count: `SELECT COUNT(*) AS count FROM ${table} WHERE expires > ?`,
    removeBatch: `DELETE FROM ${table} ORDER BY session_id LIMIT ${CLEAR_BATCH_SIZE}`,
    removeExpired: `DELETE FROM ${table} WHERE expires <= ? ORDER BY expires LIMIT ?`,
  };
}
