import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { createApp, userOf } from '../demo/app';
import type { SessionStore } from '../shared';
import { MemoryStore } from '../stores/memory';
import { RedisStore } from '../stores/redis';
import { SqliteStore } from '../stores/sqlite';
import { describeBackend } from './support/backends';
import { startDemoServer, type DemoServer } from './support/demo-server';
import { describeWithRedisServers, startRedisServer, type ThrowawayRedis } from './support/redis-servers';

const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'session-stores-demo-'));
afterAll(() => fs.rmSync(tmpDir, { recursive: true, force: true }));

const STORES: Array<[string, (options?: { hashIds?: boolean; encryptionKeys?: Buffer[] }) => SessionStore]> = [
  ['MemoryStore', (options) => new MemoryStore({ userOf, ...options })],
  ['SqliteStore', (options) => new SqliteStore({ filename: path.join(tmpDir, `${Math.random().toString(36).slice(2)}.db`), userOf, ...options })],
];

const field = (html: string, id: string) => html.match(new RegExp(`id="${id}"[^>]*>([^<]*)<`))?.[1];

describe.each(STORES)('the demo app on %s', (_name, makeStore) => {
  let store: SessionStore;
  let agent: ReturnType<typeof request.agent>;

  beforeEach(() => {
    store = makeStore();
    agent = request.agent(createApp(store));
  });
  afterEach(() => store.close());

  const home = async () => {
    const response = await agent.get('/').expect(200);
    return { html: response.text, visits: Number(field(response.text, 'visits')), sid: field(response.text, 'sid')! };
  };

  it('counts visits across requests that carry the session cookie', async () => {
    expect((await home()).visits).toBe(1);
    expect((await home()).visits).toBe(2);
    expect((await home()).visits).toBe(3);
  });

  it('starts a new count for a request without the cookie', async () => {
    await home();
    const response = await request(createApp(store)).get('/').expect(200);
    expect(field(response.text, 'visits')).toBe('1');
  });

  it('shows the name given at login, escaped', async () => {
    await agent.post('/login').type('form').send({ name: 'Ada <Lovelace>' }).expect(303);
    expect(field((await home()).html, 'user')).toBe('Ada &#60;Lovelace&#62;');
  });

  it('gives the session a new id at login, so an id known before it is worth nothing after', async () => {
    const before = await home();
    await agent.post('/login').type('form').send({ name: 'Ada' }).expect(303);
    const after = await home();
    expect(after.sid).not.toBe(before.sid);
    expect(after.visits).toBe(before.visits + 1);
    expect(await store.get(before.sid)).toBeNull();
  });

  it('gives the session a new id at regenerate, keeping its data and dropping the old id', async () => {
    await agent.post('/login').type('form').send({ name: 'Ada' }).expect(303);
    const before = await home();
    await agent.post('/regenerate').expect(303);
    const after = await home();
    expect(after.sid).not.toBe(before.sid);
    expect(after.visits).toBe(before.visits + 1);
    expect(field(after.html, 'user')).toBe('Ada');
    expect(await store.get(before.sid)).toBeNull();
  });

  it('destroys the session at logout and clears its cookie', async () => {
    await agent.post('/login').type('form').send({ name: 'Ada' }).expect(303);
    const { sid } = await home();
    const response = await agent.post('/logout').expect(303);
    expect(response.headers['set-cookie']?.[0]).toMatch(/^connect\.sid=;.*Expires=Thu, 01 Jan 1970/);
    expect(await store.get(sid)).toBeNull();
    const next = await home();
    expect(next.html).toContain('Not logged in.');
    expect(next.visits).toBe(1);
  });

  it('shows when the session expires', async () => {
    const { html } = await home();
    const expires = Date.parse(html.match(/datetime="([^"]+)"/)![1]);
    expect(expires - Date.now()).toBeGreaterThan(29 * 60 * 1000);
    expect(expires - Date.now()).toBeLessThanOrEqual(30 * 60 * 1000);
  });
});

/** The account panel's rows: each session's device, whether it is this device, and the handle its "log out this one" form posts. */
const sessionRows = (html: string) =>
  [...html.matchAll(/<tr class="session"( data-current="true")?><td class="device">([^<]*)<\/td>[\s\S]*?<\/tr>/g)].map(([row, current, device]) => ({
    device,
    current: current !== undefined,
    handle: row.match(/name="session" value="([^"]*)"/)?.[1],
  }));

