import { createHash, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import Database from 'better-sqlite3';
import type { SessionData } from 'express-session';
import { MySqlStore } from '../stores/mysql';
import { PostgresStore } from '../stores/postgres';
import { SqliteStore, type SqliteStoreOptions } from '../stores/sqlite';
import { STORAGE_ID_MARK } from './ids';

const SID = 'Xq3vYV0n8m2b5c7d9f1g4h6j8k0l2n4p';
const HOUR_MS = 60 * 60 * 1000;
const hashOf = (sid: string) => createHash('sha256').update(sid).digest('base64url');
const session = (extra: Record<string, unknown> = {}, expires = new Date(Date.UTC(2030, 0, 1) + HOUR_MS)) =>
  ({ cookie: { originalMaxAge: HOUR_MS, expires, path: '/', httpOnly: true }, user: 'ana', ...extra }) as unknown as SessionData;

function tables() {
  const db = new Database(':memory:');
  const stores: SqliteStore[] = [];
  const now = () => Date.UTC(2030, 0, 1);
  const open = (options: Omit<SqliteStoreOptions, 'db'> = {}) => {
    const store = new SqliteStore({ db, pruneInterval: 0, now, ...options });
    stores.push(store);
    return store;
  };
  // The sessions held; a destroy leaves a tombstone (an empty sess), listed by tombstones().
  const rows = () => db.prepare(`SELECT sid, sess, expires_at FROM sessions WHERE sess <> '' ORDER BY sid`).all() as Array<{ sid: string; sess: string; expires_at: number }>;
  const tombstones = () => db.prepare(`SELECT sid FROM sessions WHERE sess = '' ORDER BY sid`).pluck().all() as string[];
  const close = async () => {
    for (const store of stores) await store.close();
    db.close();
  };
  return { db, open, rows, tombstones, close };
}

describe('SessionStore hashIds', () => {
  let backend: ReturnType<typeof tables>;
  beforeEach(() => (backend = tables()));
  afterEach(() => backend.close());

  it('keys each record by the SHA-256 of its id, in base64url, and never holds the id', async () => {
    const store = backend.open({ hashIds: true });
    await store.set(SID, session());
    expect(backend.rows().map((row) => row.sid)).toEqual([hashOf(SID)]);
    expect(hashOf(SID)).toHaveLength(43);
    expect(JSON.stringify(backend.rows())).not.toContain(SID);
  });

  it('gets, touches and destroys a session by its id as express-session does', async () => {
    const store = backend.open({ hashIds: true });
    await store.set(SID, session());
    expect(await store.get(SID)).toEqual(expect.objectContaining({ user: 'ana' }));
    const later = new Date(Date.UTC(2030, 0, 1) + 5 * HOUR_MS);
    await store.touch(SID, session({}, later));
    expect(backend.rows()[0]!.expires_at).toBe(later.getTime());
    await store.destroy(SID);
    expect(backend.rows()).toEqual([]);
    expect(backend.tombstones()).toEqual([hashOf(SID)]);
    expect(await store.get(SID)).toBeNull();
  });

  it('lists records by their storage id behind a NUL, which get refuses and destroy takes', async () => {
    const store = backend.open({ hashIds: true });
    await store.set(SID, session());
    const listed = `${STORAGE_ID_MARK}${hashOf(SID)}`;
    expect(await store.ids()).toEqual([listed]);
    expect(Object.keys(await store.all())).toEqual([listed]);
    const streamed: string[] = [];
    for await (const { id } of store.sessions()) streamed.push(id);
    expect(streamed).toEqual([listed]);
    await expect(store.get(listed)).rejects.toMatchObject({ code: 'ERR_SESSION_ID' });
    await expect(store.set(listed, session())).rejects.toMatchObject({ code: 'ERR_SESSION_ID' });
    await store.destroy(listed);
    expect(backend.rows()).toEqual([]);
  });

  it('refuses a listed storage id in a store that does not hash its ids', async () => {
    const store = backend.open();
    await expect(store.destroy(`${STORAGE_ID_MARK}${hashOf(SID)}`)).rejects.toMatchObject({ code: 'ERR_SESSION_ID' });
  });

  it('with hashIds: true, does not read a record stored under the raw id', async () => {
    await backend.open().set(SID, session());
    expect(await backend.open({ hashIds: true }).get(SID)).toBeNull();
    expect(backend.rows().map((row) => row.sid)).toEqual([SID]);
  });

  it("with hashIds: 'migrate', moves a record from its raw id to its hash on the first get, with its expiry", async () => {
    await backend.open().set(SID, session());
    const [before] = backend.rows();
    const store = backend.open({ hashIds: 'migrate' });
    expect(await store.get(SID)).toEqual(expect.objectContaining({ user: 'ana' }));
    expect(backend.rows()).toEqual([{ sid: hashOf(SID), sess: before!.sess, expires_at: before!.expires_at }]);
    expect(await store.get(SID)).toEqual(expect.objectContaining({ user: 'ana' }));
  });

  it("with hashIds: 'migrate', two gets of one id at once both answer the session and leave one record under the hash", async () => {
    await backend.open().set(SID, session());
    const [first, second] = [backend.open({ hashIds: 'migrate' }), backend.open({ hashIds: 'migrate' })];
    const answers = await Promise.all([first.get(SID), second.get(SID), first.get(SID)]);
    for (const answer of answers) expect(answer).toEqual(expect.objectContaining({ user: 'ana' }));
    expect(backend.rows().map((row) => row.sid)).toEqual([hashOf(SID)]);
  });

  it("with hashIds: 'migrate', destroy of an id not yet moved removes the raw record, so no later get brings it back", async () => {
    await backend.open().set(SID, session());
    const store = backend.open({ hashIds: 'migrate' });
    await store.destroy(SID);
    expect(backend.rows()).toEqual([]);
    expect(await store.get(SID)).toBeNull();
  });

  it("with hashIds: 'migrate', destroy removes both records when a set before any get left the raw one behind", async () => {
    await backend.open().set(SID, session());
    const store = backend.open({ hashIds: 'migrate' });
    await store.set(SID, session({ user: 'bob' }));
    expect(backend.rows()).toHaveLength(2);
    expect(await store.get(SID)).toEqual(expect.objectContaining({ user: 'bob' }));
    await store.destroy(SID);
    expect(backend.rows()).toEqual([]);
  });

  it("with hashIds: 'migrate', set of an expired session removes the raw record too", async () => {
    await backend.open().set(SID, session());
    await backend.open({ hashIds: 'migrate' }).set(SID, session({}, new Date(Date.UTC(2029, 0, 1))));
    expect(backend.rows()).toEqual([]);
  });

  it("with hashIds: 'migrate', touch extends only the hashed record: the get before it has moved the session", async () => {
    await backend.open().set(SID, session());
    const store = backend.open({ hashIds: 'migrate' });
    const later = new Date(Date.UTC(2030, 0, 1) + 5 * HOUR_MS);
    await store.touch(SID, session({}, later));
    expect(backend.rows().map((row) => [row.sid, row.expires_at])).toEqual([[SID, Date.UTC(2030, 0, 1) + HOUR_MS]]);
    await store.get(SID);
    await store.touch(SID, session({}, later));
    expect(backend.rows().map((row) => [row.sid, row.expires_at])).toEqual([[hashOf(SID), later.getTime()]]);
  });

  it("with hashIds: 'migrate' and encryptionKeys, re-encrypts a moved record for its hashed id", async () => {
    const encryptionKeys = [randomBytes(32)];
    await backend.open({ encryptionKeys }).set(SID, session());
    expect(await backend.open({ hashIds: 'migrate', encryptionKeys }).get(SID)).toEqual(expect.objectContaining({ user: 'ana' }));
    expect(backend.rows().map((row) => row.sid)).toEqual([hashOf(SID)]);
    expect(await backend.open({ hashIds: true, encryptionKeys }).get(SID)).toEqual(expect.objectContaining({ user: 'ana' }));
  });

  it("with hashIds: 'migrate' and onCorrupt: treat-as-missing, a corrupt raw record is removed from both ids", async () => {
    await backend.open().set(SID, session());
    backend.db.prepare('UPDATE sessions SET sess = ?').run('{"truncated":');
    expect(await backend.open({ hashIds: 'migrate', onCorrupt: 'treat-as-missing' }).get(SID)).toBeNull();
    expect(backend.rows()).toEqual([]);
  });

  it('refuses a hashIds that is not true, false or migrate', () => {
    for (const hashIds of ['yes', 1, 'sha256']) {
      expect(() => backend.open({ hashIds } as never)).toThrow(expect.objectContaining({ code: 'ERR_SESSION_OPTIONS', message: expect.stringContaining('hashIds must be true, false or') }));
    }
  });

  it('puts no session id in an error', async () => {
    const store = backend.open({ hashIds: 'migrate' });
    await backend.open().set(SID, session());
    backend.db.prepare('UPDATE sessions SET sess = ?').run('{"truncated":');
    const error = await store.get(SID).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toMatchObject({ code: 'ERR_SESSION_CORRUPT' });
    const shown = inspect(error, { depth: 10, showHidden: true });
    expect(shown).not.toContain(SID);
    expect(shown).not.toContain(hashOf(SID));
  });
});

describe('compat layouts that share their records with another store', () => {
  const key = randomBytes(32);
  it.each([
    ['PostgresStore', "compat 'connect-pg-simple'", (extra: object) => new PostgresStore({ connectionString: 'postgres://127.0.0.1:1/none', compat: 'connect-pg-simple', ...extra })],
    ['MySqlStore', "compat 'express-mysql-session'", (extra: object) => new MySqlStore({ uri: 'mysql://127.0.0.1:1/none', compat: 'express-mysql-session', ...extra })],
  ])('%s refuses hashIds and encryptionKeys with %s', (_name, compat, make) => {
    for (const hashIds of [true, 'migrate'] as const) {
      expect(() => make({ hashIds })).toThrow(expect.objectContaining({ code: 'ERR_SESSION_OPTIONS', message: expect.stringContaining(`${compat} shares its records with`) }));
    }
    let error: unknown;
    try {
      make({ encryptionKeys: [key] });
    } catch (caught) {
      error = caught;
    }
    expect(error).toMatchObject({ code: 'ERR_SESSION_OPTIONS', message: expect.stringContaining('encryptionKeys cannot be used with it') });
    expect(inspect(error, { depth: 10 })).not.toContain(key.toString('hex'));
    expect(() => make({ serializer: JSON })).toThrow('a serializer cannot be used with it');
  });
});
