import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import session, { type SessionData, type Store } from 'express-session';
import request from 'supertest';
import { callStore } from '../../tools/calls';
import { MigratingStore } from '../../tools/migrating-store';
import { appWith, sidOfCookie } from '../../test/support/migration-app';
import { HOUR_MS } from '../../test/support/sessions';
import { SqliteStore } from '.';

// better-sqlite3-session-store ships no types; this is the part of its API the tests use.
const betterSqlite3SessionStore: (s: typeof session) => new (options: { client: Database.Database }) => Store = require('better-sqlite3-session-store');
const BetterSqlite3SessionStore = betterSqlite3SessionStore(session);

const ROOT = path.resolve(__dirname, '..', '..');
const CLI = path.join(ROOT, 'tools', 'cli.ts');
const TSX = pathToFileURL(require.resolve('tsx')).href;
const MODULE = 'from-better-sqlite3-session-store.cjs';

/** The factory module README.md gives, exactly as it is written there. */
function readmeModule(name: string): string {
  const readme = readFileSync(path.join(__dirname, 'README.md'), 'utf8');
  const block = readme.split('```js\n').find((text) => text.startsWith(`// ${name}`));
  if (block === undefined) throw new Error(`README.md has no js block that starts with // ${name}`);
  return block.slice(0, block.indexOf('```'));
}

interface OldRow {
  sid: string;
  sess: string;
  expire: string;
}

let dir: string;
let db: Database.Database;
let oldStore: Store;

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'session-stores-sqlite-migration-'));
  // The module requires the packages a user's project has.
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  // The README's file name, in the folder the copy runs in.
  db = new Database(path.join(dir, 'sessions.db'));
  // Its constructor starts a 15-minute setInterval that it neither unrefs nor clears: on jest's fake clock, it holds no handle.
  jest.useFakeTimers();
  try {
    oldStore = new BetterSqlite3SessionStore({ client: db });
  } finally {
    jest.useRealTimers();
  }
});

afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The cookie of most apps: one that expires, so better-sqlite3-session-store's expiry follows its maxAge. */
const COOKIE = { maxAge: HOUR_MS };

/** Logs in through an express app on `store` and returns the session cookie and its id. */
async function logIn(store: Store): Promise<{ cookie: string[]; sid: string }> {
  const response = await request(appWith(store, COOKIE)).post('/login').expect(204);
  const cookie = response.headers['set-cookie'] as unknown as string[];
  return { cookie, sid: sidOfCookie(cookie) };
}

async function expectLoggedIn(store: Store, cookie: string[]): Promise<void> {
  const response = await request(appWith(store, COOKIE)).get('/me').set('Cookie', cookie).expect(200);
  expect(response.body).toEqual({ user: 'ada', cart: [1, 2, 3] });
}

/** A later request's touch, as express-session sends it: the expiry moves, the stored `sess` does not. */
async function touchUntil(store: Store, sid: string, expiresAt: number): Promise<void> {
  await callStore(store, 'touch', sid, { cookie: { originalMaxAge: null, expires: new Date(expiresAt) } });
}

function oldRows(): OldRow[] {
  return db.prepare<[], OldRow>('SELECT sid, sess, expire FROM sessions ORDER BY sid').all();
}

async function expiriesOf(store: SqliteStore): Promise<Record<string, number>> {
  const expiries: Record<string, number> = {};
  for await (const { id, expiresAt } of store.sessions()) expiries[id] = expiresAt;
  return expiries;
}

describe("moving from better-sqlite3-session-store to SqliteStore, as README.md's migration notes give it", () => {
  it('SqliteStore refuses better-sqlite3-session-store\'s table and leaves its sessions as they were', async () => {
    const { cookie } = await logIn(oldStore);
    const before = oldRows();
    expect(() => new SqliteStore({ db, tableName: 'sessions' })).toThrow(expect.objectContaining({ code: 'ERR_SESSION_OPTIONS' }));
    expect(oldRows()).toEqual(before);
    await expectLoggedIn(oldStore, cookie);
  });

  it("session-stores copy, with the README's module, copies every live session with its row's expiry to the millisecond, and each cookie stays logged in", async () => {
    const fresh = await logIn(oldStore);
    const touched = await logIn(oldStore);
    const expired = await logIn(oldStore);
    await touchUntil(oldStore, touched.sid, Date.now() + 3 * HOUR_MS);
    await touchUntil(oldStore, expired.sid, Date.now() - 60_000);
    const before = oldRows();
    const expireOf = (sid: string) => Date.parse(before.find((row) => row.sid === sid)!.expire);
    // The touch moved the row past the cookie.expires that its sess still holds.
    const touchedSession = JSON.parse(before.find((row) => row.sid === touched.sid)!.sess) as SessionData;
    expect(expireOf(touched.sid)).toBeGreaterThan(Date.parse(touchedSession.cookie.expires as unknown as string));

    writeFileSync(path.join(dir, MODULE), readmeModule(MODULE));
    const copy = spawnSync(
      process.execPath,
      ['--import', TSX, CLI, 'copy', '--from', `./${MODULE}`, '--to', 'sqlite:sessions.db', '--to-table', 'web_sessions'],
      { cwd: dir, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } },
    );
    expect({ status: copy.status, stderr: copy.stderr }).toEqual({ status: 0, stderr: '' });
    expect(copy.stdout).toMatch(/^copied 2 of 2 live sessions from from-better-sqlite3-session-store\.cjs to sqlite:sessions\.db: 0 already in the target/);

    const store = new SqliteStore({ filename: path.join(dir, 'sessions.db'), tableName: 'web_sessions', pruneInterval: 0 });
    try {
      expect(await expiriesOf(store)).toEqual({ [fresh.sid]: expireOf(fresh.sid), [touched.sid]: expireOf(touched.sid) });
      await expectLoggedIn(store, fresh.cookie);
      await expectLoggedIn(store, touched.cookie);
      expect(await store.get(expired.sid)).toBeNull();
    } finally {
      await store.close();
    }
    expect(oldRows()).toEqual(before);
  }, 60_000);

  it("MigratingStore, as the README sets it up, moves a session into SqliteStore's table on its first read, logged in", async () => {
    const { cookie, sid } = await logIn(oldStore);
    const next = new SqliteStore({ db, tableName: 'web_sessions' });
    try {
      await expectLoggedIn(new MigratingStore({ from: oldStore, to: next }), cookie);
      expect(await next.get(sid)).toMatchObject({ user: 'ada', cart: [1, 2, 3] });
      expect(oldRows()).toEqual([]);
      await expectLoggedIn(next, cookie);
    } finally {
      await next.close();
    }
  });
});
