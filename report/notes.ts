/**
 * Every failure the suite reports for a third-party store, checked by hand against the store's
 * source and reproduced outside the suite (report/repro.ts, waits of whole seconds):
 * what a user of that store would see. The generator fails (exit 1) on a failure missing here,
 * and on a note whose case no longer fails.
 */
export interface FailureNote {
  /** What a user of the store would see, in one sentence. */
  impact: string;
  /** The source line(s) the behaviour comes from, `package/file: what`. */
  source: string;
}

/** Keyed by the store module's file name under stores/, then by case id. */
export const verifiedFailures: Record<string, Record<string, FailureNote>> = {
  'express-session-memory': {
    'corrupt-data-is-never-returned-as-a-session': {
      impact:
        'a stored session that is not valid JSON or is JSON null makes get() throw synchronously inside the session middleware, and one that is JSON but not a session reaches express-session: either way every request carrying that cookie answers 500 until the cookie is dropped',
      source: 'express-session/session/memory.js getSession: JSON.parse(sess) and sess.cookie read outside any try, the parsed value returned unchecked',
    },
  },
  memorystore: {
    'cookie-expires-wins-over-a-shorter-ttl': {
      impact: 'with the ttl option set, a session ends after ttl even when its cookie lives longer: users are logged out early',
      source: 'memorystore/lib/memorystore.js getTTL: a numeric options.ttl is returned before cookie.maxAge is looked at (documented: "Defaults to session.maxAge")',
    },
    'cookie-expires-wins-over-a-longer-ttl': {
      impact: 'with the ttl option set, a session outlives a shorter cookie: a copied cookie keeps working until ttl',
      source: 'memorystore/lib/memorystore.js getTTL: options.ttl wins over cookie.maxAge',
    },
    'expired-sessions-not-counted-by-length': {
      impact: 'length() counts expired sessions until the next checkPeriod prune (reproduced: 2 with one of them expired 2.5 s earlier)',
      source: 'memorystore/lib/memorystore.js length: lru-cache itemCount, which includes stale entries',
    },
    'corrupt-data-is-never-returned-as-a-session': {
      impact:
        'a stored value that is valid JSON but not a session (a string, an array, an object without cookie) is handed to express-session, which answers 500 to every request carrying that cookie',
      source: 'memorystore/lib/memorystore.js get: the parsed value is passed on unchecked',
    },
  },
  'connect-redis': {
    'a-callback-that-throws-is-not-called-again': {
      impact:
        "when express-session's callback throws (an error in the app's own code after a session loads or saves), the store calls it a second time with that error: the request's handlers run twice, and a response already sent meets a second one (reproduced for get and set)",
      source: 'connect-redis/dist/connect-redis.js get, set, touch, destroy: return optionalCb(null, data, cb) inside try, and catch (err) { return optionalCb(err, null, cb) }',
    },
    'corrupt-data-is-never-returned-as-a-session': {
      impact:
        'a value under the prefix that is valid JSON but not a session (a string, an array, an object without cookie) is handed to express-session, which answers 500 to every request carrying that cookie',
      source: 'connect-redis/dist/connect-redis.js get: serializer.parse(data) is passed on unchecked',
    },
  },
  'connect-pg-simple': {
    'touch-never-resurrects-an-expired-session': {
      impact:
        'touch() brings back a session whose expiry has passed until the 15-minute pruner deletes its row (reproduced 2.5 s after expiry): a request that loaded the session just before it expired revives it',
      source: 'connect-pg-simple/index.js touch: UPDATE … SET expire WHERE sid = $2, without the expire >= now condition get() has',
    },
  },
  'better-sqlite3-session-store': {
    'expired-sessions-not-in-all': {
      impact: 'all() includes sessions whose expiry has passed until the 15-minute cleanup (reproduced 2.5 s after expiry)',
      source: 'better-sqlite3-session-store/src/index.js all: SELECT * FROM sessions, no expiry condition',
    },
    'expired-sessions-not-counted-by-length': {
      impact: 'length() counts expired sessions until the 15-minute cleanup deletes them (reproduced: 2 with one expired 2.5 s earlier)',
      source: 'better-sqlite3-session-store/src/index.js length: SELECT COUNT(*) FROM sessions, no expiry condition',
    },
    'corrupt-data-is-never-returned-as-a-session': {
      impact:
        'a row that is not valid JSON makes get() throw synchronously inside the session middleware, and one that is JSON but not a session reaches express-session: either way every request with that cookie answers 500',
      source: 'better-sqlite3-session-store/src/index.js get: cb(null, JSON.parse(res.sess)) outside the try',
    },
  },
  'connect-sqlite3': {
    'expired-sessions-not-in-all': {
      impact: 'all() includes sessions whose expiry has passed until the once-a-day cleanup (reproduced 2.5 s after expiry)',
      source: 'connect-sqlite3/lib/connect-sqlite3.js all: SELECT * FROM table, no expiry condition',
    },
    'expired-sessions-not-counted-by-length': {
      impact: 'length() counts expired sessions until the once-a-day cleanup deletes them (reproduced: 2 with one expired 2.5 s earlier)',
      source: 'connect-sqlite3/lib/connect-sqlite3.js length: SELECT COUNT(*), no expiry condition; dbCleanup runs every oneDay',
    },
    'corrupt-data-is-never-returned-as-a-session': {
      impact:
        'a row that is not valid JSON crashes the process: JSON.parse throws an uncaught SyntaxError inside the sqlite3 callback and get() never calls back (the database connection stays wedged if the crash is caught)',
      source: 'connect-sqlite3/lib/connect-sqlite3.js get: fn(null, JSON.parse(row.sess)) inside the db.get callback, no try',
    },
  },
  'connect-session-knex': {
    'a-callback-that-throws-is-not-called-again': {
      impact:
        "when express-session's callback throws, get(), set() and destroy() call it a second time with that error, and get() also rethrows it from an async method whose promise nobody awaits (an unhandled rejection, which ends the process on Node 15+) (reproduced for get and set)",
      source: 'connect-session-knex/dist/index.js get, set, destroy: callback?.(null, …) inside try, and catch (err) { callback?.(err); … }',
    },
    'expired-sessions-not-counted-by-length': {
      impact: 'length() counts expired sessions until the next 60-second cleanup (reproduced: 2 with one expired 2.5 s earlier)',
      source: 'connect-session-knex/dist/index.js length: count(sid) from the table, no expiry condition',
    },
    'corrupt-data-is-never-returned-as-a-session': {
      impact:
        'a row that is not valid JSON crashes the process on Node 15+: get() calls back the error and also rethrows it from an async method whose promise express-session ignores (an unhandled rejection); a row that is JSON but not a session answers 500',
      source: 'connect-session-knex/dist/index.js get: catch (err) { callback?.(err); throw err; }',
    },
  },
  'connect-mongo': {
    'expired-sessions-not-counted-by-length': {
      impact: 'length() counts sessions whose expiry has passed until the TTL monitor (about once a minute on MongoDB) or the autoRemove interval deletes them (reproduced: 2 with one of them expired 2.5 s earlier)',
      source: 'connect-mongo/src/lib/MongoStore.ts length: collection.countDocuments() with no expires condition, where get() and all() have one',
    },
    'touch-never-creates-a-missing-session': {
      impact:
        'touch() of a session that is not stored (destroyed by a logout in another tab, or expired and removed) calls back an error, which express-session hands to the app\'s error handler after the response (reproduced: "Unable to find the session to touch")',
      source: 'connect-mongo/src/lib/MongoStore.ts touch: matchedCount === 0 answers new Error("Unable to find the session to touch")',
    },
    'touch-never-resurrects-a-destroyed-session': {
      impact: 'touch() of a destroyed session calls back an error (see touch-never-creates-a-missing-session); it writes nothing',
      source: 'connect-mongo/src/lib/MongoStore.ts touch: matchedCount === 0 answers an error',
    },
    'touch-never-resurrects-an-expired-session': {
      impact:
        'touch() brings back a session whose expiry has passed until the TTL monitor or the autoRemove interval deletes it (reproduced 2.5 s after expiry): a request that loaded the session just before it expired revives it',
      source: 'connect-mongo/src/lib/MongoStore.ts touch: updateOne({ _id }, { $set: { expires } }), without the expires > now condition get() has',
    },
    'a-callback-that-throws-is-not-called-again': {
      impact:
        "when express-session's callback throws (an error in the app's own code after a session loads), get() and touch() call it a second time with that error: the request's handlers run twice (reproduced for get; set calls back outside its try and is not affected)",
      source: 'connect-mongo/src/lib/MongoStore.ts get, touch: callback(null, …) inside try, and catch (error) { callback(error) }',
    },
    'corrupt-data-is-never-returned-as-a-session': {
      impact:
        'a stored session that is valid JSON but not a session (a string, an array, an object without cookie) is handed to express-session, which then fails on every request carrying that cookie',
      source: 'connect-mongo/src/lib/MongoStore.ts get: transformFunctions.unserialize(sessionDoc.session) (JSON.parse) returned unchecked',
    },
  },
  'express-mysql-session': {
    'touch-never-resurrects-an-expired-session': {
      impact:
        'touch() brings back a session whose expiry has passed until the 15-minute cleanup deletes its row (reproduced 2.5 s after expiry): a request that loaded the session just before it expired revives it',
      source: 'express-mysql-session/index.js touch: UPDATE ?? SET expires = ? WHERE session_id = ?, without the expiry check get() makes',
    },
    'sids-differing-in-trailing-spaces-are-different-sessions': {
      impact:
        'ids that differ only in trailing spaces are one row: a set of "id " overwrites the session of "id", and a get of either returns it (reproduced on MariaDB 10.11)',
      source: 'express-mysql-session/schema.sql: session_id varchar(128) COLLATE utf8mb4_bin, a PAD SPACE collation on MariaDB and MySQL 8',
    },
    'a-callback-that-throws-is-not-called-again': {
      impact:
        'an exception thrown by the callback of get, set, touch or destroy (express-session code or the app\'s, after the call succeeded) calls the same callback a second time with that exception, so the request is handled twice',
      source: 'express-mysql-session/index.js optional-callback wrapper: promise.then(result => callback(null, result)).catch(callback)',
    },
    'corrupt-data-is-never-returned-as-a-session': {
      impact:
        'a row whose data is JSON but not a session (a string, an array, an object without cookie) is handed to express-session, which answers 500 to every request carrying that cookie',
      source: 'express-mysql-session/index.js get: data = JSON.parse(data) is returned unchecked',
    },
  },
};

/** Misbehaviours found by hand that no case of the suite reports in this configuration. */
export const foundByHand: Record<string, string[]> = {
  'connect-pg-simple': [
    'Two stores with different tableName in one schema cannot both create their table: table.sql names the primary key "session_pkey" and the index "IDX_session_expire" whatever the table, so the second fails with `relation "session_pkey" already exists` on every call (reproduced; the report gives each namespace its own schema).',
  ],
};