describe.each(STORES)('the demo account panel on %s', (_name, makeStore) => {
  let store: SessionStore;
  let app: ReturnType<typeof createApp>;
  afterEach(() => store.close());

  const device = async (name: string, userAgent: string) => {
    const agent = request.agent(app);
    await agent.post('/login').set('User-Agent', userAgent).type('form').send({ name }).expect(303);
    return agent;
  };
  const rowsOf = async (agent: ReturnType<typeof request.agent>) => sessionRows((await agent.get('/').expect(200)).text);

  describe.each([['without hashIds', {}], ['with hashIds', { hashIds: true }]])('%s', (_label, options) => {
    beforeEach(() => {
      store = makeStore(options);
      app = createApp(store);
    });

    it("lists the user's sessions with their devices, this device first and marked, and no other user's", async () => {
      const phone = await device('Ada', 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36');
      await device('Ada', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0');
      await device('Grace', 'curl/8.5.0');
      expect(await rowsOf(phone)).toEqual([
        { device: 'Chrome 126 on Android', current: true, handle: undefined },
        { device: 'Firefox 128 on Windows', current: false, handle: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) },
      ]);
    });

    it('logs out the other session the user picks, and only it', async () => {
      const laptop = await device('Ada', 'Firefox/128.0');
      const phone = await device('Ada', 'Chrome/126.0');
      const [, other] = await rowsOf(laptop);
      await laptop.post('/logout-session').type('form').send({ session: other.handle }).expect(303).expect('Location', '/?ended=1');
      expect((await phone.get('/').expect(200)).text).toContain('Not logged in.');
      expect(await rowsOf(laptop)).toEqual([{ device: 'Firefox 128', current: true, handle: undefined }]);
    });

    it("refuses to log out a session of another user, named by its handle or by its id, and ends nothing", async () => {
      const ada = await device('Ada', 'Firefox/128.0');
      await device('Ada', 'Chrome/126.0');
      const grace = await device('Grace', 'Safari');
      const [, adaOther] = await rowsOf(ada);
      const adaSid = field((await ada.get('/').expect(200)).text, 'sid')!;
      for (const session of [adaOther.handle, adaSid, store.listedIdOf(adaSid)]) {
        const refused = await grace.post('/logout-session').type('form').send({ session }).expect(403);
        expect(refused.text).toBe('That session is not one of yours, or it has ended already.');
      }
      await request(app).post('/logout-session').type('form').send({ session: adaOther.handle }).expect(403);
      expect(await store.sessionsOf('Ada')).toHaveLength(2);
    });

    it('logs out everywhere else, keeps this device, and says how many it ended', async () => {
      const laptop = await device('Ada', 'Firefox/128.0');
      const phone = await device('Ada', 'Chrome/126.0');
      const tablet = await device('Ada', 'Safari');
      await laptop.post('/logout-others').expect(303).expect('Location', '/?ended=2');
      const page = (await laptop.get('/?ended=2').expect(200)).text;
      expect(page).toContain('Logged out 2 other sessions.');
      expect(sessionRows(page)).toEqual([{ device: 'Firefox 128', current: true, handle: undefined }]);
      for (const agent of [phone, tablet]) expect((await agent.get('/').expect(200)).text).toContain('Not logged in.');
    });
  });

  it('escapes the device a User-Agent names', async () => {
    store = makeStore();
    app = createApp(store);
    const agent = await device('Ada', '"><script>alert(1)</script>');
    const page = (await agent.get('/').expect(200)).text;
    expect(sessionRows(page)[0].device).toBe('&#34;&#62;&#60;script&#62;alert(1)&#60;/script&#62;');
    expect(page).not.toContain('<script>');
  });

  it("logs this device out, as Log out does, when the form names this device's own session", async () => {
    store = makeStore();
    app = createApp(store);
    const agent = await device('Ada', 'Firefox/128.0');
    const sid = field((await agent.get('/').expect(200)).text, 'sid')!;
    const ownHandle = createHash('sha256').update(store.listedIdOf(sid)).digest('base64url');
    await agent.post('/logout-session').type('form').send({ session: ownHandle }).expect(303).expect('Location', '/');
    expect(await store.get(sid)).toBeNull();
    expect((await agent.get('/').expect(200)).text).toContain('Not logged in.');
  });
});

/** The storage key and stored value the page shows, with entities decoded. */
const storedOnPage = (html: string) => {
  const decoded = (id: string) => field(html, id)?.replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code)));
  return { sid: field(html, 'sid')!, key: decoded('stored-key'), value: decoded('stored-value'), note: html.match(/<p id="at-rest">([\s\S]*?)<\/p>/)?.[1] };
};

