import type { Store } from 'express-session';
import type { Response as TestResponse } from 'supertest';
import type { HttpFramework } from '../types';

/** supertest's request(target): a fresh request builder on an app. */
export type Agent = ReturnType<typeof import('supertest')>;

/** supertest on an express app or a node http.Server; loaded when an HTTP case runs. */
export function supertest(target: Parameters<typeof import('supertest')>[0]): Agent {
  return (require('supertest') as typeof import('supertest'))(target);
}

/** Long enough for @fastify/session, which refuses a string secret under 32 characters. */
export const SECRET = 'conformance secret, long enough for every framework';

/** The session options the cases set, named as express-session names them. */
export interface AppOptions {
  /** A string, or [new, ...old] to rotate. Default SECRET. */
  secret?: string | string[];
  /** The session cookie's name. Default: the framework's own. */
  name?: string;
  rolling?: boolean;
  saveUninitialized?: boolean;
  /** express-session only: save a session the request left unchanged. */
  resave?: boolean;
  /** express-session only: trust X-Forwarded-Proto for secure cookies without trusting the proxy app-wide. */
  proxy?: boolean;
  cookie?: { maxAge?: number; path?: string; httpOnly?: boolean; sameSite?: 'strict' | 'lax' | 'none'; secure?: boolean };
  /** Trust the first proxy app-wide (express's 'trust proxy', fastify's trustProxy). */
  trustProxy?: boolean;
  /** Where the routes are mounted. Default '/'. */
  base?: string;
  /** What POST /slow waits on after changing the session and before it responds (and the session is saved). */
  hold?: () => Promise<void>;
}

/**
 * An app on a store, with one route per session operation: POST /login {user}, POST /data, GET /me
 * ({ id, data, cookie }), GET /noop, POST /regenerate, POST /logout, POST /save ({ stored }) and
 * POST /slow, which changes the session and waits on `AppOptions.hold` before it responds, and POST
 * /logout-everywhere-else, which destroys the sessions of the logged-in user but the current one.
 */
export interface HttpApp {
  request(): Agent;
  close(): Promise<void>;
}

/** What the app's "log out everywhere else" does: `store.destroySessionsOf(user, { except: sid })`, by callback. */
export function destroySessionsOf(store: Store, user: unknown, sid: string): Promise<unknown> {
  const method = (store as unknown as { destroySessionsOf?: (...args: unknown[]) => unknown }).destroySessionsOf;
  if (typeof method !== 'function') return Promise.reject(new Error('the store has no destroySessionsOf()'));
  return new Promise((resolve, reject) => method.call(store, user, { except: sid }, (error: unknown, destroyed: unknown) => (error ? reject(error) : resolve(destroyed))));
}

/** What a case may need of a framework beyond sessions, cookies and their options. */
export type FrameworkFeature = 'touch' | 'proxyOption';

/** One framework the HTTP cases run through, with its session middleware. */
export interface Framework {
  name: HttpFramework;
  /** The session middleware, as rules and test titles name it. */
  label: string;
  /** What its case ids start with. */
  idPrefix: string;
  /** What the cases load to run through it. */
  packages: readonly string[];
  /** `http: true` runs it only where its packages are installed, and reports its cases skipped elsewhere. */
  optional: boolean;
  /** The session cookie's default name. */
  cookieName: string;
  /** What of FrameworkFeature it lacks, each with why, as a phrase. */
  lacks: Partial<Record<FrameworkFeature, string>>;
  build(store: Store, options: AppOptions): Promise<HttpApp>;
  /** The session id in a signed session cookie's value if `secret` signed it, else false. */
  unsign(value: string, secret: string): string | false;
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

/** The `Cookie` request header that sends `cookie` back. */
export function cookieHeader(cookie: SetCookie): string {
  return `${cookie.name}=${cookie.value}`;
}

type CountedMethod = 'set' | 'touch' | 'get' | 'destroy';

function jsonCopy(value: unknown): unknown {
  try {
    return JSON.parse(JSON.stringify(value) ?? 'null');
  } catch {
    return undefined;
  }
}

/** express-session's own Store helpers: called on the view, so the calls they make of the store count as the app's. */
const APP_SIDE_METHODS = new Set<PropertyKey>(['regenerate', 'load', 'createSession']);

/**
 * The store as the app sees it, counting each call the app makes of `set`, `touch`, `get` and
 * `destroy`, and keeping the JSON of the last session it passed to `set`. Only calls on the way in
 * count: the store's own methods run on the store itself, so a `touch` that calls `this.set()`
 * inside is one touch, not a save.
 */
export function countingView(store: Store): { view: Store; counts: Record<CountedMethod, number>; lastSet(): unknown; reset(): void } {
  const counts: Record<CountedMethod, number> = { set: 0, touch: 0, get: 0, destroy: 0 };
  let lastSet: unknown;
  const view = new Proxy(store, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      if (APP_SIDE_METHODS.has(property)) return (...args: unknown[]) => (value as (...a: unknown[]) => unknown).apply(receiver, args);
      return (...args: unknown[]) => {
        if (property in counts) counts[property as CountedMethod] += 1;
        if (property === 'set') lastSet = jsonCopy(args[1]);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return {
    view,
    counts,
    lastSet: () => lastSet,
    reset: () => {
      for (const method of Object.keys(counts) as CountedMethod[]) counts[method] = 0;
      lastSet = undefined;
    },
  };
}

/** The apps one case builds through one framework, closed when the case ends. */
export class HttpRun {
  private readonly apps: HttpApp[] = [];

  constructor(readonly framework: Framework) {}

  async app(store: Store, options: AppOptions = {}): Promise<HttpApp> {
    const app = await this.framework.build(store, options);
    this.apps.push(app);
    return app;
  }

  /** The session cookie a response sets, if any. */
  sessionCookie(response: TestResponse, name = this.framework.cookieName): SetCookie | undefined {
    return setCookies(response).find((cookie) => cookie.name === name);
  }

  /** The session id in a signed session cookie if `secret` signed it, else false. */
  sid(cookie: SetCookie, secret = SECRET): string | false {
    return this.framework.unsign(cookie.value, secret);
  }

  async close(): Promise<void> {
    for (const app of this.apps.splice(0)) await app.close().catch(() => undefined);
  }
}
