import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import session, { type SessionData } from 'express-session';
import type { SqliteStore } from '../stores/sqlite';
import { storeOn } from '../stores/sqlite/fixtures/factory';
import { AT_REST_NOTE, withAtRestVariants, type AtRestOptions } from './at-rest';
import { callbackOperationsOf, operationsOf, type BenchSuite, type CallbackStore, type Contender } from './harness';
import { PRUNE_LIVE_ROWS, PRUNE_PAYLOAD, PRUNE_ROWS, StatementTimes, measuredPrune, pruneSkipped } from './prune';


type CallbackStoreClass = new (options: { client: Database.Database; expired: { clear: boolean; intervalMs: number } }) => CallbackStore;

const BUSY_TIMEOUT_MS = 1500;
/** The base's default, which SqliteStore keeps. */
const PRUNE_BATCH_SIZE = 1000;

/** A fresh directory per contender, on the same disk as the OS temp dir, removed at teardown. */
function scratchFile(name: string): { filename: string; remove: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `session-stores-bench-${name}-`));
  return { filename: path.join(dir, 'sessions.db'), remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}


function ours(name: string, options: AtRestOptions): Contender {
  let store: SqliteStore;
  let scratch: ReturnType<typeof scratchFile>;
  return {
    name,
    kind: 'ours',
    async setup() {
      scratch = scratchFile('ours');
      store = storeOn({ filename: scratch.filename, ...options });
    },
    ...operationsOf(() => store),
    async teardown() {
      await store.close();
      scratch.remove();
    },
  };
}

/** better-sqlite3-session-store as its README configures it, on a database with better-sqlite3's defaults. */
function betterSqlite3SessionStore(): Contender {
  let db: Database.Database;
  let store: CallbackStore;
  let scratch: ReturnType<typeof scratchFile>;
  return {
    name: 'better-sqlite3-session-store',
    kind: 'alternative',
    async setup() {
      scratch = scratchFile('alternative');
      db = new Database(scratch.filename);
      const Store = (require('better-sqlite3-session-store') as (s: typeof session) => CallbackStoreClass)(session);
      store = new Store({ client: db, expired: { clear: true, intervalMs: 900_000 } });
    },
    ...callbackOperationsOf(() => store),
    async teardown() {
      db.close();
      scratch.remove();
    },
  };
}

/** The statements SqliteStore runs, by hand, on a database with the pragmas SqliteStore sets. */
function rawFloor(): Contender {
  let db: Database.Database;
  let scratch: ReturnType<typeof scratchFile>;
  let read: Database.Statement<[string, number], { sess: string; expires_at: number }>;
  let write: Database.Statement<[string, string, number]>;
  let extend: Database.Statement<[number, string, number]>;
  let remove: Database.Statement<[string]>;
  const expiresAtOf = (data: SessionData) => Date.parse(data.cookie.expires as unknown as string);
  return {
    name: 'raw better-sqlite3',
    kind: 'floor',
    async setup() {
      scratch = scratchFile('raw');
      db = new Database(scratch.filename, { timeout: BUSY_TIMEOUT_MS });
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.exec(`CREATE TABLE IF NOT EXISTS sessions (sid TEXT PRIMARY KEY NOT NULL, sess TEXT NOT NULL, expires_at INTEGER NOT NULL);
               CREATE INDEX IF NOT EXISTS sessions_expires_at ON sessions (expires_at);`);
      read = db.prepare('SELECT sess, expires_at FROM sessions WHERE sid = ? AND expires_at > ?');
      write = db.prepare(
        `INSERT INTO sessions (sid, sess, expires_at) VALUES (?, ?, ?)
         ON CONFLICT (sid) DO UPDATE SET sess = excluded.sess, expires_at = excluded.expires_at`,
      );
      extend = db.prepare('UPDATE sessions SET expires_at = ? WHERE sid = ? AND expires_at > ?');
      remove = db.prepare('DELETE FROM sessions WHERE sid = ?');
    },
    async get(sid) {
      const row = read.get(sid, Date.now());
      return row === undefined ? null : JSON.parse(row.sess);
    },
    async set(sid, data) {
      write.run(sid, JSON.stringify(data), expiresAtOf(data));
    },
    async touch(sid, data) {
      extend.run(expiresAtOf(data), sid, Date.now());
    },
    async destroy(sid) {
      remove.run(sid);
    },
    async teardown() {
      db.close();
      scratch.remove();
    },
  };
}

/**
 * Fills a database file with PRUNE_ROWS expired sessions among PRUNE_LIVE_ROWS live ones, lets one
 * SqliteStore prune it, and times the whole run and every DELETE of it.
 */
export async function measurePrune(): Promise<string[]> {
  const scratch = scratchFile('prune');
  try {
    const now = Date.now();
    const store = storeOn({ filename: scratch.filename, pruneInterval: 0, operationTimeout: 60_000 }, { now: () => now });
    const insert = store.db.prepare('INSERT INTO sessions (sid, sess, expires_at) VALUES (?, ?, ?)');
    store.db.transaction(() => {
      for (let i = 0; i < PRUNE_ROWS; i++) insert.run(`expired-${i}`, PRUNE_PAYLOAD, now - 1 - (i % 100_000));
      for (let i = 0; i < PRUNE_LIVE_ROWS; i++) insert.run(`live-${i}`, PRUNE_PAYLOAD, now + 1 + i);
    })();
    store.db.exec('ANALYZE');

    // better-sqlite3 runs the prune's one statement synchronously inside removeExpiredRecords.
    const statements = new StatementTimes();
    const backend = store as unknown as { removeExpiredRecords(now: number, limit: number): number };
    const removeExpiredRecords = backend.removeExpiredRecords.bind(store);
    backend.removeExpiredRecords = (at, limit) => {
      const finish = statements.start();
      try {
        return removeExpiredRecords(at, limit);
      } finally {
        finish();
      }
    };
    return await measuredPrune({
      store,
      statements,
      statementKind: 'DELETEs',
      batchSize: PRUNE_BATCH_SIZE,
      expiredRows: PRUNE_ROWS,
      liveRows: PRUNE_LIVE_ROWS,
      async countLeft() {
        const db = new Database(scratch.filename, { readonly: true });
        try {
          return db.prepare<[], number>('SELECT COUNT(*) FROM sessions').pluck().get()!;
        } finally {
          db.close();
        }
      },
    });
  } finally {
    scratch.remove();
  }
}

export default async function sqliteSuite(): Promise<BenchSuite> {
  const driver = (require('better-sqlite3/package.json') as { version: string }).version;
  const prune = pruneSkipped() ?? (await measurePrune());
  return {
    name: 'sqlite',
    contenders: [...withAtRestVariants('SqliteStore', ours), betterSqlite3SessionStore(), rawFloor()],
    targets: [
      { operation: 'get', against: 'better-sqlite3-session-store', atLeast: 2 },
      { operation: 'set', against: 'better-sqlite3-session-store', atLeast: 10 },
      { operation: 'touch', against: 'better-sqlite3-session-store', atLeast: 10 },
      ...(['get', 'set', 'touch', 'destroy'] as const).map((operation) => ({ operation, against: 'raw better-sqlite3', atLeast: 1 / 1.15 })),
    ],
    notes: [
      `better-sqlite3 ${driver}, files in ${os.tmpdir()}`,
      'SqliteStore and raw: journal_mode=WAL, synchronous=NORMAL; better-sqlite3-session-store: better-sqlite3 defaults (rollback journal, synchronous=FULL)',
      AT_REST_NOTE,
      ...prune,
    ],
  };
}
