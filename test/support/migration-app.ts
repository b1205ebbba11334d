import express from 'express';
import session, { type Store } from 'express-session';

/** An express app whose only difference from its twin is the store: the one line a migration changes. */
export function appWith(store: Store, cookie?: session.CookieOptions): express.Express {
  const app = express();
  app.use(session({ store, secret: 'migration', resave: false, saveUninitialized: false, ...(cookie && { cookie }) }));
  app.post('/login', (req, res) => {
    Object.assign(req.session, { user: 'ada', cart: [1, 2, 3] });
    res.sendStatus(204);
  });
  app.get('/me', (req, res) => {
    const data = req.session as unknown as { user?: string; cart?: number[] };
    res.json({ user: data.user ?? null, cart: data.cart ?? null });
  });
  return app;
}

/** The session id in express-session's signed cookie `connect.sid=s:<sid>.<signature>`. */
export function sidOfCookie(setCookie: string[]): string {
  const value = decodeURIComponent(setCookie[0]!.split(';')[0]!.split('=')[1]!);
  return value.slice('s:'.length, value.lastIndexOf('.'));
}
