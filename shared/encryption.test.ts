import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import Database from 'better-sqlite3';
import express from 'express';
import expressSession from 'express-session';
import request from 'supertest';
import type { SessionData } from 'express-session';
import { SqliteStore, type SqliteStoreOptions } from '../stores/sqlite';
import { Codec } from './codec';
import { Cipher } from './encryption';
import type { CorruptRecordEvent } from './options';

const SID = 'sid-6f1d2c9a4b7e8f30a1b2c3d4e5f60718';
const SECRET = 'CARD-4111-1111-1111-1111';
const session = (extra: Record<string, unknown> = {}) =>
  ({ cookie: { originalMaxAge: null, path: '/', httpOnly: true }, user: 'ana', secret: SECRET, ...extra }) as unknown as SessionData;

const keyA = randomBytes(32);
const keyB = randomBytes(32);

/** Every form a key can be given in, each of which a leak would show. */
const formsOf = (key: Buffer) => [key.toString('hex'), key.toString('base64'), key.toString('base64url'), key.toString('latin1')];

function tables() {
  const db = new Database(':memory:');
  const stores: SqliteStore[] = [];
  const open = (options: Omit<SqliteStoreOptions, 'db'> = {}) => {
    const store = new SqliteStore({ db, pruneInterval: 0, ...options });
    stores.push(store);
    return store;
  };
  const row = (sid: string) => db.prepare('SELECT sess FROM sessions WHERE sid = ?').get(sid) as { sess: string } | undefined;
  const close = async () => {
    for (const store of stores) await store.close();
    db.close();
  };
  return { db, open, row, close };
}

async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: Error) => error,
  );
}

