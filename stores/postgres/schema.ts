import { createHash } from 'node:crypto';

/**
 * Every statement the store sends, for one table layout. Parameters are listed beside each; the
 * connect-pg-simple layout keeps no creation instant and no owner, so its statements take no `now`
 * for it, no maxLifetimeMs and no owner, and it has no tombstones.
 */
export interface Statements {
  /** Idempotent DDL: the table, its primary key on the id, its index on expiry and (our layout) its index on owner. */
  createTable: string;
  /** $1 sid, $2 now → one row `{ data, expires_at, created_at }` (connect-pg-simple: no created_at) when the record is live (a tombstone's data is ''). */
  read: string;
  /** $1 sid, $2 payload, $3 expiresAt, $4 now, $5 maxLifetimeMs or null, $6 owner or null (connect-pg-simple: $1-$3). */
  write: string;
  /** $1 sid, $2 expiresAt, $3 now, $4 maxLifetimeMs or null (connect-pg-simple: $1-$3). */
  extend: string;
  /** As `extend`, then the stored expiry must be before the last parameter ($5, connect-pg-simple: $4). */
  extendUnlessRecent: string;
  /** $1 sid, $2 the tombstone's expiry, $3 now; our layout only. */
  entomb?: string;
  /** $1 sid. */
  remove: string;
  /** $1 now, $2 the last sid of the previous page, $3 page size → rows `{ sid, expires_at }`, tombstones left out. */
  scanIds: string;
  /** As `scanIds`, rows also carry `data`. */
  scanSessions: string;
  /** $1 owner, $2 now → rows `{ sid, data, expires_at, created_at }` of that owner, live, tombstones left out; our layout only. */
  scanOwner?: string;
  /** $1 now → one row `{ count }`, tombstones left out. */
  count: string;
  removeAll: string;
  /**
   * $1 now, $2 limit, $3 lock class, $4 the table's name for regclass, $5 the expiry (as text) to
   * scan from, null for the lowest → one row `{ removed, reached }`, `reached` the highest expiry deleted.
   */
  removeExpired: string;
}

export type Layout = 'session-stores' | 'connect-pg-simple';

/** What `TABLE_SHAPE_QUERY` reports of a table, to check it is a session table before any statement touches it. */
export interface TableShape {
  schema: string;
  /** pg_class.relkind: `r` a table, `p` a partitioned table, `v` a view… */
  kind: string;
  /** Each column: name, type as `format_type` spells it, NOT NULL. */
  columns: Array<[name: string, type: string, notNull: boolean]>;
  primaryKey: string[] | null;
  /** A valid index leads with an `owner` column: what `scanOwner` reads instead of the table. */
  ownerIndexed: boolean;
}

/** $1 the table's (qualified, quoted) name → its shape, resolved through search_path as the statements will be; no row when missing. */
export const TABLE_SHAPE_QUERY = `SELECT n.nspname AS schema, c.relkind::text AS kind,
  (SELECT json_agg(json_build_array(a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull) ORDER BY a.attname)
     FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS columns,
  (SELECT array_agg(a.attname::text ORDER BY a.attname) FROM pg_index i
     JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
     WHERE i.indrelid = c.oid AND i.indisprimary) AS "primaryKey",
  EXISTS (SELECT FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
     WHERE i.indrelid = c.oid AND i.indisvalid AND a.attname = 'owner') AS "ownerIndexed"
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1)`;

/** PostgreSQL's own schemas: `pg_catalog`, `pg_toast`, `pg_temp_*`, any `pg_*`, and `information_schema`. */
export const SYSTEM_SCHEMA = /^(pg_|information_schema$)/i;

/** A column of a layout: the types accepted, as `format_type` spells them, and whether it is NOT NULL. */
type Column = [type: RegExp, notNull: boolean];

/** Each layout's columns by name; the primary key is `sid` alone. */
const LAYOUT_COLUMNS: Record<Layout, Record<string, Column>> = {
  'session-stores': { created_at: [/^bigint$/, false], data: [/^text$/, true], expires_at: [/^bigint$/, true], owner: [/^text$/, false], sid: [/^text$/, true] },
  // connect-pg-simple's table.sql, and the variants its users run: jsonb, text or any varchar, timestamp of any precision.
  'connect-pg-simple': {
    expire: [/^timestamp(\(\d\))? without time zone$/, true],
    sess: [/^jsonb?$/, true],
    sid: [/^(character varying(\(\d+\))?|text)$/, true],
  },
};

