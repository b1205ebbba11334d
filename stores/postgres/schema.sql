-- The table PostgresStore creates by default (tableName 'express_sessions'); run it yourself
-- and pass createTable: false when the application's role may not create tables.
-- expires_at: epoch milliseconds as bigint, compared with the application's clock as an exact
--   integer, so expiry never shifts with a connection's TimeZone or DST.
-- data: text, because the session serializer is pluggable and need not produce JSON; '' marks
--   a tombstone, left by destroy so that a late save of that session writes nothing.
-- sid: collated "C" so the primary key compares bytes rather than locale rules.
-- created_at: epoch milliseconds of the session's first save, which bounds maxLifetime.
-- A table created before created_at existed gets it with (the store runs it itself unless createTable is false):
--   ALTER TABLE "express_sessions" ADD COLUMN IF NOT EXISTS created_at bigint;
CREATE TABLE IF NOT EXISTS "express_sessions" (
  sid text COLLATE "C" PRIMARY KEY,
  expires_at bigint NOT NULL,
  data text NOT NULL,
  created_at bigint
);
CREATE INDEX IF NOT EXISTS "express_sessions_expires_at_idx" ON "express_sessions" (expires_at);