describe('SessionStore encryptionKeys', () => {
  let backend: ReturnType<typeof tables>;
  beforeEach(() => (backend = tables()));
  afterEach(() => backend.close());

  it('stores no plaintext, and reads back what it stored', async () => {
    const store = backend.open({ encryptionKeys: [keyA] });
    await store.set(SID, session());
    const stored = backend.row(SID)!.sess;
    expect(stored.startsWith('sse1.')).toBe(true);
    expect(stored).not.toContain(SECRET);
    expect(stored).not.toContain('ana');
    expect(await store.get(SID)).toEqual(expect.objectContaining({ user: 'ana', secret: SECRET }));
  });

  it('reads a record written under key A once the keys are [B, A], and rewrites it under B on the next set', async () => {
    await backend.open({ encryptionKeys: [keyA] }).set(SID, session({ version: 1 }));
    const rotated = backend.open({ encryptionKeys: [keyB, keyA] });
    expect(await rotated.get(SID)).toEqual(expect.objectContaining({ version: 1 }));
    await rotated.set(SID, session({ version: 2 }));
    expect(await backend.open({ encryptionKeys: [keyB] }).get(SID)).toEqual(expect.objectContaining({ version: 2 }));
    const error = await rejection(backend.open({ encryptionKeys: [keyA] }).get(SID));
    expect(error).toMatchObject({ code: 'ERR_SESSION_CORRUPT', message: expect.stringContaining('a key that is not in encryptionKeys') });
  });

  it('refuses a payload moved to another session id', async () => {
    const store = backend.open({ encryptionKeys: [keyA] });
    await store.set(SID, session());
    await store.set('victim', session({ user: 'bob' }));
    backend.db.prepare('UPDATE sessions SET sess = ? WHERE sid = ?').run(backend.row(SID)!.sess, 'victim');
    const error = await rejection(store.get('victim'));
    expect(error).toMatchObject({ code: 'ERR_SESSION_CORRUPT', message: expect.stringContaining('does not authenticate') });
  });

  it('treats a tampered payload as corrupt, and deletes it under onCorrupt: treat-as-missing', async () => {
    const store = backend.open({ encryptionKeys: [keyA], onCorrupt: 'treat-as-missing' });
    const events: CorruptRecordEvent[] = [];
    store.on('corrupt', (event: CorruptRecordEvent) => events.push(event));
    await store.set(SID, session());
    const stored = backend.row(SID)!.sess;
    // One character of the ciphertext changed, the header left as it was.
    const at = stored.length - 30;
    const tampered = stored.slice(0, at) + (stored[at] === 'A' ? 'B' : 'A') + stored.slice(at + 1);
    backend.db.prepare('UPDATE sessions SET sess = ? WHERE sid = ?').run(tampered, SID);
    expect(await store.get(SID)).toBeNull();
    expect(backend.row(SID)).toBeUndefined();
    expect(events).toEqual([{ sidPrefix: SID.slice(0, 6), code: 'ERR_SESSION_CORRUPT', operation: 'get' }]);
  });

  it('refuses a payload given the key id of another key', async () => {
    const store = backend.open({ encryptionKeys: [keyB, keyA] });
    await store.set(SID, session());
    const stored = backend.row(SID)!.sess;
    await backend.open({ encryptionKeys: [keyA] }).set('other', session());
    const otherKeyId = backend.row('other')!.sess.slice(5, 13);
    backend.db.prepare('UPDATE sessions SET sess = ? WHERE sid = ?').run(stored.slice(0, 5) + otherKeyId + stored.slice(13), SID);
    expect(await rejection(store.get(SID))).toMatchObject({ code: 'ERR_SESSION_CORRUPT' });
  });

  it('refuses a plaintext record, and says a store without keys met an encrypted one', async () => {
    await backend.open().set(SID, session());
    expect(await rejection(backend.open({ encryptionKeys: [keyA] }).get(SID))).toMatchObject({
      code: 'ERR_SESSION_CORRUPT',
      message: expect.stringContaining('stored session is not encrypted'),
    });
    await backend.open({ encryptionKeys: [keyA] }).set('sealed', session());
    expect(await rejection(backend.open().get('sealed'))).toMatchObject({
      code: 'ERR_SESSION_CORRUPT',
      message: expect.stringContaining('encrypted, and the store has no encryptionKeys'),
    });
  });

  it('takes a key as a Buffer, a Uint8Array, 64 hex digits, base64 or base64url, all one key', async () => {
    await backend.open({ encryptionKeys: [keyA] }).set(SID, session());
    for (const form of [new Uint8Array(keyA), keyA.toString('hex'), keyA.toString('base64'), keyA.toString('base64url')]) {
      expect(await backend.open({ encryptionKeys: [form] }).get(SID)).toEqual(expect.objectContaining({ user: 'ana' }));
    }
  });

  it('keeps using a key after the caller overwrites the Buffer it was given', async () => {
    const given = Buffer.from(keyA);
    const store = backend.open({ encryptionKeys: [given] });
    given.fill(0);
    await store.set(SID, session());
    expect(await backend.open({ encryptionKeys: [keyA] }).get(SID)).toEqual(expect.objectContaining({ user: 'ana' }));
  });

  it.each([
    ['a key of 16 bytes', [randomBytes(16)], 'encryptionKeys[0] must be 32 bytes', 'a Buffer of 16 bytes'],
    ['a passphrase', ['correct horse battery staple'], 'encryptionKeys[0] must be 32 bytes', 'a string of 28 characters'],
    ['63 hex digits', [keyA.toString('hex').slice(1)], 'encryptionKeys[0] must be 32 bytes', 'a string of 63 characters'],
    ['base64 of 33 bytes', [randomBytes(33).toString('base64')], 'encryptionKeys[0] must be 32 bytes', 'a string of 44 characters'],
    ['a bad second key', [keyA, 'short'], 'encryptionKeys[1] must be 32 bytes', 'a string of 5 characters'],
    ['a number', [42], 'encryptionKeys[0] must be 32 bytes', 'got number'],
    ['one key not in an array', keyA, 'encryptionKeys must be a non-empty array', 'a Buffer of 32 bytes'],
    ['an empty array', [], 'encryptionKeys must be a non-empty array', 'an empty array'],
    ['the same key twice', [keyA, keyB, keyA.toString('hex')], 'encryptionKeys[2] is the same key as encryptionKeys[0]', ''],
  ])('refuses %s with ERR_SESSION_OPTIONS, without quoting it', (_label, encryptionKeys, message, shape) => {
    let error: unknown;
    try {
      backend.open({ encryptionKeys } as never);
    } catch (caught) {
      error = caught;
    }
    expect(error).toMatchObject({ code: 'ERR_SESSION_OPTIONS', message: expect.stringContaining(message) });
    expect((error as Error).message).toContain(shape);
    const shown = inspect(error, { depth: 10 });
    for (const key of [encryptionKeys].flat() as unknown[]) {
      if (typeof key === 'string') expect(shown).not.toContain(key);
      if (key instanceof Uint8Array) for (const form of formsOf(Buffer.from(key))) expect(shown).not.toContain(form);
    }
  });

  it('shows no key material, session id or session data in any error, nor in the store itself', async () => {
    const store = backend.open({ encryptionKeys: [keyB, keyA] });
    await store.set(SID, session());
    const stored = backend.row(SID)!.sess;
    const errors: unknown[] = [];
    const plant = async (payload: string) => {
      backend.db.prepare('UPDATE sessions SET sess = ? WHERE sid = ?').run(payload, SID);
      errors.push(await rejection(store.get(SID)));
    };
    await plant(`${stored.slice(0, -2)}AA`);
    await plant(stored.replace(/^sse1\.[^.]{8}\./, 'sse1.AAAAAAAA.'));
    await plant('sse1.');
    await plant(JSON.stringify(session()));
    for (const bad of [[randomBytes(31)], ['x'.repeat(64)], [keyA, keyA]]) {
      try {
        backend.open({ encryptionKeys: bad as never });
      } catch (error) {
        errors.push(error);
      }
    }
    expect(errors).toHaveLength(7);
    for (const shown of [...errors.map((error) => inspect(error, { depth: 10, showHidden: true })), inspect(store, { depth: 10, showHidden: true })]) {
      for (const key of [keyA, keyB]) for (const form of formsOf(key)) expect(shown).not.toContain(form);
      expect(shown).not.toContain(SID);
      expect(shown).not.toContain(SECRET);
    }
  });
});

