import { MemoryStore } from '.';
import { SessionStoreError } from '../../shared';

const cookie = () => ({ originalMaxAge: null, path: '/', httpOnly: true });

describe('MemoryStore', () => {
  it('round-trips a session through promise and callback forms', async () => {
    const store = new MemoryStore();
    await store.set('a', { cookie: cookie(), user: { name: 'ana' } } as any);
    expect(await store.get('a')).toEqual({ cookie: cookie(), user: { name: 'ana' } });
    const viaCallback = await new Promise((resolve, reject) => store.get('a', (err, s) => (err ? reject(err) : resolve(s))));
    expect(viaCallback).toEqual({ cookie: cookie(), user: { name: 'ana' } });
    await store.close();
  });

  it('rejects a ttl of 0 at construction instead of silently using a default', () => {
    expect(() => new MemoryStore({ ttl: 0 })).toThrow(SessionStoreError);
  });
});

describe('MemoryStore max', () => {
  const session = (n: number) => ({ cookie: cookie(), n }) as any;

  it('evicts the least recently used session (read, written or touched) once max is reached', async () => {
    const store = new MemoryStore({ max: 3 });
    for (const sid of ['a', 'b', 'c']) await store.set(sid, session(1));
    await store.get('a');
    await store.touch('b', session(1));
    await store.set('d', session(1));
    expect((await store.ids()).sort()).toEqual(['a', 'b', 'd']);
    await store.set('a', session(2));
    await store.set('e', session(1));
    expect((await store.ids()).sort()).toEqual(['a', 'd', 'e']);
    expect(await store.length()).toBe(3);
    await store.close();
  });

  it('keeps every session without max, and refuses a max that is not a positive integer', async () => {
    const store = new MemoryStore();
    for (let i = 0; i < 2000; i++) await store.set(`s${i}`, session(i));
    expect(await store.length()).toBe(2000);
    await store.close();
    for (const max of [0, -1, 2.5, '10']) expect(() => new MemoryStore({ max } as any)).toThrow(expect.objectContaining({ code: 'ERR_SESSION_OPTIONS' }));
  });
});
