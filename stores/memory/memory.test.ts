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