describe.each(STORES)('the demo page on %s shows what the store holds', (_name, makeStore) => {
  let store: SessionStore | undefined;
  afterEach(() => store?.close());

  it('with hashIds and encryptionKeys: a hashed storage key and an sse1. envelope, never the session id or its data', async () => {
    store = makeStore({ hashIds: true, encryptionKeys: [randomBytes(32)] });
    const agent = request.agent(createApp(store));
    await agent.post('/login').type('form').send({ name: 'Ada Lovelace' }).expect(303);
    const { sid, key, value, note } = storedOnPage((await agent.get('/').expect(200)).text);
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(key).toBe(createHash('sha256').update(sid).digest('base64url'));
    expect(value).toMatch(/^sse1\.[A-Za-z0-9_-]{8}\.[A-Za-z0-9_-]+$/);
    expect(`${key} ${value}`).not.toContain(sid);
    expect(value).not.toContain('Ada');
    expect(note).toMatch(/SHA-256 of the session id[\s\S]*encrypted with AES-256-GCM/);
  });

  it('without them: the session id as the key and the session as JSON, so the panel shows what the options change', async () => {
    store = makeStore({});
    const agent = request.agent(createApp(store));
    await agent.post('/login').type('form').send({ name: 'Ada Lovelace' }).expect(303);
    const { sid, key, value, note } = storedOnPage((await agent.get('/').expect(200)).text);
    expect(key).toBe(sid);
    expect(JSON.parse(value!)).toMatchObject({ user: 'Ada Lovelace', visits: 1 });
    expect(note).toMatch(/under the session id itself[\s\S]*in plaintext/);
  });
});

describeWithRedisServers('the demo app on a backend that dies', () => {
  let server: ThrowawayRedis;
  let store: RedisStore;
  let logged: string[];
  let consoleError: jest.SpyInstance;

  beforeEach(async () => {
    server = await startRedisServer();
    store = new RedisStore({ url: server.url, operationTimeout: 500 });
    logged = [];
    consoleError = jest.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void logged.push(args.map(String).join(' ')));
  }, 30_000);
  afterEach(async () => {
    consoleError.mockRestore();
    await store.close();
    await server.destroy();
  });

  const expectUnavailablePage = (response: request.Response) => {
    expect(response.status).toBe(503);
    expect(response.headers['content-type']).toMatch(/^text\/plain/);
    expect(response.text).toBe('Sessions are unavailable: the session store does not answer. Try again in a moment.');
  };

  it('answers 503 with a short text, to a visitor with a session and to a new one, and logs no ERR_HTTP_HEADERS_SENT', async () => {
    const app = createApp(store);
    const agent = request.agent(app);
    expect((await agent.get('/')).status).toBe(200);
    await server.stop();
    expectUnavailablePage(await agent.get('/'));
    expectUnavailablePage(await request(app).get('/'));
    expectUnavailablePage(await agent.post('/login').type('form').send({ name: 'Ada' }));
    expect(logged.join('\n')).not.toMatch(/ERR_HTTP_HEADERS_SENT|TypeError/);
  }, 30_000);

  it('serves again once the backend is back', async () => {
    const agent = request.agent(createApp(store));
    await server.stop();
    expectUnavailablePage(await agent.get('/'));
    const back = once(store, 'connect');
    await server.start();
    await back;
    expect((await agent.get('/')).status).toBe(200);
  }, 30_000);
});

