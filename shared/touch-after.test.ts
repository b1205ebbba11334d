import express from 'express';
import session, { type SessionData } from 'express-session';
import request from 'supertest';
import { SessionStore, type BaseStoreOptions, type LifetimeOptions, type StoredSession } from '.';

type Primitive = 'read' | 'write' | 'extend' | 'remove';

/**
 * A backend of records in a Map that several stores may share, as processes share one database,
 * counting the calls that reach it: each one is a round trip on a real backend.
 */
class CountingStore extends SessionStore {
  readonly backendCalls: Record<Primitive, number> = { read: 0, write: 0, extend: 0, remove: 0 };
  /** What readRecord answers for a record's expiry; `Infinity` plays a backend that does not fetch it. */
  readExpiry: 'stored' | 'not fetched' = 'stored';

  constructor(
    options: BaseStoreOptions,
    readonly records = new Map<string, StoredSession>(),
  ) {
    super('counting', options, { ownOptions: [], maxLifetime: true });
  }

  protected async readRecord(key: string) {
    this.backendCalls.read++;
    const record = this.records.get(key);
    return record && (this.readExpiry === 'stored' ? { ...record } : { payload: record.payload, expiresAt: Infinity });
  }
  protected async writeRecord(key: string, payload: string, expiresAt: number) {
    this.backendCalls.write++;
    this.records.set(key, { payload, expiresAt });
  }
  protected async extendRecord(key: string, expiresAt: number, now: number, unlessExpiresAfter: number | undefined) {
    this.backendCalls.extend++;
    const record = this.records.get(key);
    if (!record || record.expiresAt <= now) return;
    if (unlessExpiresAfter !== undefined && record.expiresAt >= unlessExpiresAfter) return;
    record.expiresAt = Math.min(expiresAt, record.lifetimeEndsAt ?? Infinity);
  }
  protected async removeRecord(key: string) {
    this.backendCalls.remove++;
    this.records.delete(key);
  }

  /** Backend calls since the last look. */
  takeCalls(): Record<Primitive, number> {
    const calls = { ...this.backendCalls };
    for (const primitive of Object.keys(this.backendCalls) as Primitive[]) this.backendCalls[primitive] = 0;
    return calls;
  }
}

const T0 = Date.UTC(2030, 0, 1);
const TTL = 60_000;
const TOUCH_AFTER = 10_000;
const none = { read: 0, write: 0, extend: 0, remove: 0 };

/** A session with a browser-session cookie: its expiry is the store clock's now + ttl. */
const browserSession = (data: Record<string, unknown> = {}) => ({ cookie: { originalMaxAge: null, path: '/', httpOnly: true }, ...data }) as unknown as SessionData;
const sessionExpiringAt = (expiresAt: number) => ({ cookie: { originalMaxAge: 1, expires: new Date(expiresAt), path: '/', httpOnly: true } }) as unknown as SessionData;

function setup(options: BaseStoreOptions & LifetimeOptions = {}) {
  let t = T0;
  const now = () => t;
  const records = new Map<string, StoredSession>();
  const open = (more: BaseStoreOptions & LifetimeOptions = {}) => new CountingStore({ now, ttl: TTL, touchAfter: TOUCH_AFTER, ...options, ...more }, records);
  return { store: open(), open, records, now, advance: (ms: number) => (t += ms) };
}

