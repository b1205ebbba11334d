/**
 * Stops a store's server while clients log in and reload through express-session and through
 * @fastify/session, starts it again, and reports how the requests fared: how long any request that
 * began after the first failure waited, how soon each framework served sessions once the server
 * answered, which logins acknowledged a write that was then lost, and what the process saw of
 * unhandled rejections and uncaught exceptions. Run as `node --import tsx <this file> <kind>` (redis, postgres, mongo, mysql)
 * it starts a throwaway server and prints the report as one JSON line: in a process of its own,
 * the process hooks are the real ones and @fastify/cookie can import its ESM dependency.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { Store } from 'express-session';
import { recordProcessErrors } from './process-errors';
import { postgresBinDir, startThrowawayPostgres } from './postgres-servers';
import { startThrowawayMariaDb } from './mariadb-servers';
import { startMongoServer } from './mongo-servers';
import { startRedisServer } from './redis-servers';

export interface OutageTarget {
  store: Store;
  /** Stops the server; resolves once it is down. */
  stop(): Promise<void>;
  /** Starts the server again; resolves once it answers. */
  start(): Promise<void>;
}

export interface FrameworkOutcome {
  requests: number;
  /** Requests that began after the first failure and ended before the server answered again. */
  duringOutage: number;
  /** The longest of those, in ms. */
  slowestDuringOutageMs: number;
  /** From the server answering again to the first login that stored its session, in ms. */
  recoveredAfterMs: number;
  /** HTTP statuses seen while the server was down, with their counts. */
  outageStatuses: Record<string, number>;
}

export interface OutageReport {
  express: FrameworkOutcome;
  fastify: FrameworkOutcome;
  /**
   * Logins answered 200 (their session saved) whose session the store no longer holds, neither as
   * saved nor as a later login of the same client that failed but may have been written anyway.
   */
  lost: string[];
  acknowledged: number;
  processErrors: string[];
}

interface App {
  /** `http://127.0.0.1:<port>` */
  base: string;
  close(): Promise<void>;
}

