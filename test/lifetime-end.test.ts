import { randomBytes } from 'node:crypto';
import type { SessionData } from 'express-session';
import { describeEachRawBackend, RAW_BACKENDS } from './support/raw-backends';

// With maxLifetime and touchAfter, the end of a session's lifetime: once its stored expiry is there,
// no touch can move it, and touchAfter skips such a touch in the process, from what the request's
// get read, as it skips a touch that is not yet due.

const LIFETIME = 60_000;
const TOUCH_AFTER = 10_000;
const DAY = 86_400_000;

const sessionFor = (now: number, maxAge: number) =>
  ({ cookie: { originalMaxAge: maxAge, expires: new Date(now + maxAge).toISOString(), path: '/', httpOnly: true }, user: 'ana' }) as unknown as SessionData;

describeEachRawBackend(RAW_BACKENDS, (_kind, backend) => {
  it('with maxLifetime, a session whose stored expiry is the end of its lifetime: a get then a touch sends no touch to the backend, and the session ends with its lifetime', async () => {
    let t = Date.now();
    const { store, close } = await backend().openStore({ maxLifetime: LIFETIME, touchAfter: TOUCH_AFTER, now: () => t });
    const extendRecord = jest.spyOn(store as unknown as { extendRecord: (...args: unknown[]) => unknown }, 'extendRecord');
    try {
      // A day-long cookie: the set already caps the stored expiry at the end of the 60 s lifetime.
      const capped = `lifetime-end-${randomBytes(6).toString('hex')}`;
      await store.set(capped, sessionFor(t, DAY));
      t += 20_000;
      await store.touch(capped, (await store.get(capped))!);
      expect(extendRecord).not.toHaveBeenCalled();
      // A 30 s cookie, 20 s later: its touch moves the expiry by 20 s, within the lifetime, and is sent.
      const sliding = `lifetime-sliding-${randomBytes(6).toString('hex')}`;
      await store.set(sliding, sessionFor(t, 30_000));
      t += 20_000;
      await store.touch(sliding, { ...(await store.get(sliding))!, cookie: sessionFor(t, 30_000).cookie } as SessionData);
      expect(extendRecord).toHaveBeenCalledTimes(1);
      // The first is served up to the end of its lifetime (60 s after its set), and not after.
      t += 19_000;
      expect(await store.get(capped)).toMatchObject({ user: 'ana' });
      t += 2_000;
      expect(await store.get(capped)).toBeNull();
    } finally {
      extendRecord.mockRestore();
      await close();
    }
  });
});
