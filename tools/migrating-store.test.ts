import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { SessionData } from 'express-session';
import { MemoryStore } from '../stores/memory';
import { aSession } from '../test/support/sessions';
import { MigratingStore } from './migrating-store';

let from: MemoryStore;
let to: MemoryStore;
let store: MigratingStore;

beforeEach(() => {
  from = new MemoryStore({ pruneInterval: 0 });
  to = new MemoryStore({ pruneInterval: 0 });
  store = new MigratingStore({ from, to });
});

afterEach(async () => {
  await Promise.all([from.close(), to.close()]);
});

const userOf = (session: SessionData | null | undefined) => (session as unknown as { user?: string } | null | undefined)?.user;

describe('MigratingStore', () => {
  it('reads the new store first', async () => {
    await from.set('both', aSession({ user: 'old' }));
    await to.set('both', aSession({ user: 'new' }));
    expect(userOf(await store.get('both'))).toBe('new');
    expect(userOf(await from.get('both'))).toBe('old');
  });

  it('moves a session found only in the old store on read: written to the new one, destroyed in the old', async () => {
    await from.set('moving', aSession({ user: 'ada' }));
    expect(userOf(await store.get('moving'))).toBe('ada');
    expect(userOf(await to.get('moving'))).toBe('ada');
    expect(await from.get('moving')).toBeNull();
  });

  it('moves a session whose stored cookie.expires a touch has outlived, live for its maxAge from the read', async () => {
    const clock = { now: Date.now() };
    const now = () => clock.now;
    const [old, next] = [new MemoryStore({ pruneInterval: 0, now }), new MemoryStore({ pruneInterval: 0, now })];
    const migrating = new MigratingStore({ from: old, to: next, now });
    const written = aSession({ user: 'ada' }, 60_000);
    await old.set('touched', written);
    clock.now += 50_000;
    await old.touch('touched', { ...written, cookie: { ...written.cookie, expires: new Date(clock.now + 60_000) } } as SessionData);
    clock.now += 50_000;
    const moved = await migrating.get('touched');
    expect(userOf(moved)).toBe('ada');
    expect(new Date(moved!.cookie.expires as Date | string).getTime()).toBe(clock.now + 60_000);
    expect(userOf(await next.get('touched'))).toBe('ada');
    await Promise.all([old.close(), next.close()]);
  });

  it('moves a session between stores that hash their ids and encrypt under keys of their own', async () => {
    const [hashedFrom, hashedTo] = [randomBytes(32), randomBytes(32)].map((key) => new MemoryStore({ pruneInterval: 0, hashIds: true, encryptionKeys: [key] }));
    const migrating = new MigratingStore({ from: hashedFrom!, to: hashedTo! });
    try {
      await hashedFrom!.set('hashed', aSession({ user: 'ada' }));
      expect(userOf(await migrating.get('hashed'))).toBe('ada');
      expect(userOf(await hashedTo!.get('hashed'))).toBe('ada');
      expect(await hashedFrom!.length()).toBe(0);
    } finally {
      await Promise.all([hashedFrom!.close(), hashedTo!.close()]);
    }
  });

  it('answers null for a session neither store holds', async () => {
    expect(await store.get('nobody')).toBeNull();
  });

  it('writes set and touch to the new store only', async () => {
    const session = aSession({ user: 'ada' });
    await store.set('written', session);
    await store.touch('written', session);
    expect(userOf(await to.get('written'))).toBe('ada');
    expect(await from.get('written')).toBeNull();
  });

  it('destroys a session in both stores', async () => {
    await from.set('gone', aSession());
    await to.set('gone', aSession());
    await store.destroy('gone');
    expect(await from.get('gone')).toBeNull();
    expect(await to.get('gone')).toBeNull();
  });

  it('works with callbacks, calling each once', async () => {
    await from.set('callback', aSession({ user: 'ada' }));
    const calls: unknown[][] = [];
    await new Promise<void>((resolve) => store.get('callback', (...args) => (calls.push(args), resolve())));
    await new Promise<void>((resolve) => store.set('callback', aSession(), (...args) => (calls.push(args), resolve())));
    await new Promise<void>((resolve) => store.destroy('callback', (...args) => (calls.push(args), resolve())));
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls).toHaveLength(3);
    expect(calls[0]![0]).toBeNull();
    expect(userOf(calls[0]![1] as SessionData)).toBe('ada');
  });

  it('never throws synchronously: a bad id is an error through the promise and the callback', async () => {
    let promise: Promise<unknown> | undefined;
    expect(() => (promise = store.get(42 as unknown as string))).not.toThrow();
    await expect(promise).rejects.toMatchObject({ code: 'ERR_SESSION_ID' });
    const error = await new Promise((resolve) => store.set('', aSession(), resolve));
    expect(error).toMatchObject({ code: 'ERR_SESSION_ID' });
  });

  it('refuses an unknown option, a missing store and the same store twice with ERR_SESSION_OPTIONS', () => {
    expect(() => new MigratingStore({ from, to, ttl: 1 } as never)).toThrow(expect.objectContaining({ code: 'ERR_SESSION_OPTIONS' }));
    expect(() => new MigratingStore({ from } as never)).toThrow(expect.objectContaining({ code: 'ERR_SESSION_OPTIONS' }));
    expect(() => new MigratingStore({ from, to: from })).toThrow(expect.objectContaining({ code: 'ERR_SESSION_OPTIONS' }));
  });

  it("emits 'disconnect' when either store goes down and 'connect' once both are back", () => {
    const emitted: string[] = [];
    store.on('disconnect', () => emitted.push('disconnect'));
    store.on('connect', () => emitted.push('connect'));
    const [old, next] = [from as EventEmitter, to as EventEmitter];
    old.emit('disconnect');
    next.emit('disconnect');
    old.emit('connect');
    next.emit('connect');
    expect(emitted).toEqual(['disconnect', 'connect']);
  });
});
