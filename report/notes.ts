/**
 * Every failure and warning the suite reports for a third-party store, checked by hand against the
 * store's source and reproduced outside the suite by the check of report/repro.ts each note names:
 * what a user of that store would see. The generator fails (exit 1) on a failure or warning missing
 * here, on a note whose case now passes, and on a note naming no check of repro.ts.
 */
export interface CaseNote {
  /** What a user of the store would see, in one sentence. */
  impact: string;
  /** The source line(s) the behaviour comes from, `package/file: what`. */
  source: string;
  /** The check of report/repro.ts that shows the behaviour. */
  repro: string;
}

/** A misbehaviour found by hand that no case of the suite reports in the report's configuration. */
export interface Finding {
  text: string;
  /** The check of report/repro.ts that shows it. */
  repro: string;
}

const note = (impact: string, source: string, repro: string): CaseNote => ({ impact, source, repro });

/** Notes whose impact is the same wherever a store shows the behaviour; each store gives its source. */
const common = {
  missingIsUndefined: (calledBack: string, source: string) =>
    note(
      `get() of a sid it does not hold calls back ${calledBack}, not (null, null); express-session's README allows it ("otherwise null or undefined"), so only code comparing the result with === null sees a difference`,
      source,
      'get() of a sid never set',
    ),
  noPromise: (source: string) =>
    note(
      'set() without a callback returns undefined, not a promise: `await store.set(…)` outside express-session (a script, a test, a migration) goes on before the write lands and never sees its error; express-session itself always passes a callback',
      source,
      'set() without a callback',
    ),
  corruptWithoutError: (source: string) =>
    note(
      'a stored record that parses but is not a session (a JSON string, an array, null, an object without cookie) is called back as a value or as no session, never as an Error: nothing tells the app that the record is corrupt',
      source,
      'get() of records that are not sessions: what it calls back',
    ),
  corruptErrorText: (source: string) =>
    note(
      "the error for a record that does not parse is JSON.parse's own SyntaxError: no code tells it from a connection failure, and for text that is not JSON at all its message quotes the stored text, session data included, into the app's logs",
      source,
      'get() of records that are not sessions: the error',
    ),
  unloadableCookie: (source: string) =>
    note(
      'a stored session whose cookie express-session cannot load (originalMaxAge a string, expires not a date, a path with a semicolon, an unknown sameSite) is handed back as the session; what the frameworks then do is under `http-unloadable-record-still-gets-an-answer`',
      source,
      'get() of stored sessions whose cookie cannot be loaded',
    ),
  deeplyNested: (source: string) =>
    note(
      "a stored session nested 100000 levels deep is handed back as the session, and express-session's hash of it (JSON.stringify) overflows the stack on every request carrying its cookie",
      source,
      'get() of a stored session nested 100000 levels deep',
    ),
  acceptsUnreadable: (source: string) =>
    note(
      'set() of a session express-session cannot load back (one without a cookie, or with originalMaxAge a string) succeeds and get() hands it back: the bug in the code that built the session shows only on the next request with its cookie, as a 500 or no answer',
      source,
      'set() of sessions express-session could not load back',
    ),
  expressHangs: (source: string) =>
    note(
      "a browser whose stored session has originalMaxAge a string, or is nested 100000 levels deep, gets no answer at all: the store hands the record back unchecked, and express-session's res.end wrapper then throws on it (maxAge must be a number or Date, or a stack overflow in its hash) whenever the app answers, the app's error handler included",
      source,
      'a browser whose stored session cannot be loaded, through express-session',
    ),
  loneSurrogates: (source: string) =>
    note(
      'sids holding a lone UTF-16 surrogate reach the server as U+FFFD, since UTF-8 cannot encode them, so "\\ud800…", "\\udc00…" and "\\ufffd…" are one session: an app whose genid can produce such ids hands one browser\'s session to another (express-session\'s own ids are base64url and never do)',
      source,
      'sids "\\ud800…", "\\udc00…" and "\\ufffd…"',
    ),
  prototypeInAll: (source: string) =>
    note(
      "all() fills a plain object with result[sid] = session, so the session stored under the id '__proto__' becomes the result's prototype instead of an entry: all() leaves it out, and every sid looked up in the result that is not there falls through to that session's fields",
      source,
      "set('__proto__') then all()",
    ),
  allIsAnArray: (shape: string, source: string) =>
    note(
      `all() calls back an array (${shape}), the shape express-session's README describes ("get all sessions in the store as an array"), not its MemoryStore's object keyed by sid: code written against MemoryStore that looks a session up by sid in the result finds none`,
      source,
      'all() of two sessions',
    ),
  wholeSeconds: (effect: string, source: string) => note(`expiry is kept in whole seconds: ${effect}`, source, 'sub-second expiry on the wall clock'),
  throwingCallbackTwice: (impact: string, source: string) => note(impact, source, 'callbacks that throw'),
  corruptAsSession: (impact: string, source: string) => note(impact, source, 'get() of records that are not sessions, and a browser holding their cookie'),
  expiredInLength: (impact: string, source: string) => note(impact, source, 'length() with one live session and one expired 2.5 s ago'),
  expiredInAll: (impact: string, source: string) => note(impact, source, 'all() with one live session and one expired 2.5 s ago'),
  touchRevives: (impact: string, source: string) => note(impact, source, 'touch() of a session expired 2.5 s ago, then get'),
  fastifyCrashes: (source: string) =>
    note(
      'with @fastify/session, one browser whose stored session has originalMaxAge a string, or is nested 100000 levels deep, ends the process: the store hands the record back unchecked, @fastify/session throws on it inside the store\'s callbacks ("cookie expires is invalid" from reply.setCookie in the set() callback, a stack overflow hashing the session in the get() callback), and the store calls them from setImmediate, outside any catch, so each throw is an uncaught exception',
      source,
      'a browser whose stored session cannot be loaded, through @fastify/session',
    ),
};

