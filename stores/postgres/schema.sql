-- The table PostgresStore creates by default (tableName 'express_sessions'); run it yourself
-- and pass createTable: false when the application's role may not create tables.
-- expires_at: epoch milliseconds as bigint, compared with the application's clock as an exact
--   integer, so expiry never shifts with a connection's TimeZone or DST.
-- data: text, because the session serializer is pluggable and need not produce JSON.
-- sid: collated "C" so the primary key compares bytes rather than locale rules.
CREATE TABLE IF NOT EXISTS "express_sessions" (
  sid text COLLATE "C" PRIMARY KEY,
  expires_at bigint NOT NULL,
  data text NOT NULL
);
CREATE INDEX IF NOT EXISTS "express_sessions_expires_at_idx" ON "express_sessions" (expires_at);
