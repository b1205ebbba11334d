import path from 'node:path';
import type { Express, NextFunction, Request, Response } from 'express';
import session, { type SessionOptions, type Store } from 'express-session';
import type { Response as TestResponse } from 'supertest';

// express and supertest load when an HTTP case runs, so the store-level cases need neither installed.
const loadExpress = () => require('express') as typeof import('express');

/** supertest's request(app). */
export function request(app: Express): ReturnType<typeof import('supertest')> {
  return (require('supertest') as typeof import('supertest'))(app);
}

// The cookie-signature that express-session itself signs with, so the check matches what it does.
const signature = require(
  require.resolve('cookie-signature', { paths: [path.dirname(require.resolve('express-session'))] }),
) as { sign(value: string, secret: string): string; unsign(value: string, secret: string): string | false };

export const SECRET = 'conformance secret';

export interface AppOptions extends Partial<SessionOptions> {
  /** `app.set('trust proxy', 1)`. */
  trustProxy?: boolean;
  /** Where the routes are mounted. Default '/'. */
  base?: string;
}

type Bag = Record<string, unknown>;
const bag = (req: Request): Bag => req.session as unknown as Bag;

/** The session data without its cookie, as the app sees it. */
function dataOf(req: Request): Bag {
  const { cookie: _cookie, ...data } = JSON.parse(JSON.stringify(req.session)) as Bag;
  return data;
}

/** A small express 5 app on express-session and `store`, with one route per session operation. */
export function buildApp(store: Store, options: AppOptions = {}): Express {
  const { trustProxy, base = '/', ...sessionOptions } = options;
  const express = loadExpress();
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
  routes.post('/save', (req, res, next) => {
    bag(req).saved = 'explicitly';
    req.session.save((error) => {
      if (error) return next(error);
      store.get(req.sessionID, (readError, stored) => (readError ? next(readError) : res.json({ stored: stored ?? null })));
    });
  });
  app.use(session({ store, secret: SECRET, resave: false, saveUninitialized: false, ...sessionOptions }));
  app.use(base, routes);
  app.use((error: Error, _req: Request, res: Response, _next: NextFunction) => {
    res.status(500).json({ error: error.message });
  });
  return app;
}

export interface SetCookie {
  name: string;
  value: string;
  /** Attribute names in lower case; a flag attribute maps to true. */
  attributes: Record<string, string | true>;
}

export function setCookies(response: TestResponse): SetCookie[] {
  const header = response.headers['set-cookie'] as unknown as string[] | string | undefined;
  const lines = header === undefined ? [] : Array.isArray(header) ? header : [header];
  return lines.map((line) => {
    const [pair, ...rest] = line.split(';');
    const at = pair!.indexOf('=');
    const attributes: Record<string, string | true> = {};
    for (const part of rest) {
      const eq = part.indexOf('=');
      if (eq === -1) attributes[part.trim().toLowerCase()] = true;
      else attributes[part.slice(0, eq).trim().toLowerCase()] = part.slice(eq + 1).trim();
    }
    return { name: pair!.slice(0, at).trim(), value: pair!.slice(at + 1).trim(), attributes };
  });
}

/** The session cookie a response sets, if any. */
export function sessionCookie(response: TestResponse, name = 'connect.sid'): SetCookie | undefined {
  return setCookies(response).find((cookie) => cookie.name === name);
}

/** The `Cookie` request header that sends `cookie` back. */
export function cookieHeader(cookie: SetCookie): string {
  return `${cookie.name}=${cookie.value}`;
}

/** The session id in a signed session cookie if `secret` signed it, else false. */
export function unsignedSid(cookie: SetCookie, secret = SECRET): string | false {
  const raw = decodeURIComponent(cookie.value);
  return raw.startsWith('s:') ? signature.unsign(raw.slice(2), secret) : false;
}

type CountedMethod = 'set' | 'touch' | 'get' | 'destroy';

/** express-session's own Store helpers: called on the view, so the calls they make of the store count as the app's. */
const APP_SIDE_METHODS = new Set<PropertyKey>(['regenerate', 'load', 'createSession']);

/**
 * The store as the app sees it, counting each call the app makes of `set`, `touch`, `get` and
 * `destroy`. Only calls on the way in count: the store's own methods run on the store itself, so a
 * `touch` that calls `this.set()` inside is one touch, not a save.
 */
export function countingView(store: Store): { view: Store; counts: Record<CountedMethod, number>; reset(): void } {
  const counts: Record<CountedMethod, number> = { set: 0, touch: 0, get: 0, destroy: 0 };
  const view = new Proxy(store, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      if (APP_SIDE_METHODS.has(property)) return (...args: unknown[]) => (value as (...a: unknown[]) => unknown).apply(receiver, args);
      return (...args: unknown[]) => {
        if (property in counts) counts[property as CountedMethod] += 1;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return {
    view,
    counts,
    reset: () => {
      for (const method of Object.keys(counts) as CountedMethod[]) counts[method] = 0;
    },
  };
}