describe('Cipher', () => {
  const cipher = Cipher.of('test', [keyA])!;

  it('binds a payload to its storage id', () => {
    const sealed = cipher.seal('{"a":1}', 'one');
    expect(cipher.open(sealed, 'one')).toBe('{"a":1}');
    expect(() => cipher.open(sealed, 'two')).toThrow('does not authenticate');
  });

  it('never writes the same payload twice for the same text', () => {
    expect(cipher.seal('same', 'id')).not.toBe(cipher.seal('same', 'id'));
  });

  it('writes base64url after a versioned header of fixed length', () => {
    expect(cipher.seal('x'.repeat(1000), 'id')).toMatch(/^sse1\.[A-Za-z0-9_-]{8}\.[A-Za-z0-9_-]+$/);
  });
});

describe('Codec with encryption', () => {
  it('counts maxSessionBytes on the serialized session, before encryption', () => {
    const codec = new Codec('test', undefined, 200, Cipher.of('test', [keyA]));
    const fits = session({ pad: 'x'.repeat(50) });
    const serialized = Buffer.byteLength(JSON.stringify(fits));
    expect(serialized).toBeLessThanOrEqual(200);
    expect(codec.encode('sid', fits, 'sid').length).toBeGreaterThan(200);
    expect(() => codec.encode('sid', session({ pad: 'x'.repeat(200) }), 'sid')).toThrow(expect.objectContaining({ code: 'ERR_SESSION_TOO_LARGE' }));
  });
});

describe('an express app on a store with hashIds and encryptionKeys', () => {
  it('keeps a user logged in across requests, with neither the session id nor the data in the database', async () => {
    const db = new Database(':memory:');
    const store = new SqliteStore({ db, pruneInterval: 0, hashIds: true, encryptionKeys: [keyB, keyA] });
    const app = express();
    app.use(express.json());
    app.use(expressSession({ secret: 'app-secret', resave: false, saveUninitialized: false, store }));
    app.post('/login', (req, res) => {
      (req.session as unknown as { user: string }).user = req.body.user;
      res.json({ ok: true });
    });
    app.get('/me', (req, res) => res.json({ user: (req.session as unknown as { user?: string }).user ?? null }));
    try {
      const login = await request(app).post('/login').send({ user: SECRET }).expect(200);
      const cookie = login.headers['set-cookie']![0]!.split(';')[0]!;
      for (let visit = 0; visit < 3; visit++) expect((await request(app).get('/me').set('Cookie', cookie).expect(200)).body).toEqual({ user: SECRET });
      const sid = decodeURIComponent(cookie.slice(cookie.indexOf('=') + 1)).replace(/^s:/, '').replace(/\.[^.]*$/, '');
      expect(sid).toHaveLength(32);
      const dump = JSON.stringify(db.prepare('SELECT * FROM sessions').all());
      expect(dump).not.toContain(sid);
      expect(dump).not.toContain(SECRET);
      expect(await request(app).get('/me').expect(200)).toHaveProperty('body', { user: null });
    } finally {
      await store.close();
      db.close();
    }
  });
});
