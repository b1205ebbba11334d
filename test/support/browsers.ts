import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Store } from 'express-session';
import { cookieHeader, setCookies, type HttpApp } from '../../conformance/cases/http-app';
import { express } from '../../conformance/cases/http-express';

export const APP_SECRET = 'at-rest tests, a secret of their own';
const COOKIE_NAME = express.cookieName;

/** The conformance suite's express app (express 5, express-session): POST /login {user}, GET /me {id, data}, POST /save. */
export function appOn(store: Store): Promise<HttpApp> {
  return express.build(store, { secret: APP_SECRET });
}

/** A string no session holds by chance, to look for in what the backend stores. */
export function secretMarker(): string {
  return `secret-marker-${randomBytes(8).toString('hex')}`;
}

let signature: { sign(value: string, secret: string): string } | undefined;

/** The session cookie express-session would set for `id`, signed with the app's secret by the cookie-signature express-session itself loads. */
export function signedCookie(id: string): string {
  signature ??= require(require.resolve('cookie-signature', { paths: [path.dirname(require.resolve('express-session'))] })) as typeof signature;
  return `${COOKIE_NAME}=${encodeURIComponent(`s:${signature!.sign(id, APP_SECRET)}`)}`;
}

/** What GET /me answered: the session's id and data, or the app's error. */
export interface Seen {
  status: number;
  id?: string;
  user?: unknown;
  error?: string;
  text: string;
}

/** One visitor's cookie jar, kept across apps, so a restarted app meets the same visitors. */
export class Browser {
  constructor(private cookie?: string) {}

  /** The session id the cookie carries, unsigned. */
  get sid(): string {
    const value = this.cookie?.slice(COOKIE_NAME.length + 1);
    const sid = value === undefined ? false : express.unsign(value, APP_SECRET);
    if (sid === false) throw new Error('this browser holds no session cookie signed with the app secret');
    return sid;
  }

  async login(app: HttpApp, user: string): Promise<void> {
    this.keep(await this.send(app.request().post('/login').send({ user })).expect(200));
  }

  /** POST /save: the session changed and saved, so its record is written anew. */
  async save(app: HttpApp): Promise<void> {
    this.keep(await this.send(app.request().post('/save')).expect(200));
  }

  async me(app: HttpApp): Promise<Seen> {
    const response = await this.send(app.request().get('/me'));
    this.keep(response);
    const body = response.body as { id?: string; data?: { user?: unknown }; error?: string };
    return { status: response.status, id: body.id, user: body.data?.user, error: body.error, text: response.text };
  }

  private send<T extends { set(field: string, value: string): T }>(request: T): T {
    return this.cookie === undefined ? request : request.set('Cookie', this.cookie);
  }

  private keep(response: Parameters<typeof setCookies>[0]): void {
    const cookie = setCookies(response).find((each) => each.name === COOKIE_NAME);
    if (cookie !== undefined) this.cookie = cookieHeader(cookie);
  }
}
