import type { SessionData } from 'express-session';
import { MemoryStore } from '../stores/memory';
import { SessionStore, type StoredSession } from './store';

// The base's side of sessions per user, on MemoryStore; every store's index is judged by the conformance cases.

const HOUR_MS = 60 * 60 * 1000;
const session = (user?: unknown) => ({ cookie: { originalMaxAge: HOUR_MS, expires: new Date(Date.now() + HOUR_MS) }, user }) as unknown as SessionData;
const userOf = (data: SessionData) => (data as unknown as { user?: string | number }).user;

/** A store of someone else's that implements only the four primitives. */
class MapStore extends SessionStore {
  private readonly records = new Map<string, StoredSession>();
  constructor(options: object) {
    super('map', options);
  }
  protected readRecord(key: string) {
    return this.records.get(key);
  }
  protected writeRecord(key: string, payload: string, expiresAt: number) {
    this.records.set(key, { payload, expiresAt });
  }
  protected extendRecord() {}
  protected removeRecord(key: string) {
    this.records.delete(key);
  }
}

describe('sessions per user in the base', () => {
  it('refuses userOf, tombstoneTtl and maxLifetime on a store whose backend keeps no index, tombstone or creation time', () => {
    for (const option of [{ userOf }, { tombstoneTtl: 1000 }, { maxLifetime: 1000 }]) {
      expect(() => new MapStore(option)).toThrow(expect.objectContaining({ code: 'ERR_SESSION_OPTIONS', message: expect.stringContaining(Object.keys(option)[0]!) }));
    }
  });

  it('answers sessionsOf and destroySessionsOf without userOf with ERR_SESSION_UNSUPPORTED', async () => {
    const store = new MemoryStore();
    await expect(store.sessionsOf('ana')).rejects.toMatchObject({ code: 'ERR_SESSION_UNSUPPORTED' });
    await expect(store.destroySessionsOf('ana')).rejects.toMatchObject({ code: 'ERR_SESSION_UNSUPPORTED' });
  });

  it('fails a set whose userOf throws or answers no user id, naming no session data, and writes nothing', async () => {
    const store = new MemoryStore({ userOf });
    const cases: unknown[] = [{ id: 'secret-object' }, '', 'a\u0000b', '\uD800', 'x'.repeat(513), Number.NaN];
    for (const user of cases) {
      await expect(store.set('sid-of-a-bad-user', session(user))).rejects.toMatchObject({ code: 'ERR_SESSION_ENCODE' });
    }
    const throwing = new MemoryStore({ userOf: () => { throw new Error('the session holds secret-token'); } });
    const error = await throwing.set('sid-of-a-bad-user', session('ana')).catch((caught: Error) => caught);
    expect(error).toMatchObject({ code: 'ERR_SESSION_ENCODE' });
    expect(String((error as Error).message)).not.toContain('secret-token');
    expect(await store.length()).toBe(0);
  });

  it('takes a numeric user id as its decimal string, in set and in sessionsOf', async () => {
    const store = new MemoryStore({ userOf });
    await store.set('numeric-user', session(42));
    expect((await store.sessionsOf(42)).map(({ id }) => id)).toEqual(['numeric-user']);
    expect((await store.sessionsOf('42')).map(({ id }) => id)).toEqual(['numeric-user']);
  });

  it('keeps the sessions named in except, given as one id or a list, and refuses an except that is neither', async () => {
    const store = new MemoryStore({ userOf });
    for (const sid of ['a', 'b', 'c']) await store.set(sid, session('ana'));
    expect(await store.destroySessionsOf('ana', { except: 'a' })).toBe(2);
    await store.set('d', session('ana'));
    expect(await store.destroySessionsOf('ana', { except: ['a', 'd'] })).toBe(0);
    await expect(store.destroySessionsOf('ana', { except: 7 as unknown as string })).rejects.toMatchObject({ code: 'ERR_SESSION_OPTIONS' });
    expect((await store.sessionsOf('ana')).map(({ id }) => id).sort()).toEqual(['a', 'd']);
  });

  it('calls back once in the callback forms of sessionsOf and destroySessionsOf', async () => {
    const store = new MemoryStore({ userOf });
    await store.set('a', session('ana'));
    const listed = await new Promise((resolve, reject) => store.sessionsOf('ana', (error, sessions) => (error ? reject(error) : resolve(sessions))));
    expect(listed).toEqual([expect.objectContaining({ id: 'a', expiresAt: expect.any(Number), createdAt: expect.any(Number) })]);
    const destroyed = await new Promise((resolve, reject) => store.destroySessionsOf('ana', (error, count) => (error ? reject(error) : resolve(count))));
    expect(destroyed).toBe(1);
  });

  it('lists, with hashIds or encryptionKeys, under the SHA-256 of the user id, and marks ids as listings do', async () => {
    const store = new MemoryStore({ userOf, hashIds: true });
    await store.set('a-session', session('ana'));
    const owners = [...(store as unknown as { owners: Map<string, unknown> }).owners.keys()];
    expect(owners).toHaveLength(1);
    expect(owners[0]).not.toContain('ana');
    expect((await store.sessionsOf('ana')).map(({ id }) => id)).toEqual([store.listedIdOf('a-session')]);
    expect(store.listedIdOf('a-session')).not.toContain('a-session');
  });
});
