import { createHash } from 'node:crypto';
import express, { type Request, type Response } from 'express';
import session, { type SessionData, type Store } from 'express-session';
import { isSessionStoreError, type SessionStore, type UserSession } from '../shared';
import { deviceOf } from './device';
import { storedRecordOf, type StoredRecord } from './stored';

declare module 'express-session' {
  interface SessionData {
    visits?: number;
    user?: string;
    /** The device the user logged in from, shortened from its User-Agent, for the account panel. */
    device?: string;
    /** When the user logged in, epoch ms. */
    loggedInAt?: number;
  }
}

/** Who a demo session belongs to: the store is built with it, so it lists each user's sessions. */
export const userOf = (session: SessionData): string | undefined => session.user;

/** What the account panel needs of a store: this package's sessions per user. */
type UserSessions = Pick<SessionStore, 'sessionsOf' | 'destroySessionsOf' | 'listedIdOf' | 'destroy'>;

/** The account panel's view of the user's sessions, or why the store cannot give them. */
type Account = { sessions: UserSession[]; currentId: string } | { unavailable: string };

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

  const userSessions = userSessionsOf(store);

  /** The user's sessions as the account panel lists them: this device first, then the latest login first. */
  async function accountOf(req: Request): Promise<Account | undefined> {
    const { user } = req.session;
    if (user === undefined) return undefined;
    if (userSessions === undefined) return { unavailable: 'This store keeps no index of sessions by user: it cannot list them.' };
    let sessions: UserSession[];
    try {
      sessions = await userSessions.sessionsOf(user);
    } catch (error) {
      if (isSessionStoreError(error) && error.code === 'ERR_SESSION_UNSUPPORTED') return { unavailable: 'This store was built without <code>userOf</code>: it cannot list the sessions of a user.' };
      throw error;
    }
    const currentId = userSessions.listedIdOf(req.sessionID);
    const startedAt = (each: UserSession) => each.session.loggedInAt ?? each.createdAt ?? 0;
    sessions.sort((a, b) => Number(b.id === currentId) - Number(a.id === currentId) || startedAt(b) - startedAt(a));
    return { sessions, currentId };
  }

  app.get('/', (req, res, next) => {
    req.session.visits = (req.session.visits ?? 0) + 1;
    // Saved before the page is sent, so a store that fails answers an error page, not a page whose count was lost.
    req.session.save((error) => {
      if (error) return next(error);
      const ended = typeof req.query.ended === 'string' && /^\d{1,6}$/.test(req.query.ended) ? Number(req.query.ended) : undefined;
      Promise.all([storedRecordOf(store, req.sessionID), accountOf(req)]).then(
        ([stored, account]) => res.type('html').send(page(req, storeNameOf(store), stored, account, ended)),
        next,
      );
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
      Object.assign(req.session, { user: name, visits, device: deviceOf(req.get('User-Agent')), loggedInAt: Date.now() });
      req.session.save((saveError) => (saveError ? next(saveError) : res.redirect(303, '/')));
    });
  });

  app.post('/regenerate', (req, res, next) => {
    const { visits, user, device, loggedInAt } = req.session;
    req.session.regenerate((error) => {
      if (error) return next(error);
      Object.assign(req.session, { visits, user, device, loggedInAt });
      req.session.save((saveError) => (saveError ? next(saveError) : res.redirect(303, '/')));
    });
  });

  const logout = (req: Request, res: Response, next: express.NextFunction) => {
    req.session.destroy((error) => {
      if (error) return next(error);
      res.clearCookie('connect.sid');
      res.redirect(303, '/');
    });
  };

  app.post('/logout', logout);

  if (userSessions !== undefined) {
    const sessionsStore = userSessions;

    // The form names a session by its handle, and only a session in the user's own list is ended: a forged handle ends nothing.
    app.post('/logout-session', (req, res, next) => {
      const { user } = req.session;
      if (user === undefined) return notLoggedIn(res);
      const handle = typeof req.body?.session === 'string' ? req.body.session : '';
      sessionsStore.sessionsOf(user).then(async (sessions) => {
        const target = sessions.find((each) => handleOf(each.id) === handle);
        if (target === undefined) {
          res.status(403).type('text').send('That session is not one of yours, or it has ended already.');
          return;
        }
        if (target.id === sessionsStore.listedIdOf(req.sessionID)) return logout(req, res, next);
        await sessionsStore.destroy(target.id);
        res.redirect(303, '/?ended=1');
      }).catch(next);
    });

    app.post('/logout-others', (req, res, next) => {
      const { user } = req.session;
      if (user === undefined) return notLoggedIn(res);
      sessionsStore.destroySessionsOf(user, { except: req.sessionID }).then((ended) => res.redirect(303, `/?ended=${ended}`), next);
    });
  }

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

