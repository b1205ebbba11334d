// Packages that ship no type declarations: only what the report's factories use.
declare module 'connect-pg-simple' {
  import type session from 'express-session';
  interface PGStoreOptions {
    pool?: import('pg').Pool;
    conString?: string;
    schemaName?: string;
    tableName?: string;
    createTableIfMissing?: boolean;
    ttl?: number;
    disableTouch?: boolean;
    pruneSessionInterval?: false | number;
  }
  type PGStore = session.Store & { close(): Promise<void> };
  function connectPgSimple(expressSession: typeof session): new (options?: PGStoreOptions) => PGStore;
  export = connectPgSimple;
}

declare module 'better-sqlite3-session-store' {
  import type session from 'express-session';
  interface SqliteStoreOptions {
    client: import('better-sqlite3').Database;
    expired?: { clear?: boolean; intervalMs?: number };
  }
  function betterSqlite3SessionStore(expressSession: typeof session): new (options: SqliteStoreOptions) => session.Store;
  export = betterSqlite3SessionStore;
}

declare module 'connect-sqlite3' {
  import type session from 'express-session';
  import type { EventEmitter } from 'node:events';
  interface SQLiteStoreOptions {
    table?: string;
    db?: string | object;
    dir?: string;
    concurrentDB?: boolean;
  }
  type SQLiteStore = session.Store & {
    client: EventEmitter;
    table: string;
    db: {
      run(sql: string, params: unknown[], callback: (error: Error | null) => void): void;
      close(callback: (error: Error | null) => void): void;
    };
  };
  function connectSqlite3(expressSession: typeof session): new (options?: SQLiteStoreOptions) => SQLiteStore;
  export = connectSqlite3;
}
