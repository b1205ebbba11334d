import express, { type Request, type Response } from 'express';
import session, { type Store } from 'express-session';
import { isSessionStoreError } from '../shared';
import { storedRecordOf, type StoredRecord } from './stored';

declare module 'express-session' {
  interface SessionData {
    visits?: number;
    user?: string;
  }
}

export interface DemoOptions {
  /** Signs the session cookie. */
  secret?: string;
  /** Session lifetime, ms. Default 30 minutes. */
  maxAge?: number;
}

/** A small express app that shows sessions at work on whichever store it is given. */
export function createApp(store: Store, options: DemoOptions = {}): express.Express {
  const app = express();
  app.use(express.urlencoded({ extended: false }));
  app.use(
    session({
      store,
      secret: options.secret ?? 'session-stores demo secret',
      resave: false,
      saveUninitialized: false,
      cookie: { maxAge: options.maxAge ?? 30 * 60 * 1000, httpOnly: true, sameSite: 'lax' },
    }),
  );

  // express-session leaves req.session undefined while its store reports its backend down.
  app.use((req, res, next) => (req.session ? next() : unavailable(res)));

  app.get('/', (req, res, next) => {
    req.session.visits = (req.session.visits ?? 0) + 1;
    // Saved before the page is sent, so a store that fails answers an error page, not a page whose count was lost.
    req.session.save((error) => {
      if (error) return next(error);
      storedRecordOf(store, req.sessionID).then((stored) => res.type('html').send(page(req, storeNameOf(store), stored)), next);
    });
  });

  app.post('/login', (req, res, next) => {
    const name = typeof req.body?.name === 'string' ? req.body.name.trim().slice(0, 100) : '';
    if (name === '') {
      res.redirect(303, '/');
      return;
    }
    const visits = req.session.visits;
    // A new id at login, so an id planted before it (session fixation) is worth nothing after.
    req.session.regenerate((error) => {
      if (error) return next(error);
      req.session.user = name;
      req.session.visits = visits;
      req.session.save((saveError) => (saveError ? next(saveError) : res.redirect(303, '/')));
    });
  });

  app.post('/regenerate', (req, res, next) => {
    const { visits, user } = req.session;
    req.session.regenerate((error) => {
      if (error) return next(error);
      Object.assign(req.session, { visits, user });
      req.session.save((saveError) => (saveError ? next(saveError) : res.redirect(303, '/')));
    });
  });

  app.post('/logout', (req, res, next) => {
    req.session.destroy((error) => {
      if (error) return next(error);
      res.clearCookie('connect.sid');
      res.redirect(303, '/');
    });
  });

  app.use((error: Error, req: Request, res: Response, _next: express.NextFunction) => {
    console.error(`[demo] ${req.method} ${req.path}: ${error.message}`);
    // The response is out already (a save after it failed): logged, nothing more to answer.
    if (res.headersSent) return;
    if (isSessionStoreError(error)) unavailable(res);
    else res.status(500).type('text').send('Something went wrong; the server log says what.');
  });

  return app;
}

function unavailable(res: Response): void {
  res.status(503).set('Retry-After', '5').type('text').send('Sessions are unavailable: the session store does not answer. Try again in a moment.');
}

function storeNameOf(store: Store): string {
  const name = (store as { storeName?: unknown }).storeName;
  return typeof name === 'string' ? name : store.constructor.name;
}

/** The panel that shows this session's record as the backend holds it: its key, and the stored text. */
function storedPanel(sid: string, stored: StoredRecord | null | undefined): string {
  if (stored === undefined) return '<p>This store does not show its records.</p>';
  if (stored === null) return '<p>The backend holds no record for this session.</p>';
  const hashed = !stored.key.endsWith(sid);
  const encrypted = stored.value.startsWith('sse1.');
  return `<p id="at-rest">${hashed ? 'Stored under the SHA-256 of the session id (<code>hashIds</code>), never the id' : 'Stored under the session id itself (<code>hashIds</code> is off)'};
  ${encrypted ? 'encrypted with AES-256-GCM (<code>encryptionKeys</code>): <code>sse1.&lt;key id&gt;.&lt;nonce, ciphertext, tag&gt;</code>' : 'in plaintext (<code>encryptionKeys</code> is off)'}.</p>
  <dl>
    <dt>Storage key</dt><dd><code id="stored-key">${escapeHtml(stored.key)}</code></dd>
    <dt>Stored value</dt><dd><pre id="stored-value">${escapeHtml(stored.value)}</pre></dd>
  </dl>`;
}

function page(req: Request, storeName: string, stored: StoredRecord | null | undefined): string {
  const { user, visits } = req.session;
  const expires = req.session.cookie.expires;
  const account = user
    ? `<p>Logged in as <strong id="user">${escapeHtml(user)}</strong>.</p>
  <form method="post" action="/logout"><button>Log out</button></form>`
    : `<p>Not logged in.</p>
  <form method="post" action="/login"><label>Name <input name="name" required maxlength="100"></label> <button>Log in</button></form>`;
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>session-stores demo</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}code{background:#f3f3f3;padding:0 .25rem}pre{background:#f3f3f3;padding:.5rem;white-space:pre-wrap;word-break:break-all}form{margin:.5rem 0}</style>
</head>
<body>
  <h1>Sessions on the <code>${escapeHtml(storeName)}</code> store</h1>
  <p>Visits in this session: <strong id="visits">${visits ?? 0}</strong> (reload to count)</p>
  ${account}
  <form method="post" action="/regenerate"><button>Regenerate the session id</button> (the data stays, the id changes)</form>
  <dl>
    <dt>Session id</dt><dd><code id="sid">${escapeHtml(req.sessionID)}</code></dd>
    <dt>Expires</dt><dd><time id="expires" datetime="${expires ? expires.toISOString() : ''}">${expires ? expires.toISOString() : 'when the browser closes'}</time></dd>
  </dl>
  <h2>What the store holds</h2>
  ${storedPanel(req.sessionID, stored)}
</body>
</html>
`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}
