import { randomBytes } from 'node:crypto';
import { Cipher } from '../shared/encryption';
import { SessionIds } from '../shared/ids';
import type { HttpApp } from '../conformance/cases/http-app';
import { appOn, Browser, secretMarker } from './support/browsers';
import { describeEachRawBackend, RAW_BACKENDS, type AtRestOptions, type OpenedStore, type RawBackend } from './support/raw-backends';

// Rotating encryptionKeys across restarts, over HTTP. MemoryStore is left out: its sessions end with the store, so no restart keeps any.

const [KEY_A, KEY_B] = [randomBytes(32), randomBytes(32)];
const BROWSERS = 4;
const REWRITTEN = 2;

/** The key id in an `sse1.<key id>.<body>` envelope. */
const envelopeKeyIdOf = (payload: string | undefined) => (payload === undefined ? undefined : /^sse1\.([^.]+)\./.exec(payload)?.[1]);
/** The id the store writes into every envelope sealed under `key`, as the store's own cipher derives it. */
const keyIdOf = (key: Buffer) => envelopeKeyIdOf(Cipher.of('rotation', [key])!.seal('{}', 'probe'))!;
const storageIds = new SessionIds('rotation', true);

/** One deployment: a store on the backend's scratch place with these keys, and an app on it. */
async function deploy(backend: RawBackend, options: AtRestOptions): Promise<OpenedStore & { app: HttpApp }> {
  const opened = await backend.openStore({ hashIds: true, ...options });
  return { ...opened, app: await appOn(opened.store) };
}

/** The key id of each browser's stored envelope, read from the backend's raw dump. */
async function keyIdsOf(backend: RawBackend, browsers: Browser[]): Promise<Array<string | undefined>> {
  const { records } = await backend.dump();
  return browsers.map((browser) => envelopeKeyIdOf(records.find((record) => record.storageId === storageIds.storageIdOf(browser.sid))?.payload));
}

describeEachRawBackend(RAW_BACKENDS.filter((kind) => kind.outlivesStore), (_kind, backend) => {
  const markers = Array.from({ length: BROWSERS }, secretMarker);
  let browsers: Browser[];

  /** Logs every browser in on a deployment with [A] alone, then closes it. */
  async function loggedInUnderA(): Promise<void> {
    browsers = markers.map(() => new Browser());
    const first = await deploy(backend(), { encryptionKeys: [KEY_A] });
    try {
      for (const [index, browser] of browsers.entries()) await browser.login(first.app, markers[index]!);
    } finally {
      await first.close();
    }
    expect(await keyIdsOf(backend(), browsers)).toEqual(browsers.map(() => keyIdOf(KEY_A)));
  }

  it('a restart with [B, A] serves every session saved under A; a save rewrites a session under B; a restart with [B] alone serves those and fails closed on the rest', async () => {
    await loggedInUnderA();

    const second = await deploy(backend(), { encryptionKeys: [KEY_B, KEY_A] });
    try {
      for (const [index, browser] of browsers.entries()) expect(await browser.me(second.app)).toMatchObject({ status: 200, user: markers[index] });
      // A read (and the touch after it) leaves the payload as it was saved.
      expect(await keyIdsOf(backend(), browsers)).toEqual(browsers.map(() => keyIdOf(KEY_A)));
      for (const browser of browsers.slice(0, REWRITTEN)) await browser.save(second.app);
      expect(await keyIdsOf(backend(), browsers)).toEqual(browsers.map((_, index) => keyIdOf(index < REWRITTEN ? KEY_B : KEY_A)));
    } finally {
      await second.close();
    }

    const third = await deploy(backend(), { encryptionKeys: [KEY_B] });
    try {
      for (const [index, browser] of browsers.entries()) {
        const seen = await browser.me(third.app);
        if (index < REWRITTEN) {
          expect(seen).toMatchObject({ status: 200, user: markers[index] });
        } else {
          // onCorrupt 'error', the default: get fails with ERR_SESSION_CORRUPT, express-session hands it to the app's error handler.
          expect(seen.status).toBe(500);
          expect(seen.error).toMatch(/stored session was encrypted under a key that is not in encryptionKeys/);
          expect(seen.text.includes(markers[index]!)).toBe(false);
        }
      }
      // And the record stays where it was, for someone to look at.
      expect((await keyIdsOf(backend(), browsers)).slice(REWRITTEN)).toEqual(browsers.slice(REWRITTEN).map(() => keyIdOf(KEY_A)));
    } finally {
      await third.close();
    }
  });

  it("with onCorrupt 'treat-as-missing', a session whose key was dropped opens as a fresh empty session, and its record is gone", async () => {
    await loggedInUnderA();
    const later = await deploy(backend(), { encryptionKeys: [KEY_B], onCorrupt: 'treat-as-missing' });
    try {
      for (const [index, browser] of browsers.entries()) {
        const seen = await browser.me(later.app);
        expect(seen).toMatchObject({ status: 200, user: undefined });
        expect(seen.id).not.toBe(browser.sid);
        expect(seen.text.includes(markers[index]!)).toBe(false);
      }
      expect(await keyIdsOf(backend(), browsers)).toEqual(browsers.map(() => undefined));
    } finally {
      await later.close();
    }
  });
});