function notLoggedIn(res: Response): void {
  res.status(403).type('text').send('Log in first: only your own sessions can be logged out.');
}

function userSessionsOf(store: Store): UserSessions | undefined {
  const candidate = store as unknown as Partial<UserSessions>;
  return typeof candidate.sessionsOf === 'function' && typeof candidate.destroySessionsOf === 'function' && typeof candidate.listedIdOf === 'function'
    ? (store as unknown as UserSessions)
    : undefined;
}

/** How the page names a listed session: a digest of its id, since without hashIds that id is the session id a cookie carries. */
function handleOf(listedId: string): string {
  return createHash('sha256').update(listedId).digest('base64url');
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

function timeOf(epochMs: number | undefined): string {
  if (epochMs === undefined || !Number.isFinite(epochMs)) return 'unknown';
  const iso = new Date(epochMs).toISOString();
  return `<time datetime="${iso}">${iso.slice(0, 16).replace('T', ' ')} UTC</time>`;
}

/** The account panel: the user's sessions, this device marked, a logout button for each other one. */
function accountPanel(account: Account, ended: number | undefined): string {
  if ('unavailable' in account) return `<p id="sessions-unavailable">${account.unavailable}</p>`;
  const rows = account.sessions.map(({ id, session, expiresAt, createdAt }) => {
    const current = id === account.currentId;
    const action = current
      ? '<strong>this device</strong>'
      : `<form method="post" action="/logout-session"><input type="hidden" name="session" value="${escapeHtml(handleOf(id))}"><button>Log out this one</button></form>`;
    return `<tr class="session"${current ? ' data-current="true"' : ''}><td class="device">${escapeHtml(session.device ?? 'an unnamed device')}</td><td>${timeOf(session.loggedInAt ?? createdAt)}</td><td>${timeOf(expiresAt)}</td><td>${action}</td></tr>`;
  });
  return `${ended === undefined ? '' : `<p id="ended">Logged out ${ended} other session${ended === 1 ? '' : 's'}.</p>`}
  <table id="sessions"><thead><tr><th>Device</th><th>Started</th><th>Expires</th><th></th></tr></thead>
  <tbody>${rows.join('\n  ')}</tbody></table>
  <form method="post" action="/logout-others"><button>Log out everywhere else</button></form>`;
}

function page(req: Request, storeName: string, stored: StoredRecord | null | undefined, account: Account | undefined, ended: number | undefined): string {
  const { user, visits } = req.session;
  const expires = req.session.cookie.expires;
  const accountSection = user
    ? `<p>Logged in as <strong id="user">${escapeHtml(user)}</strong>.</p>
  <form method="post" action="/logout"><button>Log out</button></form>`
    : `<p>Not logged in.</p>
  <form method="post" action="/login"><label>Name <input name="name" required maxlength="100"></label> <button>Log in</button></form>`;
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>session-stores demo</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}code{background:#f3f3f3;padding:0 .25rem}pre{background:#f3f3f3;padding:.5rem;white-space:pre-wrap;word-break:break-all}form{margin:.5rem 0}table{border-collapse:collapse}td,th{padding:.25rem .5rem;text-align:left;vertical-align:top}td form{margin:0}</style>
</head>
<body>
  <h1>Sessions on the <code>${escapeHtml(storeName)}</code> store</h1>
  <p>Visits in this session: <strong id="visits">${visits ?? 0}</strong> (reload to count)</p>
  ${accountSection}
  <form method="post" action="/regenerate"><button>Regenerate the session id</button> (the data stays, the id changes)</form>
  <dl>
    <dt>Session id</dt><dd><code id="sid">${escapeHtml(req.sessionID)}</code></dd>
    <dt>Expires</dt><dd><time id="expires" datetime="${expires ? expires.toISOString() : ''}">${expires ? expires.toISOString() : 'when the browser closes'}</time></dd>
  </dl>
  ${account === undefined ? '' : `<h2>Your sessions</h2>
  ${accountPanel(account, ended)}`}
  <h2>What the store holds</h2>
  ${storedPanel(req.sessionID, stored)}
</body>
</html>
`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}
