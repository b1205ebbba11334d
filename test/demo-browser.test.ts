import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { CHROMIUM_PATH, describeInChromium } from './support/chromium';
import { startDemoServer, type DemoServer } from './support/demo-server';

/** Device B's User-Agent: a phone, so the two devices differ in the panel as they would in life. */
const PHONE_USER_AGENT = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36';

describeInChromium('the demo account panel in headless chromium, one user on two devices', () => {
  let tmpDir: string;
  let server: DemoServer;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'session-stores-demo-browser-'));
    const { chromium } = await import('playwright-core');
    [server, browser] = await Promise.all([
      startDemoServer({ STORE: 'sqlite', SQLITE_FILE: path.join(tmpDir, 'sessions.db') }),
      chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: ['--no-sandbox'] }),
    ]);
  }, 30_000);

  afterAll(async () => {
    await Promise.all(contexts.map((context) => context.close()));
    await browser?.close();
    await server?.stop();
    fs.rmSync(tmpDir, { recursive: true, force: true });
  });

  /** A device: a browser context of its own, so its own cookie jar, with the demo's home page open. */
  async function device(userAgent?: string): Promise<Page> {
    const context = await browser.newContext(userAgent === undefined ? {} : { userAgent });
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(server.url);
    return page;
  }

  async function logIn(page: Page, name: string): Promise<void> {
    await page.goto(server.url);
    await page.fill('input[name="name"]', name);
    await Promise.all([page.waitForURL(`${server.url}/`), page.click('text=Log in')]);
    expect(await page.textContent('#user')).toBe(name);
  }

  /** The account panel as the page shows it: each row's device, and whether it is marked as this device. */
  async function rowsOf(page: Page): Promise<Array<{ device: string; thisDevice: boolean }>> {
    await page.goto(server.url);
    return page.$$eval('#sessions tr.session', (rows) =>
      rows.map((row) => ({ device: row.querySelector('.device')?.textContent ?? '', thisDevice: row.textContent?.includes('this device') === true })),
    );
  }

  async function loggedOut(page: Page): Promise<boolean> {
    await page.goto(server.url);
    return (await page.locator('text=Not logged in.').count()) === 1;
  }

  it('lists both sessions with A marked; "log out everywhere else" and "log out this one" end B and keep A; a forged id ends nothing', async () => {
    const chromeMajor = browser.version().split('.')[0];
    const [a, b] = [await device(), await device(PHONE_USER_AGENT)];
    await logIn(a, 'Ada');
    await logIn(b, 'Ada');

    expect(await rowsOf(a)).toEqual([
      { device: `Headless Chrome ${chromeMajor} on Linux`, thisDevice: true },
      { device: 'Chrome 126 on Android', thisDevice: false },
    ]);
    expect(await a.locator('tr.session[data-current] button').count()).toBe(0);

    await Promise.all([a.waitForURL(/\?ended=1$/), a.click('text=Log out everywhere else')]);
    expect(await a.textContent('#ended')).toBe('Logged out 1 other session.');
    expect(await loggedOut(b)).toBe(true);
    expect(await loggedOut(a)).toBe(false);
    expect(await rowsOf(a)).toEqual([{ device: `Headless Chrome ${chromeMajor} on Linux`, thisDevice: true }]);

    await logIn(b, 'Ada');
    expect(await rowsOf(a)).toHaveLength(2);
    await Promise.all([a.waitForURL(/\?ended=1$/), a.locator('tr.session', { hasText: 'Android' }).locator('text=Log out this one').click()]);
    expect(await loggedOut(b)).toBe(true);
    expect(await loggedOut(a)).toBe(false);

    const grace = await device();
    await logIn(grace, 'Grace');
    const graceSid = (await grace.textContent('#sid'))!;
    // Without hashIds a listed id is the session id, and the form's handle its SHA-256: both forged from Ada's device.
    for (const session of [createHash('sha256').update(graceSid).digest('base64url'), graceSid]) {
      const forged = await a.request.post(`${server.url}/logout-session`, { form: { session }, maxRedirects: 0 });
      expect(forged.status()).toBe(403);
      expect(await forged.text()).toBe('That session is not one of yours, or it has ended already.');
    }
    expect(await loggedOut(grace)).toBe(false);
    expect(await rowsOf(grace)).toEqual([{ device: `Headless Chrome ${chromeMajor} on Linux`, thisDevice: true }]);
  }, 30_000);
});