describe('the demo server', () => {
  it('exits 1 with a clear message when its port is taken', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as net.AddressInfo;
    try {
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, '../demo/server.ts')], {
        env: { ...process.env, STORE: 'memory', PORT: String(port) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      expect({ code, stdout }).toEqual({ code: 1, stdout: '' });
      expect(stderr).toMatch(new RegExp(`^\\[demo\\] cannot listen on port ${port}: listen EADDRINUSE: address already in use \\S*:${port}\\n$`));
    } finally {
      taken.close();
    }
  }, 30_000);
});

describe('the demo server with HASH_IDS and ENCRYPTION_KEYS', () => {
  it('stores sessions under hashed keys, encrypted under the first key, and says so in its start-up line and on the page', async () => {
    const [newest, older] = [randomBytes(32).toString('base64'), randomBytes(32).toString('hex')];
    const server = await startDemoServer({ STORE: 'memory', HASH_IDS: '1', ENCRYPTION_KEYS: `${newest},${older}` });
    try {
      expect(server.line).toContain(`http://localhost:${server.port} (STORE=memory, sessions in this process; hashIds on, encryptionKeys: 2 keys)`);
      expect(server.line).not.toContain(newest);
      const { sid, key, value } = storedOnPage((await request(server.url).get('/').expect(200)).text);
      expect(key).toBe(createHash('sha256').update(sid).digest('base64url'));
      expect(value).toMatch(/^sse1\./);
    } finally {
      await server.stop();
    }
  }, 30_000);

  it('prints its usage, with both variables, for --help', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, '../demo/server.ts'), '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    expect(stdout).toMatch(/^usage: npm start/);
    expect(stdout).toMatch(/HASH_IDS=1\|migrate/);
    expect(stdout).toMatch(/ENCRYPTION_KEYS=<key>\[,<older key>\.\.\.\]/);
  }, 30_000);
});

describeBackend('redis', 'the demo server with STORE=redis', (url) => {
  it('prints its start-up line without the password of REDIS_URL', async () => {
    const withPassword = new URL(url);
    withPassword.username = 'default';
    withPassword.password = 'not-the-password-s3cret';
    const server = await startDemoServer({ STORE: 'redis', REDIS_URL: withPassword.toString() });
    try {
      expect(server.line).toContain(`http://localhost:${server.port} (STORE=redis, sessions in redis://default:***@`);
      expect(server.line).not.toContain('s3cret');
    } finally {
      await server.stop();
    }
  }, 30_000);
});

describeBackend('mysql', 'the demo server with STORE=mysql', (url) => {
  it('keeps a logged-in visitor across requests, in a database of its own that holds the session', async () => {
    const { createScratchDatabase } = await import('../stores/mysql/fixtures/factory');
    const database = await createScratchDatabase(url, 'demo');
    let server: DemoServer | undefined;
    try {
      server = await startDemoServer({ STORE: 'mysql', MYSQL_URL: database.url });
      expect(server.line).toContain(`http://localhost:${server.port} (STORE=mysql, sessions in ${database.url}`);
      const agent = request.agent(server.url);
      await agent.post('/login').type('form').send({ name: 'Ada' }).expect(303);
      const page = await agent.get('/').expect(200);
      expect(page.text).toContain('Ada');
      const [rows] = await database.pool.query("SELECT COUNT(*) AS n FROM express_sessions WHERE data LIKE '%\"Ada\"%'");
      expect((rows as Array<{ n: number }>)[0]!.n).toBe(1);
    } finally {
      await server?.stop();
      await database.drop();
    }
  }, 60_000);
});

describeBackend('mongo', 'the demo server with STORE=mongo', (url) => {
  it('keeps a logged-in visitor across requests, on the Mongo server the tests run on', async () => {
    let server: DemoServer | undefined;
    try {
      server = await startDemoServer({ STORE: 'mongo', MONGO_URL: `${url.replace(/\/$/, '')}/session_stores_demo_test` });
      expect(server.line).toContain(`http://localhost:${server.port} (STORE=mongo`);
      const agent = request.agent(server.url);
      await agent.post('/login').type('form').send({ name: 'Ada' }).expect(303);
      const page = await agent.get('/').expect(200);
      expect(page.text).toContain('Ada');
    } finally {
      await server?.stop();
      const { MongoClient } = await import('mongodb');
      const client = new MongoClient(url);
      await client.db('session_stores_demo_test').dropDatabase().catch(() => undefined);
      await client.close();
    }
  }, 60_000);
});