/** The columns our layout gained after 0.1's, in order: a table of an earlier layout lacks the last few, added in place (`migrationOf`). */
const ADDED_COLUMNS = ['created_at', 'owner'];

/** Why `shape` is not a session table of `layout`, or undefined when it is one (in our layout, this one or an earlier one). */
export function layoutMismatch(layout: Layout, shape: TableShape): string | undefined {
  if (SYSTEM_SCHEMA.test(shape.schema)) return `is in the system schema ${shape.schema}`;
  if (shape.kind !== 'r' && shape.kind !== 'p') return 'is not a table';
  const expected = LAYOUT_COLUMNS[layout];
  if (layout === 'session-stores' ? missingColumns(shape) === undefined : !hasColumns(shape, expected)) {
    const wanted = Object.entries(expected)
      .map(([name, [, notNull]]) => (notNull ? `${name} NOT NULL` : name))
      .join(', ');
    return `is not a session table in the ${layout} layout (it must have exactly the columns ${wanted})`;
  }
  if (JSON.stringify(shape.primaryKey) !== JSON.stringify(['sid'])) return 'is not a session table (its primary key must be sid alone)';
  return undefined;
}

/** The columns `shape` lacks of our layout ([] for none), or undefined when it is no layout of ours, this one or an earlier one. */
function missingColumns(shape: TableShape): string[] | undefined {
  for (let kept = ADDED_COLUMNS.length; kept >= 0; kept--) {
    const missing = ADDED_COLUMNS.slice(kept);
    const expected = Object.fromEntries(Object.entries(LAYOUT_COLUMNS['session-stores']).filter(([name]) => !missing.includes(name)));
    if (hasColumns(shape, expected)) return missing;
  }
  return undefined;
}

function hasColumns(shape: TableShape, expected: Record<string, Column>): boolean {
  const columns = shape.columns ?? [];
  return (
    columns.length === Object.keys(expected).length &&
    columns.every(([name, type, notNull]) => Object.hasOwn(expected, name) && expected[name][0].test(type) && expected[name][1] === notNull)
  );
}

/** What a table of our layout, this one or an earlier one, still lacks (columns, the owner index) and the statements that add it, in order; none when it lacks nothing. */
export function migrationOf(shape: TableShape, schemaName: string | undefined, tableName: string): { lacks: string[]; statements: string[] } {
  const table = qualifiedName(schemaName, tableName);
  const columns = missingColumns(shape) ?? [];
  const lacks = [...columns, ...(shape.ownerIndexed ? [] : ['the index on owner'])];
  // Nullable columns without a default: the catalog changes, no row is rewritten. IF NOT EXISTS makes one ALTER serve every earlier layout.
  const addColumns = `ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS created_at bigint, ADD COLUMN IF NOT EXISTS owner text COLLATE "C"`;
  return { lacks, statements: [...(columns.length > 0 ? [addColumns] : []), ...(shape.ownerIndexed ? [] : [ownerIndexStatement(table, tableName)])] };
}

/** Partial: a session of no user, and a tombstone, cost the index nothing. */
function ownerIndexStatement(table: string, tableName: string): string {
  return `CREATE INDEX IF NOT EXISTS ${quoteIdentifier(`${tableName}_owner_idx`)} ON ${table} (owner) WHERE owner IS NOT NULL`;
}

/** The name `text` is prepared under: the same text always gets the same short name, so stores sharing a pool share it. */
export function statementName(text: string): string {
  return `ss_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`;
}

/** Quotes a name already checked against the identifier patterns; doubling quotes keeps it safe regardless. */
export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function qualifiedName(schemaName: string | undefined, tableName: string): string {
  return schemaName === undefined ? quoteIdentifier(tableName) : `${quoteIdentifier(schemaName)}.${quoteIdentifier(tableName)}`;
}

