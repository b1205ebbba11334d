import { Module } from 'node:module';
import path from 'node:path';
import type { Store } from 'express-session';
import { SECRET, destroySessionsOf, supertest, type AppOptions, type Framework, type HttpApp } from './http-app';

/** The parts of fastify the app uses, typed here so the published suite needs no fastify types. */
interface FastifyApp {
  register(plugin: unknown, options?: object): PromiseLike<unknown>;
  get(route: string, handler: (request: FastifyRequest) => Promise<unknown>): void;
  post(route: string, handler: (request: FastifyRequest) => Promise<unknown>): void;
  setErrorHandler(handler: (error: Error, request: unknown, reply: { status(code: number): { send(body: unknown): void } }) => void): void;
  ready(): PromiseLike<unknown>;
  close(): PromiseLike<unknown>;
  server: import('node:http').Server;
}

/** @fastify/session's Session: the data are its own properties, beside `cookie`. */
interface FastifySession extends Record<string, unknown> {
  readonly sessionId: string;
  cookie: { originalMaxAge: number | null; expires: Date | null };
  regenerate(): Promise<void>;
  destroy(): Promise<void>;
  save(): Promise<void>;
}

interface FastifyRequest {
  body?: { user?: unknown } & Record<string, unknown>;
  session: FastifySession;
}

// fastify and its plugins load when a fastify case runs, so nothing else needs them installed.
const loadFastify = () => require('fastify') as (options: object) => FastifyApp;
const loadSession = () => require('@fastify/session') as unknown;

/**
 * @fastify/cookie as Node itself loads it: its plugin brings in the ESM-only `cookie` package with
 * import(), which a test runner's module sandbox (jest's, without --experimental-vm-modules) refuses.
 */
function loadCookiePlugin(): unknown {
  const file = require.resolve('@fastify/cookie');
  return new Module(file).require(file);
}

type Unsign = (value: string, secret: string) => { valid: boolean; value: string | null };
let unsignWith: Unsign | undefined;

/** The signer @fastify/session signs with: the one of the @fastify/cookie next to it. */
function cookieUnsign(): Unsign {
  unsignWith ??= (require(require.resolve('@fastify/cookie', { paths: [path.dirname(require.resolve('@fastify/session'))] })) as { unsign: Unsign })
    .unsign;
  return unsignWith;
}

/** The session data without its cookie, as the app sees it. */
function dataOf(session: FastifySession): Record<string, unknown> {
  const { cookie: _cookie, ...data } = JSON.parse(JSON.stringify(session)) as Record<string, unknown>;
  return data;
}

function readBack(store: Store, sid: string): Promise<unknown> {
  return new Promise((resolve, reject) => store.get(sid, (error, stored) => (error ? reject(error) : resolve(stored ?? null))));
}

/** The same routes as the express app's, on fastify with @fastify/cookie and @fastify/session. */
async function build(store: Store, options: AppOptions): Promise<HttpApp> {
  const { trustProxy, base = '/', name, secret = SECRET, cookie, resave, proxy, hold = async () => undefined, ...sessionOptions } = options;
  if (resave !== undefined || proxy !== undefined) throw new Error(`@fastify/session has no ${resave !== undefined ? 'resave' : 'proxy'} option`);
  const app = loadFastify()({ trustProxy: trustProxy === true });
  await app.register(loadCookiePlugin());
  await app.register(loadSession(), {
    store,
    secret,
    ...(name !== undefined && { cookieName: name }),
    // As the express app: no session stored until a request changes it; cookie.secure defaults to true in @fastify/session.
    saveUninitialized: false,
    ...sessionOptions,
    cookie: { secure: false, ...cookie },
  });
  await app.register(
    async (routes: FastifyApp) => {
      routes.post('/login', async (request) => {
        request.session.user = request.body?.user ?? { name: 'ana' };
        return { id: request.session.sessionId };
      });
      routes.post('/data', async (request) => {
        request.session.data = request.body;
        return { id: request.session.sessionId };
      });
      routes.get('/me', async (request) => ({
        id: request.session.sessionId,
        data: dataOf(request.session),
        cookie: { originalMaxAge: request.session.cookie.originalMaxAge, expires: request.session.cookie.expires ?? null },
      }));
      routes.get('/noop', async (request) => ({ id: request.session.sessionId }));
      routes.post('/regenerate', async (request) => {
        await request.session.regenerate();
        // regenerate() puts a new Session on the request.
        request.session.user = { name: 'regenerated' };
        return { id: request.session.sessionId };
      });
      routes.post('/logout', async (request) => {
        await request.session.destroy();
        return { ok: true };
      });
      routes.post('/slow', async (request) => {
        request.session.cart = ['added by a slow request'];
        await hold();
        return { id: request.session.sessionId };
      });
      routes.post('/logout-everywhere-else', async (request) => {
        const user = (request.session.user as { name?: unknown } | undefined)?.name;
        return { destroyed: await destroySessionsOf(store, user, request.session.sessionId) };
      });
      routes.post('/save', async (request) => {
        request.session.saved = 'explicitly';
        await request.session.save();
        return { stored: await readBack(store, request.session.sessionId) };
      });
    },
    { prefix: base === '/' ? '' : base },
  );
  app.setErrorHandler((error, _request, reply) => reply.status(500).send({ error: error.message }));
  await app.ready();
  return { request: () => supertest(app.server), close: async () => void (await app.close()) };
}

export const fastify: Framework = {
  name: 'fastify',
  label: '@fastify/session',
  idPrefix: 'fastify-',
  packages: ['fastify', '@fastify/cookie', '@fastify/session', 'supertest'],
  optional: true,
  cookieName: 'sessionId',
  lacks: {
    touch: '@fastify/session never calls touch(): it saves an unchanged session again with set() when rolling (its default), and writes nothing otherwise',
    proxyOption: "@fastify/session has no proxy option: fastify's own trustProxy decides whether a request came over https",
  },
  build,
  unsign(value, secret) {
    const signed = cookieUnsign()(decodeURIComponent(value), secret);
    return signed.valid && signed.value !== null ? signed.value : false;
  },
};
