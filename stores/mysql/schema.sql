-- The table MySqlStore creates by default (tableName 'express_sessions'), on MySQL 8 and MariaDB 10.6+;
-- run it yourself and pass createTable: false when the application's user may not create tables.
-- sid: VARBINARY, so ids compare as bytes: case and trailing spaces count (utf8mb4_bin pads trailing
--   spaces, and default collations fold case); 3072 bytes holds any id the store accepts.
-- expires_at: epoch milliseconds, compared with the application's clock as an exact integer.
-- data: MEDIUMTEXT (up to 16 MB), because the session serializer is pluggable and need not produce JSON;
--   '' marks a tombstone, left by destroy so that a late save of that session writes nothing.
-- created_at: epoch milliseconds of the session's first save, which bounds maxLifetime.
-- owner: the key of the session's user (userOf; its SHA-256 with hashIds or encryptionKeys), NULL for
--   a session of no user and for a tombstone; VARBINARY, so it compares as bytes too; 1536 bytes holds
--   the longest user id the store accepts. owner_idx serves sessionsOf.
-- A table of an earlier layout gets what it lacks with (the store runs them itself unless createTable
-- is false; without created_at, the ALTER adds both columns, else only owner):
--   ALTER TABLE `express_sessions` ADD COLUMN created_at BIGINT NULL, ADD COLUMN owner VARBINARY(1536) NULL;
--   CREATE INDEX owner_idx ON `express_sessions` (owner) ALGORITHM=INPLACE LOCK=NONE;
CREATE TABLE IF NOT EXISTS `express_sessions` (
  sid VARBINARY(3072) NOT NULL,
  expires_at BIGINT NOT NULL,
  data MEDIUMTEXT CHARACTER SET utf8mb4 NOT NULL,
  created_at BIGINT NULL,
  owner VARBINARY(1536) NULL,
  PRIMARY KEY (sid),
  INDEX expires_at_idx (expires_at),
  INDEX owner_idx (owner)
) ENGINE=InnoDB;
