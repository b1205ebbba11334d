import path from 'node:path';
import type { NextFunction, Request, Response } from 'express';
import type { SessionOptions, Store } from 'express-session';
import { SECRET, destroySessionsOf, supertest, type AppOptions, type Framework, type HttpApp } from './http-app';

// express, express-session's middleware and supertest load when an HTTP case runs, so the store-level cases need none of them.
const loadExpress = () => require('express') as typeof import('express');
const loadSession = () => require('express-session') as typeof import('express-session');

type Signature = { unsign(value: string, secret: string): string | false };
let signature: Signature | undefined;

/** The cookie-signature that express-session itself signs with, so the check matches what it does. */
function cookieSignature(): Signature {
  signature ??= require(require.resolve('cookie-signature', { paths: [path.dirname(require.resolve('express-session'))] })) as Signature;
  return signature;
}

type Bag = Record<string, unknown>;
const bag = (req: Request): Bag => req.session as unknown as Bag;

/** The session data without its cookie, as the app sees it. */
function dataOf(req: Request): Bag {
  const { cookie: _cookie, ...data } = JSON.parse(JSON.stringify(req.session)) as Bag;
  return data;
}

/** A small express app on express-session and `store`, with one route per session operation. */
function build(store: Store, options: AppOptions): HttpApp {
  const { trustProxy, base = '/', hold = async () => undefined, ...sessionOptions } = options;
  const express = loadExpress();
  const session = loadSession();
  const app = express();
  if (trustProxy) app.set('trust proxy', 1);
  const routes = express.Router();
  routes.use(express.json());
  routes.post('/login', (req, res) => {
    bag(req).user = req.body?.user ?? { name: 'ana' };
    res.json({ id: req.sessionID });
  });
  routes.post('/data', (req, res) => {
    bag(req).data = req.body;
    res.json({ id: req.sessionID });
  });
  routes.get('/me', (req, res) => {
    res.json({
      id: req.sessionID,
      data: dataOf(req),
      cookie: { originalMaxAge: req.session.cookie.originalMaxAge, expires: req.session.cookie.expires ?? null },
    });
  });
  routes.get('/noop', (req, res) => {
    res.json({ id: req.sessionID });
  });
  routes.post('/regenerate', (req, res, next) => {
    req.session.regenerate((error) => {
      if (error) return next(error);
      bag(req).user = { name: 'regenerated' };
      res.json({ id: req.sessionID });
    });
  });
  routes.post('/logout', (req, res, next) => {
    req.session.destroy((error) => (error ? next(error) : res.json({ ok: true })));
  });
  routes.post('/slow', (req, res, next) => {
    bag(req).cart = ['added by a slow request'];
    hold().then(() => res.json({ id: req.sessionID }), next);
  });
  routes.post('/logout-everywhere-else', (req, res, next) => {
    const user = (bag(req).user as { name?: unknown } | undefined)?.name;
    destroySessionsOf(store, user, req.sessionID).then((destroyed) => res.json({ destroyed }), next);
  });
  routes.post('/save', (req, res, next) => {
    bag(req).saved = 'explicitly';
    req.session.save((error) => {
      if (error) return next(error);
      store.get(req.sessionID, (readError, stored) => (readError ? next(readError) : res.json({ stored: stored ?? null })));
    });
  });
  app.use(session({ store, secret: SECRET, resave: false, saveUninitialized: false, ...(sessionOptions as Partial<SessionOptions>) }));
  app.use(base, routes);
  app.use((error: Error, _req: Request, res: Response, _next: NextFunction) => {
    res.status(500).json({ error: error.message });
  });
  return { request: () => supertest(app), close: async () => undefined };
}

export const express: Framework = {
  name: 'express',
  label: 'express-session',
  idPrefix: 'http-',
  packages: ['express', 'supertest'],
  optional: false,
  cookieName: 'connect.sid',
  lacks: {},
  build: async (store, options) => build(store, options),
  unsign(value, secret) {
    const raw = decodeURIComponent(value);
    return raw.startsWith('s:') ? cookieSignature().unsign(raw.slice(2), secret) : false;
  },
};
