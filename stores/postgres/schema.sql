-- The table PostgresStore creates by default (tableName 'express_sessions'); run it yourself
-- and pass createTable: false when the application's role may not create tables.
-- expires_at: epoch milliseconds as bigint, compared with the application's clock as an exact
--   integer, so expiry never shifts with a connection's TimeZone or DST.
-- data: text, because the session serializer is pluggable and need not produce JSON; '' marks
--   a tombstone, left by destroy so that a late save of that session writes nothing.
-- sid: collated "C" so the primary key compares bytes rather than locale rules.
-- created_at: epoch milliseconds of the session's first save, which bounds maxLifetime.
-- owner: the key of the session's user (userOf; its SHA-256 with hashIds or encryptionKeys),
--   NULL for a session of no user and for a tombstone; the partial index serves sessionsOf.
-- A table of an earlier layout (without created_at, or without owner) gets what it lacks with
-- these (the store runs them itself unless createTable is false; on a big table, run them yourself
-- before deploying, the second as CREATE INDEX CONCURRENTLY IF NOT EXISTS, outside a transaction):
--   ALTER TABLE "express_sessions" ADD COLUMN IF NOT EXISTS created_at bigint, ADD COLUMN IF NOT EXISTS owner text COLLATE "C";
--   CREATE INDEX IF NOT EXISTS "express_sessions_owner_idx" ON "express_sessions" (owner) WHERE owner IS NOT NULL;
CREATE TABLE IF NOT EXISTS "express_sessions" (
  sid text COLLATE "C" PRIMARY KEY,
  expires_at bigint NOT NULL,
  data text NOT NULL,
  created_at bigint,
  owner text COLLATE "C"
);
CREATE INDEX IF NOT EXISTS "express_sessions_expires_at_idx" ON "express_sessions" (expires_at);
CREATE INDEX IF NOT EXISTS "express_sessions_owner_idx" ON "express_sessions" (owner) WHERE owner IS NOT NULL;
