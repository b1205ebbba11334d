import { randomBytes } from 'node:crypto';
import { appOn, Browser, secretMarker, signedCookie } from './support/browsers';
import { describeEachRawBackend, RAW_BACKENDS, type AtRestOptions, type RawBackend } from './support/raw-backends';

// What a stolen backup gives away, per store: the backend dumped with its own client, after a login over HTTP.

/** The login stores the marker as the session's user: with userOf on, the user index must not give it away either. */
const userOf = (session: object) => (session as { user?: string }).user;
const AT_REST: AtRestOptions = { hashIds: true, encryptionKeys: [randomBytes(32)], userOf };

async function loggedIn(backend: RawBackend, options: AtRestOptions) {
  const opened = await backend.openStore(options);
  const app = await appOn(opened.store);
  const browser = new Browser();
  const marker = secretMarker();
  await browser.login(app, marker);
  return { ...opened, app, browser, marker, sid: browser.sid, dump: await backend.dump() };
}

describeEachRawBackend(RAW_BACKENDS, (kind, backend) => {
  it('with hashIds and encryptionKeys, a raw dump of the backend after a login holds neither the session id nor the session data, in the sessions or in the user index', async () => {
    const { close, sid, marker, dump } = await loggedIn(backend(), AT_REST);
    try {
      expect(dump.records).toHaveLength(1);
      expect(dump.records[0]!.payload).toMatch(/^sse1\./);
      expect(dump.text.includes(sid)).toBe(false);
      expect(dump.text.includes(marker)).toBe(false);
    } finally {
      await close();
    }
  });

  it('without them, the same dump holds both the session id and the session data, and the key in it, signed, opens the session', async () => {
    const { close, app, sid, marker, dump } = await loggedIn(backend(), { userOf });
    try {
      expect(dump.text.includes(sid)).toBe(true);
      expect(dump.text.includes(marker)).toBe(true);
      expect(dump.records.map((record) => record.storageId)).toEqual([sid]);
      expect((await new Browser(signedCookie(sid)).me(app)).user).toBe(marker);
    } finally {
      await close();
    }
  });

  it('with hashIds, the storage id from the dump, signed with the app secret as a cookie, opens a fresh empty session; the real cookie still opens the logged-in one', async () => {
    const { close, app, browser, marker, dump } = await loggedIn(backend(), AT_REST);
    try {
      expect(dump.records).toHaveLength(1);
      const { storageId } = dump.records[0]!;
      expect(dump.text.includes(storageId)).toBe(true);
      const thief = await new Browser(signedCookie(storageId)).me(app);
      expect(thief).toMatchObject({ status: 200, user: undefined });
      expect(thief.id).not.toBe(storageId);
      expect(thief.text.includes(marker)).toBe(false);
      expect(await browser.me(app)).toMatchObject({ status: 200, user: marker });
    } finally {
      await close();
    }
  });
});
