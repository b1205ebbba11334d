import type { IndexDescriptionInfo } from 'mongodb';
import { LIFETIME_INDEX, OWNER_INDEX, TTL_INDEX, findIndexOn, isTtlIndexOn } from './ttl-index';

describe('MongoStore TTL index', () => {
  describe('the TTL index', () => {
    it('is connect-mongo\'s index with its options: { expires: 1 }, expireAfterSeconds 0, background, named expires_1', () => {
      expect(TTL_INDEX.key).toEqual({ expires: 1 });
      expect(TTL_INDEX.options).toEqual({ name: 'expires_1', expireAfterSeconds: 0, background: true });
    });

    it('accepts an existing index on expires alone with expireAfterSeconds 0, whatever its name', () => {
      const existing = { v: 2, key: { expires: 1 }, name: 'sessions_ttl', expireAfterSeconds: 0, background: true };
      expect(isTtlIndexOn('expires', existing as IndexDescriptionInfo)).toBe(true);
    });

    it('does not accept an index on expires with another expireAfterSeconds', () => {
      expect(isTtlIndexOn('expires', { key: { expires: 1 }, name: 'expires_1', expireAfterSeconds: 3600 })).toBe(false);
    });

    it('does not accept a plain (non-TTL) index on expires', () => {
      expect(isTtlIndexOn('expires', { key: { expires: 1 }, name: 'expires_1' })).toBe(false);
    });

    it('does not accept a descending or compound index on expires', () => {
      expect(isTtlIndexOn('expires', { key: { expires: -1 }, name: 'expires_-1', expireAfterSeconds: 0 })).toBe(false);
      expect(isTtlIndexOn('expires', { key: { expires: 1, user: 1 }, name: 'c', expireAfterSeconds: 0 })).toBe(false);
    });

    it('has a twin on lifetimeEnds for maxLifetime, without connect-mongo\'s background option', () => {
      expect(LIFETIME_INDEX.key).toEqual({ lifetimeEnds: 1 });
      expect(LIFETIME_INDEX.options).toEqual({ name: 'lifetimeEnds_1', expireAfterSeconds: 0 });
      expect(isTtlIndexOn('lifetimeEnds', { key: { lifetimeEnds: 1 }, name: 'ends', expireAfterSeconds: 0 })).toBe(true);
      expect(isTtlIndexOn('lifetimeEnds', { key: { expires: 1 }, name: 'expires_1', expireAfterSeconds: 0 })).toBe(false);
    });

    it('describes the user index: { owner: 1 } named owner_1, partial on the documents that have an owner, not a TTL index', () => {
      expect(OWNER_INDEX.key).toEqual({ owner: 1 });
      expect(OWNER_INDEX.options).toEqual({ name: 'owner_1', partialFilterExpression: { owner: { $exists: true } } });
      expect(OWNER_INDEX.options).not.toHaveProperty('expireAfterSeconds');
    });

    it('finds an index on expires alone among the collection\'s indexes', () => {
      const indexes: IndexDescriptionInfo[] = [
        { key: { _id: 1 }, name: '_id_' },
        { key: { expires: 1, user: 1 }, name: 'compound' },
        { key: { expires: 1 }, name: 'plain' },
      ];
      expect(findIndexOn('expires', indexes)?.name).toBe('plain');
      expect(findIndexOn('expires', indexes.slice(0, 2))).toBeUndefined();
    });
  });
});
