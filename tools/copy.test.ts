import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import type { SessionData } from 'express-session';
import { MemoryStore } from '../stores/memory';
import { HOUR_MS, aSession } from '../test/support/sessions';
import { copySessions, type CopyProgress } from './copy';

const stores: MemoryStore[] = [];
function memoryStore(): MemoryStore {
  const store = new MemoryStore({ pruneInterval: 0 });
  stores.push(store);
  return store;
}

afterEach(async () => {
  await Promise.all(stores.splice(0).map((store) => store.close()));
});

describe('copySessions', () => {
  it('copies many sessions with several in flight, each once', async () => {
    const [from, to] = [memoryStore(), memoryStore()];
    for (let i = 0; i < 100; i++) await from.set(`many-${i}`, aSession({ i }));
    expect(await copySessions(from, to, { concurrency: 7 })).toMatchObject({ read: 100, copied: 100, failed: 0 });
    expect((await to.ids()).sort()).toEqual((await from.ids()).sort());
  });

  it('copies every live session with its data', async () => {
    const [from, to] = [memoryStore(), memoryStore()];
    await from.set('ada-session', aSession({ user: 'ada' }));
    await from.set('bob-session', aSession({ user: 'bob' }));
    const result = await copySessions(from, to);
    expect(result).toMatchObject({ read: 2, copied: 2, present: 0, gone: 0, failed: 0 });
    expect((await to.get('ada-session'))?.['user' as keyof SessionData]).toBe('ada');
    expect((await to.get('bob-session'))?.['user' as keyof SessionData]).toBe('bob');
  });

  it('carries the expiry the source holds, which a touch moved past cookie.expires', async () => {
    const [from, to] = [memoryStore(), memoryStore()];
    const written = aSession({ user: 'ada' });
    await from.set('touched', written);
    const extendedTo = Date.now() + 5 * HOUR_MS + 123;
    await from.touch('touched', { ...written, cookie: { ...written.cookie, expires: new Date(extendedTo) } } as SessionData);
    await copySessions(from, to);
    const [copied] = await entriesOf(to);
    expect(copied).toMatchObject({ id: 'touched', expiresAt: extendedTo });
  });

  it('never deletes or changes a session of the source', async () => {
    const [from, to] = [memoryStore(), memoryStore()];
    await from.set('kept', aSession({ user: 'ada' }));
    const before = await entriesOf(from);
    await copySessions(from, to);
    expect(await entriesOf(from)).toEqual(before);
  });

  it('leaves a session the target already holds as it is, so the newer one wins', async () => {
    const [from, to] = [memoryStore(), memoryStore()];
    await from.set('both', aSession({ user: 'old' }));
    await to.set('both', aSession({ user: 'new' }, 2 * HOUR_MS));
    const before = await entriesOf(to);
    const result = await copySessions(from, to);
    expect(result).toMatchObject({ copied: 0, present: 1 });
    expect(await entriesOf(to)).toEqual(before);
  });

  it('copies nothing twice when run again, and resumes a copy that stopped', async () => {
    const [from, to] = [memoryStore(), memoryStore()];
    for (const sid of ['one', 'two', 'three']) await from.set(sid, aSession({ sid }));
    await to.set('one', (await from.get('one'))!);
    const resumed = await copySessions(from, to);
    expect(resumed).toMatchObject({ copied: 2, present: 1 });
    const afterFirst = await entriesOf(to);
    expect(await copySessions(from, to)).toMatchObject({ copied: 0, present: 3 });
    expect(await entriesOf(to)).toEqual(afterFirst);
  });

  it('skips a session that expired since it was listed', async () => {
    const clock = Date.now();
    const from = new MemoryStore({ pruneInterval: 0, now: () => clock });
    stores.push(from);
    const to = memoryStore();
    await from.set('short', aSession({}, 1000));
    const result = await copySessions(from, to, { now: () => clock + 2000 });
    expect(result).toMatchObject({ read: 1, copied: 0, gone: 1 });
    expect(await to.length()).toBe(0);
  });

  it('does not copy a session destroyed in the source since the listing (as a MigratingStore move does)', async () => {
    const [from, to] = [memoryStore(), memoryStore()];
    await from.set('first', aSession());
    await from.set('moved-meanwhile', aSession());
    const result = await copySessions(from, to, {
      concurrency: 1,
      onProgress: (progress) => {
        if (progress.read === 1) void from.destroy('moved-meanwhile');
      },
    });
    expect(result).toMatchObject({ read: 2, copied: 1, gone: 1 });
    expect(await to.get('moved-meanwhile')).toBeNull();
  });

  it('reports progress each time a session is done with', async () => {
    const [from, to] = [memoryStore(), memoryStore()];
    for (const sid of ['a1', 'b2', 'c3']) await from.set(sid, aSession());
    const seen: CopyProgress[] = [];
    await copySessions(from, to, { onProgress: (progress) => seen.push({ ...progress }) });
    expect(seen).toHaveLength(3);
    expect(seen.every((p) => p.total === 3)).toBe(true);
    expect(seen[2]).toMatchObject({ read: 3, copied: 3 });
  });

  it('stops, and rejects with its error, when onProgress throws', async () => {
    const [from, to] = [memoryStore(), memoryStore()];
    for (let i = 0; i < 40; i++) await from.set(`stop-${i}`, aSession());
    const thrown = new Error('progress display failed');
    await expect(copySessions(from, to, { concurrency: 1, onProgress: () => { throw thrown; } })).rejects.toBe(thrown);
    expect(await to.length()).toBe(1);
  });

  it('copies from a store that has only ids() and get(), with the expiry of cookie.expires', async () => {
    const inner = memoryStore();
    const to = memoryStore();
    const session = aSession({ user: 'ada' });
    await inner.set('plain-store', session);
    const plain = {
      get: (sid: string, cb: (error: unknown, value?: unknown) => void) => void inner.get(sid, cb),
      set: (sid: string, value: SessionData, cb: (error: unknown) => void) => void inner.set(sid, value, cb),
      ids: (cb: (error: unknown, value?: string[]) => void) => void inner.ids(cb),
    };
    expect(await copySessions(plain as never, to)).toMatchObject({ copied: 1 });
    expect((await entriesOf(to))[0]).toMatchObject({ id: 'plain-store', expiresAt: Date.parse(session.cookie.expires as unknown as string) });
  });

  it("copies from connect-redis' all() shape, an array of sessions each with its id, without that id in the copy", async () => {
    const to = memoryStore();
    const session = aSession({ user: 'ada' });
    const arrayStore = {
      get: (sid: string, cb: (error: unknown, value?: unknown) => void) => cb(null, sid === 'from-array' ? session : null),
      set: (_sid: string, _value: SessionData, cb: (error: unknown) => void) => cb(null),
      all: (cb: (error: unknown, value?: unknown) => void) => cb(null, [{ ...session, id: 'from-array' }]),
    };
    expect(await copySessions(arrayStore as never, to)).toMatchObject({ copied: 1 });
    expect(await to.get('from-array')).toEqual(session);
  });

  it('refuses a source whose all() lists sessions without their ids, before copying anything', async () => {
    const to = memoryStore();
    const session = aSession({ user: 'ada' });
    const idlessStore = {
      get: (_sid: string, cb: (error: unknown, value?: unknown) => void) => cb(null, null),
      set: (_sid: string, _value: SessionData, cb: (error: unknown) => void) => cb(null),
      all: (cb: (error: unknown, value?: unknown) => void) => cb(null, [{ ...session, id: 'with-id' }, session]),
    };
    await expect(copySessions(idlessStore as never, to)).rejects.toMatchObject({ code: 'ERR_SESSION_UNSUPPORTED' });
    expect(await to.length()).toBe(0);
  });

  it('counts a session the target refuses as failed, names it by a prefix only, and copies the rest', async () => {
    const from = memoryStore();
    const to = new MemoryStore({ pruneInterval: 0, maxSessionBytes: 200 });
    stores.push(to);
    const secretSid = 'too-large-session-id-with-a-secret-tail';
    await from.set(secretSid, aSession({ blob: 'x'.repeat(500) }));
    await from.set('small', aSession());
    const result = await copySessions(from, to);
    expect(result).toMatchObject({ copied: 1, failed: 1 });
    expect(result.failures).toHaveLength(1);
    expect(result.failures[0]).toContain('too-la');
    expect(inspect(result, { depth: 10 })).not.toContain(secretSid);
    expect(inspect(result, { depth: 10 })).not.toContain('xxxxxxxx');
  });

  it('copies from a store of plain ids into one that hashes them, each session found by its id there', async () => {
    const from = memoryStore();
    const to = new MemoryStore({ pruneInterval: 0, hashIds: true, encryptionKeys: [randomBytes(32)] });
    stores.push(to);
    await from.set('ada-session', aSession({ user: 'ada' }));
    expect(await copySessions(from, to)).toMatchObject({ read: 1, copied: 1, failed: 0 });
    expect((await to.get('ada-session'))?.['user' as keyof SessionData]).toBe('ada');
  });

  it('refuses a source that hashes its ids before copying anything, and names MigratingStore', async () => {
    const from = new MemoryStore({ pruneInterval: 0, hashIds: true });
    stores.push(from);
    const to = memoryStore();
    await from.set('ada-session', aSession({ user: 'ada' }));
    await expect(copySessions(from, to)).rejects.toMatchObject({ code: 'ERR_SESSION_UNSUPPORTED', message: expect.stringContaining('MigratingStore') });
    expect(await to.length()).toBe(0);
  });

  it('refuses what is not a store, the same store twice and an unknown option with ERR_SESSION_OPTIONS', async () => {
    const store = memoryStore();
    await expect(copySessions({} as never, store)).rejects.toMatchObject({ code: 'ERR_SESSION_OPTIONS' });
    await expect(copySessions(store, store)).rejects.toMatchObject({ code: 'ERR_SESSION_OPTIONS' });
    await expect(copySessions(store, memoryStore(), { batch: 10 } as never)).rejects.toMatchObject({ code: 'ERR_SESSION_OPTIONS' });
    await expect(copySessions(store, memoryStore(), { concurrency: 0 })).rejects.toMatchObject({ code: 'ERR_SESSION_OPTIONS' });
  });
});

async function entriesOf(store: MemoryStore): Promise<Array<{ id: string; session: SessionData; expiresAt: number }>> {
  const entries = [];
  for await (const entry of store.sessions()) entries.push(entry);
  return entries.sort((a, b) => a.id.localeCompare(b.id));
}
