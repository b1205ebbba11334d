import { once } from 'node:events';
import express from 'express';
import session from 'express-session';
import { Redis } from 'ioredis';
import request from 'supertest';
import { describeWithRedisServers, startRedisServer, type ThrowawayRedis } from '../../test/support/redis-servers';
import { recordProcessErrors } from '../../test/support/process-errors';
import { aSession } from '../../test/support/sessions';
import { timed } from '../../test/support/timed';
import { RedisStore } from './index';

const CONTRACT_BOUND_MS = 5000;


function makeApp(store: RedisStore): express.Express {
  const app = express();
  app.use(session({ store, secret: 'outage', resave: false, saveUninitialized: false }));
  app.post('/login', (req, res) => {
    (req.session as unknown as { user: string }).user = 'ada';
    res.sendStatus(204);
  });
  app.get('/', (req, res) => {
    res.json({ user: (req.session as unknown as { user?: string } | undefined)?.user ?? null });
  });
  app.use((_error: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.sendStatus(500);
  });
  return app;
}

describeWithRedisServers('RedisStore while Redis is down, with ioredis default settings', () => {
  let server: ThrowawayRedis;
  let client: Redis;
  let callerStore: RedisStore;
  let ownStore: RedisStore;
  const events: string[] = [];
  let processErrors: ReturnType<typeof recordProcessErrors>;
  let consoleError: jest.SpyInstance;
  let app: express.Express;
  let cookie: string[];

  beforeAll(async () => {
    processErrors = recordProcessErrors();
    // A caller's client without an 'error' listener makes ioredis print each reconnect failure.
    consoleError = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    server = await startRedisServer();
    client = new Redis(server.url);
    callerStore = new RedisStore({ client, prefix: 'outage:caller:' });
    ownStore = new RedisStore({ url: server.url, prefix: 'outage:own:' });
    for (const [name, store] of [['caller', callerStore], ['own', ownStore]] as const) {
      store.on('disconnect', () => events.push(`${name}:disconnect`));
      store.on('connect', () => events.push(`${name}:connect`));
    }
    await callerStore.set('before', aSession({ user: 'ada' }));
    await ownStore.set('before', aSession({ user: 'ada' }));
    app = makeApp(ownStore);
    const login = await request(app).post('/login');
    cookie = login.headers['set-cookie'] as unknown as string[];
    expect((await request(app).get('/').set('Cookie', cookie)).body).toEqual({ user: 'ada' });
  }, 30_000);

  afterAll(async () => {
    await callerStore?.close();
    await ownStore?.close();
    client?.disconnect();
    await server?.destroy();
    consoleError.mockRestore();
    processErrors?.stop();
  }, 30_000);

  it('emits disconnect from both stores when the server stops', async () => {
    const disconnected = Promise.all([once(callerStore, 'disconnect'), once(ownStore, 'disconnect')]);
    await server.stop();
    await disconnected;
    expect(events).toEqual(expect.arrayContaining(['caller:disconnect', 'own:disconnect']));
  });

  it('fails every call within 5 s with a SessionStoreError', async () => {
    const calls = [callerStore, ownStore].flatMap((store): Promise<unknown>[] => [
      store.get('before'),
      store.set('other', aSession({ user: 'ada' })),
      store.touch('before', aSession({ user: 'ada' })),
      store.destroy('before'),
      store.all(),
      store.ids(),
      store.length(),
      store.clear(),
    ]);
    const outcomes = await Promise.all(calls.map((call) => timed(call)));
    for (const { ms, error } of outcomes) {
      expect(error).toMatchObject({ name: 'SessionStoreError', code: expect.stringMatching(/^ERR_SESSION_(TIMEOUT|BACKEND|UNAVAILABLE)$/) });
      expect(ms).toBeLessThan(CONTRACT_BOUND_MS);
    }
  }, 20_000);

  it('calls back with an error within 5 s when used through callbacks', async () => {
    const started = Date.now();
    const error = await new Promise((resolve) => callerStore.get('before', (err) => resolve(err)));
    expect(error).toMatchObject({ name: 'SessionStoreError' });
    expect(Date.now() - started).toBeLessThan(CONTRACT_BOUND_MS);
  }, 20_000);

  it('lets an express-session app answer a returning user within 5 s, with no session', async () => {
    const started = Date.now();
    const response = await request(app).get('/').set('Cookie', cookie).timeout(CONTRACT_BOUND_MS);
    expect(Date.now() - started).toBeLessThan(CONTRACT_BOUND_MS);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ user: null });
  }, 20_000);

  it('lets an app that missed the disconnect event answer within 5 s, with an error', async () => {
    const started = Date.now();
    const response = await request(makeApp(ownStore)).get('/').set('Cookie', cookie).timeout(CONTRACT_BOUND_MS);
    expect(Date.now() - started).toBeLessThan(CONTRACT_BOUND_MS);
    expect(response.status).toBe(500);
  }, 20_000);

  it('emits connect and works again once the server is back, without a restart', async () => {
    const connected = Promise.all([once(callerStore, 'connect'), once(ownStore, 'connect')]);
    await server.start();
    await connected;
    for (const store of [callerStore, ownStore]) {
      await store.set('after', aSession({ user: 'ada' }));
      expect(await store.get('after')).toMatchObject({ user: 'ada' });
      await store.touch('after', aSession({ user: 'ada' }));
      expect(await store.ids()).toEqual(['after']);
    }
  }, 30_000);

  it('caused no unhandled rejection and no uncaught exception', () => {
    expect(processErrors.seen).toEqual([]);
  });
});
