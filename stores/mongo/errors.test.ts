import { MongoNetworkError, MongoServerError, MongoServerSelectionError } from 'mongodb';
import { indexRefusalMessage, isDuplicateKeyError, isIndexOptionUnsupported, isIndexRefusal, isMissingCollection, isUnreachableError } from './errors';
import { LIFETIME_INDEX, OWNER_INDEX, TTL_INDEX } from './ttl-index';

const serverError = (code: number, codeName: string, errmsg: string) => new MongoServerError({ ok: 0, code, codeName, errmsg });

const unauthorized = serverError(13, 'Unauthorized', 'not authorized on app to execute command { createIndexes: "sessions" }');
const optionsConflict = serverError(85, 'IndexOptionsConflict', 'Index already exists with a different name: sessions_ttl');
const keySpecsConflict = serverError(86, 'IndexKeySpecsConflict', 'An existing index has the same name as the requested index');

describe('MongoStore error classification', () => {
  it('treats a missing createIndex privilege and index conflicts as refusals that retrying will not change', () => {
    expect(isIndexRefusal(unauthorized)).toBe(true);
    expect(isIndexRefusal(optionsConflict)).toBe(true);
    expect(isIndexRefusal(keySpecsConflict)).toBe(true);
  });

  it('treats network failures and other server errors as worth retrying', () => {
    expect(isIndexRefusal(new MongoNetworkError('connect ECONNREFUSED 127.0.0.1:27017'))).toBe(false);
    expect(isIndexRefusal(serverError(11600, 'InterruptedAtShutdown', 'interrupted at shutdown'))).toBe(false);
    expect(isIndexRefusal(undefined)).toBe(false);
  });

  it('recognises listIndexes on a collection that does not exist yet', () => {
    expect(isMissingCollection(serverError(26, 'NamespaceNotFound', 'ns does not exist: app.sessions'))).toBe(true);
    expect(isMissingCollection(unauthorized)).toBe(false);
  });

  it('names the missing privilege, the namespace and both ways out', () => {
    const message = indexRefusalMessage(unauthorized, 'app.sessions', TTL_INDEX, undefined);
    expect(message).toContain('app.sessions');
    expect(message).toContain('lacks the createIndex privilege');
    expect(message).toContain('readWrite');
    expect(message).toContain('createIndex: false');
  });

  it('names an existing index on expires that has another expiry setting', () => {
    const message = indexRefusalMessage(optionsConflict, 'app.sessions', TTL_INDEX, { key: { expires: 1 }, name: 'old', expireAfterSeconds: 60 });
    expect(message).toContain('index old exists on expires with expireAfterSeconds 60');
    expect(message).toContain('createIndex: false');
  });

  it('says when an existing index on expires is not a TTL index', () => {
    const message = indexRefusalMessage(optionsConflict, 'app.sessions', TTL_INDEX, { key: { expires: 1 }, name: 'plain' });
    expect(message).toContain('index plain exists on expires without expireAfterSeconds (not a TTL index)');
  });

  it('says when another index took the name expires_1', () => {
    expect(indexRefusalMessage(keySpecsConflict, 'app.sessions', TTL_INDEX, undefined)).toContain('an index named expires_1 exists on other fields');
  });

  it('names the lifetimeEnds index and its field when that one is refused', () => {
    const message = indexRefusalMessage(optionsConflict, 'app.sessions', LIFETIME_INDEX, { key: { lifetimeEnds: 1 }, name: 'plain' });
    expect(message).toContain('cannot create the TTL index { lifetimeEnds: 1 } on app.sessions');
    expect(message).toContain('index plain exists on lifetimeEnds without expireAfterSeconds');
    expect(indexRefusalMessage(keySpecsConflict, 'app.sessions', LIFETIME_INDEX, undefined)).toContain('an index named lifetimeEnds_1 exists on other fields');
  });

  it('names the user index and the command to create it by hand when it is refused', () => {
    const message = indexRefusalMessage(unauthorized, 'app.sessions', OWNER_INDEX, undefined);
    expect(message).toContain('cannot create the index { owner: 1 } on app.sessions');
    expect(message).toContain("create it yourself ({ owner: 1 }, { name: 'owner_1', partialFilterExpression: { owner: { $exists: true } } }) and pass createIndex: false");
    expect(indexRefusalMessage(keySpecsConflict, 'app.sessions', OWNER_INDEX, undefined)).toContain('an index named owner_1 exists on other fields');
  });

  it('tells a server without TTL or partial indexes from another refusal', () => {
    const ferretdb = serverError(238, 'NotImplemented', 'Index option "partialFilterExpression" is not implemented yet');
    expect(isIndexOptionUnsupported(ferretdb, 'partialFilterExpression')).toBe(true);
    expect(isIndexOptionUnsupported(serverError(67, 'CannotCreateIndex', 'partialFilterExpression is not supported'), 'partialFilterExpression')).toBe(true);
    expect(isIndexOptionUnsupported(serverError(67, 'CannotCreateIndex', 'partialFilterExpression is not supported'), 'expireAfterSeconds')).toBe(false);
    expect(isIndexOptionUnsupported(serverError(72, 'InvalidOptions', 'expireAfterSeconds is not allowed here'), 'expireAfterSeconds')).toBe(true);
    expect(isIndexOptionUnsupported(optionsConflict, 'partialFilterExpression')).toBe(false);
    expect(isIndexOptionUnsupported(undefined, 'expireAfterSeconds')).toBe(false);
  });

  it('recognises a duplicate key, the answer to an upsert over a live tombstone', () => {
    expect(isDuplicateKeyError(serverError(11000, 'DuplicateKey', 'E11000 duplicate key error collection: app.sessions'))).toBe(true);
    expect(isDuplicateKeyError(unauthorized)).toBe(false);
    expect(isDuplicateKeyError(undefined)).toBe(false);
  });

  it('recognises the driver errors that mean the server is unreachable', () => {
    expect(isUnreachableError(new MongoNetworkError('connection closed'))).toBe(true);
    expect(isUnreachableError(new MongoServerSelectionError('Server selection timed out after 30000 ms', {} as never))).toBe(true);
  });

  it('does not take a server\'s answer for unreachability', () => {
    expect(isUnreachableError(unauthorized)).toBe(false);
    expect(isUnreachableError(new Error('boom'))).toBe(false);
  });
});