export function statementsFor(layout: Layout, schemaName: string | undefined, tableName: string): Statements {
  const table = qualifiedName(schemaName, tableName);
  return layout === 'connect-pg-simple' ? connectPgSimpleStatements(table, tableName) : nativeStatements(table, tableName);
}

/**
 * `expires_at` is a bigint of epoch milliseconds: the store's clock hands over exact
 * milliseconds, and an integer compares with them as is, so expiry can neither drift with a
 * connection's TimeZone or DST nor lose precision in a conversion, and any instant the clock can
 * express fits. `data` is text because the serializer is pluggable and may not produce JSON;
 * jsonb would also re-encode every write and reorder keys for no query we make. `sid` is
 * collated "C" so the primary key compares bytes, not locale rules. `created_at` (epoch ms,
 * nullable: a row from before the column gets one at its next save) bounds `maxLifetime`; a
 * tombstone is a row whose `data` is ''. `owner` is the owner key the base gives each write (NULL
 * for a session of no user and for a tombstone), collated "C" so it too compares bytes, under a
 * partial index.
 */
function nativeStatements(table: string, tableName: string): Statements {
  const live = 'sid = $1 AND expires_at > $3';
  const scan = (columns: string) =>
    `SELECT ${columns} FROM ${table} WHERE expires_at > $1 AND sid > $2 AND data <> '' ORDER BY sid LIMIT $3`;
  // A live row keeps its creation instant, an expired one is replaced as if new; PG's LEAST skips the NULL of no maxLifetime.
  const createdAt = 'CASE WHEN stored.expires_at > $4 THEN COALESCE(stored.created_at, $4) ELSE $4 END';
  const extended = 'LEAST($2::bigint, created_at + $4::bigint)';
  return {
    createTable: [
      `CREATE TABLE IF NOT EXISTS ${table} (\n  sid text COLLATE "C" PRIMARY KEY,\n  expires_at bigint NOT NULL,\n  data text NOT NULL,\n  created_at bigint,\n  owner text COLLATE "C"\n);`,
      `CREATE INDEX IF NOT EXISTS ${quoteIdentifier(`${tableName}_expires_at_idx`)} ON ${table} (expires_at);`,
      `${ownerIndexStatement(table, tableName)};`,
    ].join('\n'),
    read: `SELECT data, expires_at, created_at FROM ${table} WHERE sid = $1 AND expires_at > $2`,
    // The WHERE of DO UPDATE leaves a live tombstone as it is: the late write of a destroyed session writes nothing.
    write:
      `INSERT INTO ${table} AS stored (sid, data, expires_at, created_at, owner) VALUES ($1, $2, $3, $4, $6) ` +
      `ON CONFLICT (sid) DO UPDATE SET data = EXCLUDED.data, owner = EXCLUDED.owner, created_at = ${createdAt}, ` +
      `expires_at = LEAST(EXCLUDED.expires_at, ${createdAt} + $5::bigint) ` +
      "WHERE stored.data <> '' OR stored.expires_at <= $4",
    // Neither writes a row version whose expiry would not move (at the end of its lifetime, say); with touchAfter none moves it back either.
    extend: `UPDATE ${table} SET expires_at = ${extended} WHERE ${live} AND data <> '' AND expires_at <> ${extended}`,
    extendUnlessRecent: `UPDATE ${table} SET expires_at = ${extended} WHERE ${live} AND data <> '' AND expires_at < $5 AND expires_at < ${extended}`,
    entomb:
      `INSERT INTO ${table} (sid, data, expires_at, created_at) VALUES ($1, '', $2, $3) ` +
      'ON CONFLICT (sid) DO UPDATE SET data = EXCLUDED.data, expires_at = EXCLUDED.expires_at, created_at = EXCLUDED.created_at, owner = NULL',
    remove: `DELETE FROM ${table} WHERE sid = $1`,
    scanIds: scan('sid, expires_at'),
    scanSessions: scan('sid, expires_at, data'),
    scanOwner: `SELECT sid, data, expires_at, created_at FROM ${table} WHERE owner = $1 AND expires_at > $2 AND data <> ''`,
    count: `SELECT count(*)::int AS count FROM ${table} WHERE expires_at > $1 AND data <> ''`,
    removeAll: `DELETE FROM ${table}`,
    removeExpired: removeExpiredStatement(table, 'expires_at', 'expires_at <= $1', 'COALESCE($5::bigint, -9223372036854775808)'),
  };
}

