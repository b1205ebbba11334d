import type { AddressInfo } from 'node:net';
import express from 'express';
import session from 'express-session';
import { STORE_CALLS, countStatements, openContender, type AppMessage, type AppSpec, type StoreCall } from './http-contenders';
import { drive, type DriveJob } from './http-drive';
import { WindowProfile } from './http-profile';

/**
 * One contender's app, in a process of its own (started by bench/http.ts with its AppSpec as the
 * argument): express 5 and express-session with `resave: false, saveUninitialized: false`, the
 * store's get/set/touch/destroy counted. It answers `stats`, `drive` (the store driven in this
 * process, without HTTP: see http-drive.ts) and `stop` messages on the IPC channel.
 */

const DAY_MS = 24 * 60 * 60 * 1000;
const SESSION_PADDING = 'x'.repeat(700);

function send(message: AppMessage): Promise<void> {
  return new Promise((resolve) => process.send!(message, () => resolve()));
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2]!) as AppSpec;
  const profile = WindowProfile.fromEnvironment();
  const statements = spec.countQueries === undefined ? undefined : countStatements(spec.countQueries);
  const { store, close } = await openContender(spec);
  const calls: Record<StoreCall, number> = { get: 0, set: 0, touch: 0, destroy: 0 };
  const methods = store as unknown as Record<StoreCall, ((...args: unknown[]) => unknown) | undefined>;
  for (const call of STORE_CALLS) {
    const original = methods[call];
    // express-session touches only when the store has a touch: a store without one keeps not having it.
    if (typeof original !== 'function') continue;
    methods[call] = function counted(this: unknown, ...args: unknown[]) {
      calls[call]++;
      return original.apply(this, args);
    };
  }

  let requests = 0;
  const app = express();
  app.use((_req, _res, next) => {
    requests++;
    next();
  });
  app.use(session({ secret: 'session-stores-bench-http', resave: false, saveUninitialized: false, store, cookie: { maxAge: DAY_MS } }));
  const data = (req: express.Request) => req.session as unknown as Record<string, unknown>;
  app.post('/login', (req, res) => {
    Object.assign(data(req), { user: { id: requests, name: 'Ana Lima', roles: ['reader', 'editor'] }, csrfSecret: 'k3Jd9f0aQ2mPz8xW4vBn6tYc', padding: SESSION_PADDING, hits: 0 });
    res.status(204).end();
  });
  app.get('/read', (req, res) => {
    const user = data(req).user as { id: number } | undefined;
    if (user === undefined) res.status(401).end();
    else res.json({ id: user.id });
  });
  app.post('/write', (req, res) => {
    const session = data(req);
    if (session.user === undefined) {
      res.status(401).end();
      return;
    }
    session.hits = (session.hits as number) + 1;
    res.json({ hits: session.hits });
  });

  // A store's error is the response's status (the load generator counts it), not a stack trace per request on the bench's stderr.
  app.use((_error: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status(500).end();
  });

  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject));
  process.on('message', (message: { type: 'stats' | 'stop' } | { type: 'profile'; file: string } | DriveJob) => {
    if (message.type === 'profile') {
      profile!.start(message.file, requests).then(
        () => send({ type: 'profiling' }),
        (error: unknown) => send({ type: 'error', message: `profiling ${spec.name}: ${messageOf(error)}` }),
      );
      return;
    }
    if (message.type === 'drive') {
      void drive(store, message).then((result) => {
        requests += result.requests + result.errors;
        return send(result);
      });
      return;
    }
    if (message.type === 'stats') {
      const cpu = process.cpuUsage();
      void send({ type: 'stats', requests, calls: { ...calls }, ...(statements && { statements: statements() }), cpuUs: cpu.user + cpu.system });
      return;
    }
    server.closeAllConnections();
    server.close();
    // The bench reads no message once it has asked an app to stop: a profile that was not written says so on stderr.
    const profiled = profile?.stop(requests).catch((error: unknown) => console.error(`the profile of ${spec.name} was not written: ${messageOf(error)}`));
    Promise.resolve(profiled)
      .then(close)
      .then(
        () => send({ type: 'stopped' }).then(() => process.exit(0)),
        (error: unknown) => send({ type: 'error', message: `closing ${spec.name}: ${messageOf(error)}` }).then(() => process.exit(1)),
      );
  });
  // An app whose bench is gone has no one to answer: it leaves rather than linger.
  process.once('disconnect', () => process.exit(1));
  await send({ type: 'ready', port: (server.address() as AddressInfo).port, pid: process.pid });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

main().catch((error: unknown) => {
  void send({ type: 'error', message: messageOf(error) }).then(() => process.exit(1));
});