describe('touchAfter decides a touch from the expiry its get read', () => {
  it('answers a get and the touch that follows within touchAfter with one backend call, and writes nothing', async () => {
    const { store, advance } = setup();
    await store.set('s', browserSession());
    advance(5_000);
    store.takeCalls();
    expect(await store.get('s')).not.toBeNull();
    await store.touch('s', browserSession());
    expect(store.takeCalls()).toEqual({ ...none, read: 1 });
  });

  it('sends a touch that is due to the backend, which moves the expiry', async () => {
    const { store, records, now, advance } = setup();
    await store.set('s', browserSession());
    advance(TOUCH_AFTER + 1);
    store.takeCalls();
    await store.get('s');
    await store.touch('s', browserSession());
    expect(store.takeCalls()).toEqual({ ...none, read: 1, extend: 1 });
    expect(records.get('s')!.expiresAt).toBe(now() + TTL);
  });

  it('skips exactly where the backend would: at a stored expiry of new expiry − touchAfter, not one millisecond before', async () => {
    const { store, advance } = setup();
    await store.set('s', sessionExpiringAt(T0 + TTL));
    advance(1_000);
    await store.get('s');
    store.takeCalls();
    await store.touch('s', sessionExpiringAt(T0 + TTL + TOUCH_AFTER));
    expect(store.takeCalls().extend).toBe(0);
    await store.get('s');
    await store.touch('s', sessionExpiringAt(T0 + TTL + TOUCH_AFTER + 1));
    expect(store.takeCalls().extend).toBe(1);
  });

  it('skips in the process a touch at the end of a session lifetime, which could not move the expiry by touchAfter', async () => {
    const { store, records, now } = setup({ maxLifetime: 1_000_000 });
    const payload = JSON.stringify(browserSession());
    // Both expire 30 s from now (the cookie would give 60 s): one because its lifetime ends there, the other from an earlier touch.
    records.set('ending', { payload, expiresAt: now() + 30_000, lifetimeEndsAt: now() + 30_000 });
    records.set('young', { payload, expiresAt: now() + 30_000, lifetimeEndsAt: now() + 500_000 });
    for (const sid of ['ending', 'young']) await store.touch(sid, (await store.get(sid))!);
    expect(store.takeCalls()).toEqual({ ...none, read: 2, extend: 1 });
    expect(records.get('ending')!.expiresAt).toBe(now() + 30_000);
    expect(records.get('young')!.expiresAt).toBe(now() + TTL);
  });

  it('sends a touch without a get before it to the backend, as without the read', async () => {
    const { store, records } = setup();
    await store.set('s', browserSession());
    store.takeCalls();
    await store.touch('s', browserSession());
    expect(store.takeCalls()).toEqual({ ...none, extend: 1 });
    expect(records.get('s')!.expiresAt).toBe(T0 + TTL);
  });

  it('decides the touches of concurrent requests of one session by the latest read of it', async () => {
    const { store } = setup();
    await store.set('s', browserSession());
    store.takeCalls();
    await Promise.all([store.get('s'), store.get('s')]);
    await Promise.all([store.touch('s', browserSession()), store.touch('s', browserSession())]);
    expect(store.takeCalls()).toEqual({ ...none, read: 2 });
  });

  it('does not use a read older than two seconds', async () => {
    const { store, advance } = setup();
    await store.set('s', browserSession());
    await store.get('s');
    advance(2_001);
    store.takeCalls();
    await store.touch('s', browserSession());
    expect(store.takeCalls()).toEqual({ ...none, extend: 1 });
  });

  it('keeps nothing from a get that found no session, and from a read that did not fetch the expiry', async () => {
    const { store } = setup();
    expect(await store.get('missing')).toBeNull();
    await store.set('s', browserSession());
    store.readExpiry = 'not fetched';
    expect(await store.get('s')).not.toBeNull();
    store.takeCalls();
    await store.touch('missing', browserSession());
    await store.touch('s', browserSession());
    expect(store.takeCalls()).toEqual({ ...none, extend: 2 });
  });

  it('never shortens the expiry that another process extended between the get and the touch', async () => {
    const { store, open, records } = setup();
    const other = open();
    await store.set('s', browserSession());
    await store.get('s');
    await other.touch('s', sessionExpiringAt(T0 + 10 * TTL));
    store.takeCalls();
    await store.touch('s', browserSession());
    expect(store.takeCalls()).toEqual(none);
    expect(records.get('s')!.expiresAt).toBe(T0 + 10 * TTL);
  });

  it('sends a touch that its read says is due to the backend, whose condition keeps the later expiry another process wrote meanwhile', async () => {
    const { store, open, records, advance } = setup();
    const other = open();
    await store.set('s', browserSession());
    advance(TOUCH_AFTER + 1);
    await store.get('s');
    await other.touch('s', sessionExpiringAt(T0 + 10 * TTL));
    store.takeCalls();
    await store.touch('s', browserSession());
    expect(store.takeCalls()).toEqual({ ...none, extend: 1 });
    expect(records.get('s')!.expiresAt).toBe(T0 + 10 * TTL);
  });

  it('does not bring back a session that another process destroyed between the get and the touch', async () => {
    const { store, open, advance } = setup();
    const other = open();
    await store.set('skipped', browserSession());
    await store.set('due', browserSession());
    await store.get('skipped');
    advance(TOUCH_AFTER + 1);
    await store.get('due');
    await other.destroy('skipped');
    await other.destroy('due');
    await store.touch('skipped', browserSession());
    await store.touch('due', browserSession());
    expect(await store.get('skipped')).toBeNull();
    expect(await store.get('due')).toBeNull();
    expect(await other.get('skipped')).toBeNull();
  });

  it("sends the touch to the backend after this process's own set between the get and the touch", async () => {
    const { store, records, now } = setup();
    await store.set('s', browserSession());
    await store.get('s');
    await store.set('s', sessionExpiringAt(now() + 1_000));
    store.takeCalls();
    await store.touch('s', browserSession());
    expect(store.takeCalls()).toEqual({ ...none, extend: 1 });
    expect(records.get('s')!.expiresAt).toBe(now() + TTL);
  });

  it("skips the touch after this process's own destroy between the get and the touch, and the session stays destroyed", async () => {
    const { store, records } = setup();
    await store.set('s', browserSession());
    await store.get('s');
    await store.destroy('s');
    const ended = records.get('s');
    store.takeCalls();
    // A skipped touch writes nothing, so the read it was judged by cannot bring the session back.
    await store.touch('s', browserSession());
    expect(store.takeCalls()).toEqual(none);
    expect(records.get('s')).toEqual(ended);
    expect(await store.get('s')).toBeNull();
  });

  it('sends every touch to the backend without touchAfter, and none with disableTouch', async () => {
    const { open } = setup();
    const every = open({ touchAfter: 0 });
    const disabled = open({ disableTouch: true });
    await every.set('s', browserSession());
    for (const store of [every, disabled]) {
      await store.get('s');
      store.takeCalls();
      await store.touch('s', browserSession());
    }
    expect(every.takeCalls()).toEqual({ ...none, extend: 1 });
    expect(disabled.takeCalls()).toEqual(none);
  });

  it('calls back a skipped touch once, on a later tick', async () => {
    const { store } = setup();
    await store.set('s', browserSession());
    await store.get('s');
    let calls = 0;
    let synchronous = true;
    await new Promise<void>((resolve) => {
      store.touch('s', browserSession(), (error) => {
        calls++;
        expect(error).toBeNull();
        expect(synchronous).toBe(false);
        resolve();
      });
      synchronous = false;
    });
    expect(calls).toBe(1);
  });

  it('refuses a touch after close() even with a read in hand', async () => {
    const { store } = setup();
    await store.set('s', browserSession());
    await store.get('s');
    await store.close();
    await expect(store.touch('s', browserSession())).rejects.toMatchObject({ code: 'ERR_SESSION_CLOSED' });
  });

  it('through express-session (resave: false), a request that only reads its session makes one backend call, and one that comes touchAfter later makes two', async () => {
    const { store, records, now, advance } = setup();
    const app = express();
    app.use(session({ store, secret: 'touch-after', resave: false, saveUninitialized: false, cookie: {} }));
    app.post('/login', (req, res) => {
      (req.session as unknown as { user: string }).user = 'ana';
      res.status(204).end();
    });
    app.get('/me', (req, res) => void res.send((req.session as unknown as { user?: string }).user ?? ''));
    const login = await request(app).post('/login').expect(204);
    const cookie = login.headers['set-cookie']![0]!.split(';')[0]!;
    store.takeCalls();
    for (let i = 0; i < 3; i++) {
      advance(1_000);
      expect((await request(app).get('/me').set('Cookie', cookie).expect(200)).text).toBe('ana');
    }
    expect(store.takeCalls()).toEqual({ ...none, read: 3 });
    advance(TOUCH_AFTER);
    await request(app).get('/me').set('Cookie', cookie).expect(200);
    expect(store.takeCalls()).toEqual({ ...none, read: 1, extend: 1 });
    expect([...records.values()][0]!.expiresAt).toBe(now() + TTL);
  });
});