/** Keyed by the store module's file name under stores/, then by case id: every failure and warning. */
export const caseNotes: Record<string, Record<string, CaseNote>> = {
  'express-session-memory': {
    'get-missing-calls-back-null': common.missingIsUndefined('(null, undefined)', 'express-session/session/memory.js get: defer(callback, null, getSession(…)), and getSession returns undefined for a missing sid'),
    'promise-form-without-callback': common.noPromise('express-session/session/memory.js set: callback && defer(callback), nothing returned'),
    'corrupt-data-is-never-returned-as-a-session': common.corruptAsSession(
      'a stored session that is not valid JSON or is JSON null makes get() throw synchronously inside the session middleware, and one that is JSON but not a session reaches express-session: either way every request carrying that cookie answers 500 until the cookie is dropped',
      'express-session/session/memory.js getSession: JSON.parse(sess) and sess.cookie read outside any try, the parsed value returned unchecked',
    ),
    'corrupt-data-calls-back-an-error': common.corruptWithoutError('express-session/session/memory.js getSession: the parsed value is returned whatever it is'),
    'corrupt-data-error-has-a-code-and-no-data': common.corruptErrorText('express-session/session/memory.js getSession: JSON.parse(sess) throws its SyntaxError as is'),
    'corrupt-data-in-all-calls-back-once': note(
      'one stored record that is not valid JSON makes all() and length() throw synchronously, so neither can list or count the sessions while it is there',
      'express-session/session/memory.js all: getSession (JSON.parse) of every sid, outside any try',
      'all() over a record that is truncated JSON',
    ),
    'unserializable-session-calls-back-an-error': note(
      'set() of a session holding a circular reference or a BigInt throws synchronously (JSON.stringify) instead of calling back an Error, so the caller\'s callback never runs',
      'express-session/session/memory.js set: this.sessions[sessionId] = JSON.stringify(session), outside any try',
      'set() of a circular session and of one holding a BigInt',
    ),
    'bad-arguments-never-throw': note(
      'touch(sid, null) throws synchronously (it reads session.cookie) instead of calling back',
      'express-session/session/memory.js touch: currentSession.cookie = session.cookie',
      'methods called with an undefined sid or a null session',
    ),
    'unloadable-cookie-is-never-returned': common.unloadableCookie('express-session/session/memory.js getSession: only cookie.expires is looked at, to drop an expired session'),
    'deeply-nested-record-is-never-returned': common.deeplyNested('express-session/session/memory.js getSession: JSON.parse, the value returned unchecked'),
    'sessions-that-cannot-be-read-back-are-refused-at-set': common.acceptsUnreadable('express-session/session/memory.js set: JSON.stringify(session) stored as is'),
    'http-unloadable-record-still-gets-an-answer': common.expressHangs('express-session/session/memory.js getSession returns the record unchecked; express-session/index.js res.end wrapper: req.session.touch() and hash(req.session) outside any try'),
    'fastify-unloadable-record-still-gets-an-answer': common.fastifyCrashes(
      'express-session/session/memory.js get, set: defer(callback, …) (setImmediate), the record returned unchecked by getSession; @fastify/session/index.js: new Session(…) in the get() callback and reply.setCookie(…) in the save callback, neither in a try',
    ),
  },
  memorystore: {
    'get-missing-calls-back-null': common.missingIsUndefined('(undefined, undefined)', 'memorystore/lib/memorystore.js get: if (!data) return runCallback(fn)'),
    'cookie-expires-wins-over-a-shorter-ttl': note(
      'with the ttl option set, a session ends after ttl even when its cookie lives longer: users are logged out early',
      'memorystore/lib/memorystore.js getTTL: a numeric options.ttl is returned before cookie.maxAge is looked at (documented: "Defaults to session.maxAge")',
      'ttl 1 s, cookie maxAge 1 h: get after 2 s',
    ),
    'cookie-expires-wins-over-a-longer-ttl': note(
      'with the ttl option set, a session outlives a shorter cookie: a copied cookie keeps working until ttl',
      'memorystore/lib/memorystore.js getTTL: options.ttl wins over cookie.maxAge',
      'ttl 1 h, cookie maxAge 1 s: get after 2 s',
    ),
    'expired-sessions-not-in-ids': note(
      'ids() lists expired sessions until the next checkPeriod prune (reproduced 2.5 s after expiry)',
      'memorystore/lib/memorystore.js ids: this.store.keys(), which includes stale entries',
      'ids() with one live session and one expired 2.5 s ago',
    ),
    'expired-sessions-not-counted-by-length': common.expiredInLength(
      'length() counts expired sessions until the next checkPeriod prune (reproduced: 2 with one of them expired 2.5 s earlier)',
      'memorystore/lib/memorystore.js length: lru-cache itemCount, which includes stale entries',
    ),
    'promise-form-without-callback': common.noPromise('memorystore/lib/memorystore.js set: runCallback(fn, null), nothing returned'),
    'corrupt-data-is-never-returned-as-a-session': common.corruptAsSession(
      'a stored value that is valid JSON but not a session (a string, an array, an object without cookie) is handed to express-session, which answers 500 to every request carrying that cookie',
      'memorystore/lib/memorystore.js get: the parsed value is passed on unchecked',
    ),
    'corrupt-data-calls-back-an-error': common.corruptWithoutError('memorystore/lib/memorystore.js get: runCallback(fn, err, result) with the parsed value, whatever it is'),
    'corrupt-data-error-has-a-code-and-no-data': common.corruptErrorText('memorystore/lib/memorystore.js get: the serializer.parse error is called back as is'),
    'unloadable-cookie-is-never-returned': common.unloadableCookie('memorystore/lib/memorystore.js get: the parsed value is passed on unchecked'),
    'deeply-nested-record-is-never-returned': common.deeplyNested('memorystore/lib/memorystore.js get: the parsed value is passed on unchecked'),
    'sessions-that-cannot-be-read-back-are-refused-at-set': common.acceptsUnreadable('memorystore/lib/memorystore.js set: serializer.stringify(sess) stored as is'),
    'all-lists-a-sid-named-like-a-prototype-as-its-own': common.prototypeInAll('memorystore/lib/memorystore.js all: const result = {}; result[key] = …'),
    'http-unloadable-record-still-gets-an-answer': common.expressHangs('memorystore/lib/memorystore.js get passes the record on unchecked; express-session/index.js res.end wrapper: req.session.touch() and hash(req.session) outside any try'),
    'fastify-unloadable-record-still-gets-an-answer': common.fastifyCrashes(
      'memorystore/lib/memorystore.js runCallback: defer(fn, …) (setImmediate), and get passes the record on unchecked; @fastify/session/index.js: new Session(…) in the get() callback and reply.setCookie(…) in the save callback, neither in a try',
    ),
  },
  'connect-redis': {
    'expiry-is-sub-second-on-the-wall-clock': common.wholeSeconds(
      'a session is still returned up to a second after its cookie expired',
      'connect-redis/dist/connect-redis.js getTTL: Math.ceil(ms / 1e3), set with expiration EX',
    ),
    'all-returns-sessions-keyed-by-sid': common.allIsAnArray('of sessions, each with its sid added as an id field', 'connect-redis/dist/connect-redis.js all: results.push(sess) with sess.id = the key without its prefix'),
    'a-callback-that-throws-is-not-called-again': common.throwingCallbackTwice(
      "when express-session's callback throws (an error in the app's own code after a session loads or saves), the store calls it a second time with that error: the request's handlers run twice, and a response already sent meets a second one (reproduced for get, set, touch and destroy)",
      'connect-redis/dist/connect-redis.js get, set, touch, destroy: return optionalCb(null, data, cb) inside try, and catch (err) { return optionalCb(err, null, cb) }',
    ),
    'corrupt-data-is-never-returned-as-a-session': common.corruptAsSession(
      'a value under the prefix that is valid JSON but not a session (a string, an array, an object without cookie) is handed to express-session, which answers 500 to every request carrying that cookie',
      'connect-redis/dist/connect-redis.js get: serializer.parse(data) is passed on unchecked',
    ),
    'corrupt-data-calls-back-an-error': common.corruptWithoutError('connect-redis/dist/connect-redis.js get: optionalCb(null, await this.serializer.parse(data), cb), whatever it parses to'),
    'corrupt-data-error-has-a-code-and-no-data': common.corruptErrorText('connect-redis/dist/connect-redis.js get: catch (err) { return optionalCb(err, null, cb) } passes the SyntaxError on'),
    'unloadable-cookie-is-never-returned': common.unloadableCookie('connect-redis/dist/connect-redis.js get: serializer.parse(data) is passed on unchecked'),
    'deeply-nested-record-is-never-returned': common.deeplyNested('connect-redis/dist/connect-redis.js get: serializer.parse(data) is passed on unchecked'),
    'sessions-that-cannot-be-read-back-are-refused-at-set': common.acceptsUnreadable('connect-redis/dist/connect-redis.js set: serializer.stringify(sess) stored as is'),
    'lone-surrogate-sids-do-not-collide': common.loneSurrogates('connect-redis/dist/connect-redis.js: the key is prefix + sid, sent as is; node-redis encodes it as UTF-8'),
    'http-unloadable-record-still-gets-an-answer': common.expressHangs('connect-redis/dist/connect-redis.js get passes the record on unchecked; express-session/index.js res.end wrapper: req.session.touch() and hash(req.session) outside any try'),
  },
  'connect-pg-simple': {
    'get-missing-calls-back-null': common.missingIsUndefined('(null, undefined)', 'connect-pg-simple/index.js get: if (!data) { return fn(null); }'),
    'expiry-is-sub-second-on-the-wall-clock': common.wholeSeconds(
      'a session is still returned up to a second after its cookie expired',
      'connect-pg-simple/index.js: expire = to_timestamp(Math.ceil(expires / 1000)), compared with to_timestamp(Math.ceil(Date.now() / 1000))',
    ),
    'touch-never-resurrects-an-expired-session': common.touchRevives(
      'touch() brings back a session whose expiry has passed until the 15-minute pruner deletes its row (reproduced 2.5 s after expiry): a request that loaded the session just before it expired revives it',
      'connect-pg-simple/index.js touch: UPDATE … SET expire WHERE sid = $2, without the expire >= now condition get() has',
    ),
    'promise-form-without-callback': common.noPromise('connect-pg-simple/index.js set: this.query(…, err => { fn && fn(err); }), nothing returned'),
    'close-resolves-and-is-idempotent': note(
      'a second close() rejects with "Called end on pool more than once", so shutdown code that closes the store from two places (a signal handler and a test teardown, say) fails',
      'connect-pg-simple/index.js close: await this.#pool.end() on every call, with no closed check',
      'close() twice',
    ),
    'sessions-that-cannot-be-read-back-are-refused-at-set': common.acceptsUnreadable('connect-pg-simple/index.js set: the session object is passed to pg as the json parameter, unchecked'),
    'lone-surrogate-sids-do-not-collide': common.loneSurrogates('connect-pg-simple/index.js: the sid is a query parameter of a varchar column; pg encodes it as UTF-8'),
  },
  'better-sqlite3-session-store': {
    'expiry-is-sub-second-on-the-wall-clock': common.wholeSeconds(
      'a session is gone up to a second before its cookie expires',
      "better-sqlite3-session-store/src/index.js get: WHERE datetime('now') < datetime(expire), and SQLite's datetime() drops the fraction of a second",
    ),
    'expired-sessions-not-in-all': common.expiredInAll(
      'all() includes sessions whose expiry has passed until the 15-minute cleanup (reproduced 2.5 s after expiry)',
      'better-sqlite3-session-store/src/index.js all: SELECT * FROM sessions, no expiry condition',
    ),
    'expired-sessions-not-counted-by-length': common.expiredInLength(
      'length() counts expired sessions until the 15-minute cleanup deletes them (reproduced: 2 with one expired 2.5 s earlier)',
      'better-sqlite3-session-store/src/index.js length: SELECT COUNT(*) FROM sessions, no expiry condition',
    ),
    'all-returns-sessions-keyed-by-sid': common.allIsAnArray(
      'of the table\'s rows, { sid, sess, expire } with sess the JSON text, not parsed',
      'better-sqlite3-session-store/src/index.js all: cb(null, res) with the rows of SELECT * FROM sessions',
    ),
    'callbacks-are-asynchronous': note(
      'every method calls back before it returns (better-sqlite3 is synchronous): code after store.get(sid, cb) runs after the callback, and a throw in the callback unwinds through the caller',
      'better-sqlite3-session-store/src/index.js: cb(…) called directly after each prepare(…).run() or .get()',
      'callbacks of get(), set() and destroy(), before they return',
    ),
    'promise-form-without-callback': common.noPromise('better-sqlite3-session-store/src/index.js set: cb = noop by default, nothing returned'),
    'close-lets-the-process-exit': note(
      "a process that made a store cannot exit on its own: the constructor starts a 15-minute setInterval that is never unref'd nor cleared, the store has no close() to stop it, and expired.clear: false does not prevent it",
      'better-sqlite3-session-store/src/index.js constructor: clear: (options.expired && options.expired.clear) || true, then startInterval(): setInterval(…) whose handle is dropped',
      'a process that uses a store and releases it',
    ),
    'corrupt-data-is-never-returned-as-a-session': common.corruptAsSession(
      'a row that is not valid JSON makes get() throw synchronously inside the session middleware, and one that is JSON but not a session reaches express-session: either way every request with that cookie answers 500',
      'better-sqlite3-session-store/src/index.js get: cb(null, JSON.parse(res.sess)) outside the try',
    ),
    'corrupt-data-calls-back-an-error': common.corruptWithoutError('better-sqlite3-session-store/src/index.js get: cb(null, JSON.parse(res.sess)), whatever it parses to'),
    'corrupt-data-error-has-a-code-and-no-data': common.corruptErrorText('better-sqlite3-session-store/src/index.js get: JSON.parse(res.sess) outside the try, so its SyntaxError is thrown as is'),
    'corrupt-data-in-all-calls-back-once': note(
      'all() hands back a corrupt row with the others, as its raw text',
      'better-sqlite3-session-store/src/index.js all: the rows of SELECT * FROM sessions, unparsed and unchecked',
      'all() over a record that is truncated JSON',
    ),
    'unserializable-session-calls-back-an-error': note(
      "set() of a session holding a circular reference or a BigInt throws synchronously (JSON.stringify) instead of calling back an Error, so the caller's callback never runs",
      'better-sqlite3-session-store/src/index.js set: sess: JSON.stringify(sess) before the try',
      'set() of a circular session and of one holding a BigInt',
    ),
    'bad-arguments-never-throw': note(
      'set(sid, null) and set(sid, undefined) throw synchronously (they read sess.cookie) instead of calling back',
      'better-sqlite3-session-store/src/index.js set: if (sess.cookie && sess.cookie.maxAge) before any try',
      'methods called with an undefined sid or a null session',
    ),
    'unloadable-cookie-is-never-returned': common.unloadableCookie('better-sqlite3-session-store/src/index.js get: cb(null, JSON.parse(res.sess)), unchecked'),
    'deeply-nested-record-is-never-returned': common.deeplyNested('better-sqlite3-session-store/src/index.js get: cb(null, JSON.parse(res.sess)), unchecked'),
    'sessions-that-cannot-be-read-back-are-refused-at-set': common.acceptsUnreadable('better-sqlite3-session-store/src/index.js set: JSON.stringify(sess) stored as is'),
    'http-unloadable-record-still-gets-an-answer': common.expressHangs('better-sqlite3-session-store/src/index.js get passes the record on unchecked; express-session/index.js res.end wrapper: req.session.touch() and hash(req.session) outside any try'),
  },
  'connect-sqlite3': {
    'get-missing-calls-back-null': common.missingIsUndefined('(undefined, undefined)', 'connect-sqlite3/lib/connect-sqlite3.js get: if (!row) return fn()'),
    'expired-sessions-not-in-all': common.expiredInAll(
      'all() includes sessions whose expiry has passed until the once-a-day cleanup (reproduced 2.5 s after expiry)',
      'connect-sqlite3/lib/connect-sqlite3.js all: SELECT * FROM table, no expiry condition',
    ),
    'expired-sessions-not-counted-by-length': common.expiredInLength(
      'length() counts expired sessions until the once-a-day cleanup deletes them (reproduced: 2 with one expired 2.5 s earlier)',
      'connect-sqlite3/lib/connect-sqlite3.js length: SELECT COUNT(*), no expiry condition; dbCleanup runs every oneDay',
    ),
    'all-returns-sessions-keyed-by-sid': common.allIsAnArray('of the sessions alone, none naming its sid', 'connect-sqlite3/lib/connect-sqlite3.js all: rows.map((row) => JSON.parse(row.sess))'),
    'promise-form-without-callback': common.noPromise('connect-sqlite3/lib/connect-sqlite3.js set: if (fn) fn.apply(this, arguments), nothing returned'),
    'corrupt-data-is-never-returned-as-a-session': common.corruptAsSession(
      'a row that is not valid JSON crashes the process: JSON.parse throws an uncaught SyntaxError inside the sqlite3 callback and get() never calls back; a row that is JSON but not a session reaches express-session, which answers 500',
      'connect-sqlite3/lib/connect-sqlite3.js get: fn(null, JSON.parse(row.sess)) inside the db.get callback, no try',
    ),
  },
  'connect-session-knex': {
    'expiry-is-sub-second-on-the-wall-clock': common.wholeSeconds(
      'on SQLite a session is still returned up to a second after its cookie expired',
      'connect-session-knex/dist/utils.js expiredCondition: datetime(?) <= datetime(expired) on sqlite3, and datetime() drops the fraction of a second',
    ),
    'expired-sessions-not-counted-by-length': common.expiredInLength(
      'length() counts expired sessions until the next 60-second cleanup (reproduced: 2 with one expired 2.5 s earlier)',
      'connect-session-knex/dist/index.js length: count(sid) from the table, no expiry condition',
    ),
    'all-returns-sessions-keyed-by-sid': common.allIsAnArray('of the sessions alone, none naming its sid', 'connect-session-knex/dist/index.js all: rows.map((row) => JSON.parse(row.sess))'),
    'a-callback-that-throws-is-not-called-again': common.throwingCallbackTwice(
      "when express-session's callback throws, get(), set() and destroy() call it a second time with that error, and then rethrow it from an async method whose promise nobody awaits (an unhandled rejection, which ends the process on Node 15+) (reproduced for get, set and destroy)",
      'connect-session-knex/dist/index.js get, set, destroy: callback?.(null, …) inside try, and catch (err) { callback?.(err); throw err; }',
    ),
    'corrupt-data-is-never-returned-as-a-session': common.corruptAsSession(
      'a row that is not valid JSON crashes the process on Node 15+: get() calls back the error and also rethrows it from an async method whose promise express-session ignores (an unhandled rejection); a row that is JSON but not a session answers 500',
      'connect-session-knex/dist/index.js get: catch (err) { callback?.(err); throw err; }',
    ),
  },
  'connect-mongo': {
    'expired-sessions-not-counted-by-length': common.expiredInLength(
      'length() counts sessions whose expiry has passed until the TTL monitor (about once a minute on MongoDB) or the autoRemove interval deletes them (reproduced: 2 with one of them expired 2.5 s earlier)',
      'connect-mongo/dist/index.cjs length: collection.countDocuments() with no expires condition, where get() and all() have one',
    ),
    'touch-never-creates-a-missing-session': note(
      'touch() of a session that is not stored (destroyed by a logout in another tab, or expired and removed) calls back an error, which express-session hands to the app\'s error handler after the response (reproduced: "Unable to find the session to touch")',
      'connect-mongo/dist/index.cjs touch: matchedCount === 0 answers new Error("Unable to find the session to touch")',
      'touch() of a sid never set, and of one destroyed',
    ),
    'touch-never-resurrects-a-destroyed-session': note(
      'touch() of a destroyed session calls back an error (see touch-never-creates-a-missing-session); it writes nothing',
      'connect-mongo/dist/index.cjs touch: matchedCount === 0 answers an error',
      'touch() of a sid never set, and of one destroyed',
    ),
    'touch-never-resurrects-an-expired-session': common.touchRevives(
      'touch() brings back a session whose expiry has passed until the TTL monitor or the autoRemove interval deletes it (reproduced 2.5 s after expiry): a request that loaded the session just before it expired revives it',
      'connect-mongo/dist/index.cjs touch: updateOne({ _id }, { $set: { expires } }), without the expires > now condition get() has',
    ),
    'all-returns-sessions-keyed-by-sid': common.allIsAnArray('of the sessions alone, none naming its sid', 'connect-mongo/dist/index.cjs all: results.push(unserialize(sessionDoc.session)), the _id left out'),
    'a-callback-that-throws-is-not-called-again': common.throwingCallbackTwice(
      "when express-session's callback throws (an error in the app's own code after a session loads), get(), touch() and destroy() call it a second time with that error: the request's handlers run twice (reproduced for all three; set() calls back after its try, so its throw becomes an unhandled rejection instead)",
      'connect-mongo/dist/index.cjs get, touch: callback(null, …) inside try, and catch (error) { callback(error) }; destroy: .then(() => callback(null)).catch((err) => callback(err))',
    ),
    'promise-form-without-callback': common.noPromise('connect-mongo/dist/index.cjs set: (async () => { … })() with callback = noop, nothing returned'),
    'corrupt-data-is-never-returned-as-a-session': common.corruptAsSession(
      'a stored session that is valid JSON but not a session (a string, an array, an object without cookie) is handed to express-session, which answers 500 to every request carrying that cookie',
      'connect-mongo/dist/index.cjs get: transformFunctions.unserialize(sessionDoc.session) (JSON.parse) returned unchecked',
    ),
    'corrupt-data-calls-back-an-error': common.corruptWithoutError('connect-mongo/dist/index.cjs get: callback(null, result ?? null) with the unserialized value, whatever it is'),
    'corrupt-data-error-has-a-code-and-no-data': common.corruptErrorText('connect-mongo/dist/index.cjs get: catch (error) { callback(error) } passes the SyntaxError on'),
    'unloadable-cookie-is-never-returned': common.unloadableCookie('connect-mongo/dist/index.cjs get: the unserialized value is returned unchecked'),
    'deeply-nested-record-is-never-returned': common.deeplyNested('connect-mongo/dist/index.cjs get: the unserialized value is returned unchecked'),
    'sessions-that-cannot-be-read-back-are-refused-at-set': common.acceptsUnreadable('connect-mongo/dist/index.cjs set: transformFunctions.serialize(session) stored as is'),
    'lone-surrogate-sids-do-not-collide': common.loneSurrogates('connect-mongo/dist/index.cjs: _id is the sid as is; BSON strings are UTF-8'),
    'http-unloadable-record-still-gets-an-answer': common.expressHangs('connect-mongo/dist/index.cjs get returns the record unchecked; express-session/index.js res.end wrapper: req.session.touch() and hash(req.session) outside any try'),
    'fastify-unloadable-record-still-gets-an-answer': note(
      'with @fastify/session, one browser whose stored session has originalMaxAge a string ends the process: the store hands the record back unchecked, @fastify/session\'s reply.setCookie throws "cookie expires is invalid" inside the set() callback, and connect-mongo calls that callback after its try, inside an async function nobody awaits, so the throw is an unhandled rejection (a record nested 100000 levels deep is answered 500, because get() catches the throw of its callback and calls it again)',
      'connect-mongo/dist/index.cjs set: return callback(null) after the try of an (async () => { … })() whose promise is dropped; get: the record returned unchecked; @fastify/session/index.js: reply.setCookie(…) in the save callback, outside any try',
      'a browser whose stored session cannot be loaded, through @fastify/session',
    ),
  },
  'express-mysql-session': {
    'expiry-is-sub-second-on-the-wall-clock': common.wholeSeconds(
      'a session can still be returned up to a second after its cookie expired',
      'express-mysql-session/index.js set: expires = Math.round(expires.getTime() / 1000) into an int column; get: row.expires < Math.round(Date.now() / 1000)',
    ),
    'touch-never-resurrects-an-expired-session': common.touchRevives(
      'touch() brings back a session whose expiry has passed until the 15-minute cleanup deletes its row (reproduced 2.5 s after expiry): a request that loaded the session just before it expired revives it',
      'express-mysql-session/index.js touch: UPDATE ?? SET expires = ? WHERE session_id = ?, without the expiry check get() makes',
    ),
    'sids-differing-in-trailing-spaces-are-different-sessions': note(
      'ids that differ only in trailing spaces are one row: a set of "id " overwrites the session of "id", and a get of either returns it (reproduced on MariaDB 10.11)',
      'express-mysql-session/schema.sql: session_id varchar(128) COLLATE utf8mb4_bin, a PAD SPACE collation on MariaDB and MySQL 8',
      'set "id" then set "id " (a trailing space), then get "id"',
    ),
    'long-sids-round-trip': note(
      'set() of a sid longer than 128 characters fails with "Data too long for column \'session_id\'", so an app whose genid makes long ids (a signed or prefixed id, say) can store no session',
      'express-mysql-session/schema.sql: session_id varchar(128)',
      'a sid of 300 characters',
    ),
    'a-callback-that-throws-is-not-called-again': common.throwingCallbackTwice(
      "an exception thrown by the callback of get, set, touch or destroy (express-session code or the app's, after the call succeeded) calls the same callback a second time with that exception, so the request is handled twice",
      'express-mysql-session/index.js optional-callback wrapper: promise.then(result => callback(null, result)).catch(callback)',
    ),
    'corrupt-data-is-never-returned-as-a-session': common.corruptAsSession(
      'a row whose data is JSON but not a session (a string, an array, an object without cookie) is handed to express-session, which answers 500 to every request carrying that cookie',
      'express-mysql-session/index.js get: data = JSON.parse(data) is returned unchecked',
    ),
    'corrupt-data-calls-back-an-error': common.corruptWithoutError('express-mysql-session/index.js get: return data after JSON.parse, whatever it is'),
    'corrupt-data-error-has-a-code-and-no-data': common.corruptErrorText('express-mysql-session/index.js get: catch (error) { …; throw error; } rethrows the SyntaxError as is'),
    'unloadable-cookie-is-never-returned': common.unloadableCookie('express-mysql-session/index.js get: data = JSON.parse(data) is returned unchecked'),
    'deeply-nested-record-is-never-returned': common.deeplyNested('express-mysql-session/index.js get: data = JSON.parse(data) is returned unchecked'),
    'sessions-that-cannot-be-read-back-are-refused-at-set': common.acceptsUnreadable('express-mysql-session/index.js set: data = JSON.stringify(data) stored as is'),
    'lone-surrogate-sids-do-not-collide': common.loneSurrogates('express-mysql-session/index.js: session_id is a query parameter of a utf8mb4 column; mysql2 encodes it as UTF-8'),
    'all-lists-a-sid-named-like-a-prototype-as-its-own': common.prototypeInAll('express-mysql-session/index.js all: let sessions = {}; sessions[session_id] = data'),
    'http-unloadable-record-still-gets-an-answer': common.expressHangs('express-mysql-session/index.js get returns the record unchecked; express-session/index.js res.end wrapper: req.session.touch() and hash(req.session) outside any try'),
  },
};

/** Keyed by the store module's file name under stores/. */
export const foundByHand: Record<string, Finding[]> = {
  'connect-pg-simple': [
    {
      text: 'Two stores with different tableName in one schema cannot both create their table: table.sql names the primary key "session_pkey" and the index "IDX_session_expire" whatever the table, so the second fails with `relation "session_pkey" already exists` on every call (the report gives each namespace its own schema).',
      repro: 'two tables in one schema',
    },
    {
      text: "When the callback of get() throws (express-session code or the app's, after the session loaded), the store deletes the session and calls the callback a second time: a catch meant for JSON.parse also catches the callback's throw and answers it with this.destroy(sid, fn) (index.js get). The suite's case for it does not run on this store, which has none of length(), ids() and all() to prove its namespace empty first.",
      repro: 'a get() whose callback throws, then the session',
    },
  ],
};