/**
 * connect-pg-simple's table: `expire` is a timestamp WITHOUT time zone that it writes as
 * `to_timestamp(seconds)`, so the value on disk is wall-clock time in the writing connection's
 * TimeZone. Every instant here goes through that same conversion (and back through
 * `::timestamptz`), so both stores agree whenever their connections share a TimeZone.
 */
function connectPgSimpleStatements(table: string, tableName: string): Statements {
  const instant = (parameter: string) => `to_timestamp(${parameter}::float8 / 1000)::timestamp`;
  const expiresAt = 'round(extract(epoch FROM expire::timestamptz) * 1000)::float8 AS expires_at';
  const live = `sid = $1 AND expire > ${instant('$3')}`;
  const scan = (columns: string) =>
    `SELECT ${columns} FROM ${table} WHERE expire > ${instant('$1')} AND sid > $2 ORDER BY sid LIMIT $3`;
  return {
    createTable: [
      `CREATE TABLE IF NOT EXISTS ${table} (\n  sid varchar NOT NULL COLLATE "default" PRIMARY KEY,\n  sess json NOT NULL,\n  expire timestamp(6) NOT NULL\n);`,
      `CREATE INDEX IF NOT EXISTS ${quoteIdentifier(`IDX_${tableName}_expire`)} ON ${table} (expire);`,
    ].join('\n'),
    read: `SELECT sess::text AS data, ${expiresAt} FROM ${table} WHERE sid = $1 AND expire > ${instant('$2')}`,
    write:
      `INSERT INTO ${table} (sid, sess, expire) VALUES ($1, $2::json, ${instant('$3')}) ` +
      'ON CONFLICT (sid) DO UPDATE SET sess = EXCLUDED.sess, expire = EXCLUDED.expire',
    extend: `UPDATE ${table} SET expire = ${instant('$2')} WHERE ${live}`,
    extendUnlessRecent: `UPDATE ${table} SET expire = ${instant('$2')} WHERE ${live} AND expire < ${instant('$4')}`,
    remove: `DELETE FROM ${table} WHERE sid = $1`,
    scanIds: scan(`sid, ${expiresAt}`),
    scanSessions: scan(`sid, ${expiresAt}, sess::text AS data`),
    count: `SELECT count(*)::int AS count FROM ${table} WHERE expire > ${instant('$1')}`,
    removeAll: `DELETE FROM ${table}`,
    removeExpired: removeExpiredStatement(table, 'expire', `expire <= ${instant('$1')}`, "COALESCE($5::timestamp, '-infinity')"),
  };
}

/**
 * One batch of the reaper in one statement and one implicit transaction: it proceeds only if it
 * wins the table's advisory lock (held until the statement commits, so one instance deletes at a
 * time however many share the database; an InitPlan, so a lost lock ends the statement before
 * the scan), takes at most `$2` expired rows in expiry order from the index, starting at `from`
 * (where the previous batch of the run ended, so the scan does not walk again the index entries of
 * the rows the run already deleted, which stay until a vacuum), skips rows another transaction
 * holds, and deletes them by physical address (a TID scan over the array, without the hash join an
 * `IN (subquery)` plans).
 */
function removeExpiredStatement(table: string, expiryColumn: string, expired: string, from: string): string {
  return [
    `WITH removed AS (DELETE FROM ${table} WHERE ctid = ANY(ARRAY(`,
    `  SELECT ctid FROM ${table} WHERE (SELECT pg_try_advisory_xact_lock($3::int, $4::regclass::oid::int)) AND ${expired} AND ${expiryColumn} >= ${from}`,
    `  ORDER BY ${expiryColumn} LIMIT $2 FOR UPDATE SKIP LOCKED))`,
    `  RETURNING ${expiryColumn})`,
    `SELECT count(*)::int AS removed, max(${expiryColumn})::text AS reached FROM removed`,
  ].join('\n');
}
