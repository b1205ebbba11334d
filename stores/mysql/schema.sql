-- The table MySqlStore creates by default (tableName 'express_sessions'), on MySQL 8 and MariaDB 10.6+;
-- run it yourself and pass createTable: false when the application's user may not create tables.
-- sid: VARBINARY, so ids compare as bytes: case and trailing spaces count (utf8mb4_bin pads trailing
--   spaces, and default collations fold case); 3072 bytes holds any id the store accepts.
-- expires_at: epoch milliseconds, compared with the application's clock as an exact integer.
-- data: MEDIUMTEXT (up to 16 MB), because the session serializer is pluggable and need not produce JSON;
--   '' marks a tombstone, left by destroy so that a late save of that session writes nothing.
-- created_at: epoch milliseconds of the session's first save, which bounds maxLifetime.
-- A table created before created_at existed gets it with (the store runs it itself unless createTable is false):
--   ALTER TABLE `express_sessions` ADD COLUMN created_at BIGINT NULL;
CREATE TABLE IF NOT EXISTS `express_sessions` (
  sid VARBINARY(3072) NOT NULL,
  expires_at BIGINT NOT NULL,
  data MEDIUMTEXT CHARACTER SET utf8mb4 NOT NULL,
  created_at BIGINT NULL,
  PRIMARY KEY (sid),
  INDEX expires_at_idx (expires_at)
) ENGINE=InnoDB;