const SECRET = 'outage-under-load secret, 32+ characters long';
const CLIENTS_PER_FRAMEWORK = 8;
/** Between two requests of a client, as a user reads a page: so not every client has a request in flight when the server stops. */
const THINK_MS = 25;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function listening(server: Server): Promise<string> {
  return new Promise((resolve) => server.once('listening', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

/** express-session: login saves explicitly and answers only once the store acknowledged the write. */
async function expressApp(store: Store): Promise<App> {
  const express = (await import('express')).default;
  const session = (await import('express-session')).default;
  const app = express();
  app.use(session({ store, secret: SECRET, resave: false, saveUninitialized: false }));
  app.post('/login/:user', (req, res, next) => {
    if (!req.session) return void res.sendStatus(503);
    (req.session as unknown as { user: string }).user = req.params.user;
    req.session.save((error) => (error ? next(error) : res.json({ sid: req.sessionID })));
  });
  app.get('/me', (req, res) => {
    res.json({ user: (req.session as unknown as { user?: string } | undefined)?.user ?? null });
  });
  app.use((_error: unknown, _req: unknown, res: { headersSent: boolean; sendStatus(code: number): void }, _next: unknown) => {
    if (!res.headersSent) res.sendStatus(500);
  });
  const server = app.listen(0, '127.0.0.1');
  const base = await listening(server);
  return { base, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** @fastify/session, which does not listen to the store's events: every request calls the store. */
async function fastifyApp(store: Store): Promise<App> {
  const Fastify = (await import('fastify')).default;
  const app = Fastify();
  await app.register((await import('@fastify/cookie')).default);
  await app.register((await import('@fastify/session')).default, {
    store: store as never,
    secret: SECRET,
    saveUninitialized: false,
    cookie: { secure: false },
  });
  app.post<{ Params: { user: string } }>('/login/:user', async (request) => {
    request.session.set('user' as never, request.params.user as never);
    await request.session.save();
    return { sid: request.session.sessionId };
  });
  app.get('/me', async (request) => ({ user: (request.session.get('user' as never) as string | undefined) ?? null }));
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  return { base: base.replace('localhost', '127.0.0.1'), close: () => app.close() };
}

interface Request {
  login: boolean;
  startedAt: number;
  endedAt: number;
  status: number | 'network error';
}

/** Each client logs in, then reloads twice, over and over. */
async function client(
  app: App,
  name: string,
  log: Request[],
  acknowledged: Map<string, string>,
  unsettled: Map<string, Set<string>>,
  running: () => boolean,
): Promise<void> {
  let cookie = '';
  let lastAcknowledged: string | undefined;
  for (let round = 0; running(); round++) {
    const user = `${name}-${round}`;
    for (const [method, path] of [['POST', `/login/${user}`], ['GET', '/me'], ['GET', '/me']] as const) {
      // A login that fails may still be stored later (a timed-out write the client sent anyway): not a loss of the one before.
      if (method === 'POST' && lastAcknowledged !== undefined) unsettled.get(lastAcknowledged)!.add(user);
      const startedAt = performance.now();
      let status: Request['status'];
      try {
        const response = await fetch(`${app.base}${path}`, { method, headers: cookie ? { cookie } : {} });
        status = response.status;
        const setCookie = response.headers.get('set-cookie');
        if (setCookie) cookie = setCookie.split(';')[0]!;
        const body = (await response.json().catch(() => undefined)) as { sid?: string } | undefined;
        if (method === 'POST' && status === 200 && body?.sid) {
          acknowledged.set(body.sid, user);
          unsettled.set(body.sid, new Set());
          lastAcknowledged = body.sid;
        }
      } catch {
        status = 'network error';
      }
      log.push({ login: method === 'POST', startedAt, endedAt: performance.now(), status });
      await pause(THINK_MS);
    }
  }
}

/** The stored session, read once the store serves again: a late failure of an earlier call may still have it refusing. */
async function settledGet(store: Store, sid: string): Promise<unknown> {
  const deadline = performance.now() + 10_000;
  for (;;) {
    const outcome = await new Promise((resolve) => store.get(sid, (error, session) => resolve(error ? error : session)));
    if ((outcome as { code?: unknown } | null)?.code !== 'ERR_SESSION_UNAVAILABLE' || performance.now() > deadline) return outcome;
    await pause(20);
  }
}

function outcomeOf(log: Request[], stoppedAt: number, answeringAt: number): FrameworkOutcome {
  const firstFailure = log.filter((r) => r.startedAt >= stoppedAt && r.status !== 200).sort((a, b) => a.endedAt - b.endedAt)[0];
  const during = firstFailure === undefined ? [] : log.filter((r) => r.startedAt >= firstFailure.endedAt && r.endedAt <= answeringAt);
  const outageStatuses: Record<string, number> = {};
  for (const r of during) outageStatuses[String(r.status)] = (outageStatuses[String(r.status)] ?? 0) + 1;
  // A login, as GET /me answers 200 without a session too.
  const recovered = log.filter((r) => r.login && r.startedAt >= answeringAt && r.status === 200).sort((a, b) => a.endedAt - b.endedAt)[0];
  return {
    requests: log.length,
    duringOutage: during.length,
    slowestDuringOutageMs: Math.round(Math.max(0, ...during.map((r) => r.endedAt - r.startedAt))),
    recoveredAfterMs: recovered === undefined ? Infinity : Math.round(recovered.endedAt - answeringAt),
    outageStatuses,
  };
}

/** Runs the load for `beforeMs`, stops the server for `outageMs`, starts it and runs `afterMs` more. */
export async function outageUnderLoad(target: OutageTarget, { beforeMs = 300, outageMs = 2500, afterMs = 800 } = {}): Promise<OutageReport> {
  const processErrors = recordProcessErrors();
  const apps = { express: await expressApp(target.store), fastify: await fastifyApp(target.store) };
  const logs: Record<keyof typeof apps, Request[]> = { express: [], fastify: [] };
  const acknowledged = new Map<string, string>();
  /** Per acknowledged sid, the logins its client tried after it, whose outcome the client does not know. */
  const unsettled = new Map<string, Set<string>>();
  let stopping = false;
  const load = (Object.keys(apps) as (keyof typeof apps)[]).flatMap((framework) =>
    Array.from({ length: CLIENTS_PER_FRAMEWORK }, (_, i) => client(apps[framework], `${framework}${i}`, logs[framework], acknowledged, unsettled, () => !stopping)),
  );
  try {
    await pause(beforeMs);
    const stoppedAt = performance.now();
    await target.stop();
    await pause(outageMs);
    await target.start();
    const answeringAt = performance.now();
    await pause(afterMs);
    stopping = true;
    await Promise.all(load);

    const lost: string[] = [];
    for (const [sid, user] of acknowledged) {
      const stored = (await settledGet(target.store, sid)) as { user?: string } | null;
      if (stored?.user !== user && !unsettled.get(sid)!.has(stored?.user ?? '')) lost.push(sid.slice(0, 6));
    }
    return {
      express: outcomeOf(logs.express, stoppedAt, answeringAt),
      fastify: outcomeOf(logs.fastify, stoppedAt, answeringAt),
      lost,
      acknowledged: acknowledged.size,
      processErrors: processErrors.seen.map(String),
    };
  } finally {
    stopping = true;
    await Promise.all(load);
    await Promise.all(Object.values(apps).map((app) => app.close()));
    processErrors.stop();
  }
}

/**
 * Well inside the outage, so that even a client whose commands wait through a reconnect (ioredis'
 * offline queue) has failed, and later requests show what follows a failure, before the server is back.
 */
export const OPERATION_TIMEOUT_MS = 1000;

/** A store on a throwaway server of each kind that can be stopped and started. */
const targets: Record<string, () => Promise<OutageTarget & { destroy(): Promise<void> }>> = {
  async redis() {
    const { RedisStore } = await import('../../stores/redis');
    // Every acknowledged write reaches the append-only file before Redis answers, so a restart keeps it.
    const server = await startRedisServer(['--appendonly', 'yes', '--appendfsync', 'always']);
    const store = new RedisStore({ url: server.url, operationTimeout: OPERATION_TIMEOUT_MS });
    return { store, stop: server.stop, start: server.start, destroy: async () => (await store.close(), await server.destroy()) };
  },
  async mongo() {
    const { MongoClient } = await import('mongodb');
    const { MongoStore } = await import('../../stores/mongo');
    // FerretDB's SQLite files (or mongod's journal) keep every acknowledged write through a restart.
    const server = await startMongoServer();
    // Server selection shorter than the outage, as an app that wants failures fast would set it.
    const client = new MongoClient(server.url, { serverSelectionTimeoutMS: 500 });
    const store = new MongoStore({ client, dbName: 'outage', operationTimeout: OPERATION_TIMEOUT_MS });
    // Killed rather than stopped: FerretDB drains its connections for seconds on SIGTERM, still answering slowly.
    return { store, stop: server.kill, start: server.start, destroy: async () => (await store.close(), await client.close(), await server.destroy()) };
  },
  async mysql() {
    const { MySqlStore } = await import('../../stores/mysql');
    const server = await startThrowawayMariaDb();
    const store = new MySqlStore({ uri: server.url, operationTimeout: OPERATION_TIMEOUT_MS, pruneInterval: 0 });
    return { store, stop: server.stop, start: server.start, destroy: async () => (await store.close(), await server.destroy()) };
  },
  async postgres() {
    const { PostgresStore } = await import('../../stores/postgres');
    const server = await startThrowawayPostgres(postgresBinDir('system') ? 'system' : 'embedded');
    const store = new PostgresStore({ connectionString: server.url, operationTimeout: OPERATION_TIMEOUT_MS, pruneInterval: 0 });
    return { store, stop: server.stop, start: server.start, destroy: async () => (await store.close(), await server.destroy()) };
  },
};

if (require.main === module) {
  const kind = process.argv[2] ?? '';
  const makeTarget = targets[kind];
  if (makeTarget === undefined) throw new Error(`usage: outage-under-load.ts ${Object.keys(targets).join('|')}`);
  void (async () => {
    const target = await makeTarget();
    try {
      console.log(JSON.stringify(await outageUnderLoad(target)));
    } finally {
      await target.destroy();
    }
  })();
}
