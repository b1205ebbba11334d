import type { IndexDescriptionInfo } from 'mongodb';
import {
  ALL_FILTER,
  EXTEND_OPTIONS,
  READ_PROJECTION,
  TTL_INDEX,
  WRITE_OPTIONS,
  entryOf,
  extendFilter,
  extendUpdate,
  findIndexOnExpires,
  idFilter,
  isTtlIndexOnExpires,
  liveFilter,
  readFilter,
  recordOf,
  scanProjection,
  writeUpdate,
} from './documents';

const NOW = Date.UTC(2030, 0, 1, 12, 0, 0, 345);
const LATER = NOW + 86_400_000 + 7;

describe('MongoStore documents', () => {
  describe('the TTL index', () => {
    it('is connect-mongo\'s index with its options: { expires: 1 }, expireAfterSeconds 0, background, named expires_1', () => {
      expect(TTL_INDEX.key).toEqual({ expires: 1 });
      expect(TTL_INDEX.options).toEqual({ name: 'expires_1', expireAfterSeconds: 0, background: true });
    });

    it('accepts an existing index on expires alone with expireAfterSeconds 0, whatever its name', () => {
      const existing = { v: 2, key: { expires: 1 }, name: 'sessions_ttl', expireAfterSeconds: 0, background: true };
      expect(isTtlIndexOnExpires(existing as IndexDescriptionInfo)).toBe(true);
    });

    it('does not accept an index on expires with another expireAfterSeconds', () => {
      expect(isTtlIndexOnExpires({ key: { expires: 1 }, name: 'expires_1', expireAfterSeconds: 3600 })).toBe(false);
    });

    it('does not accept a plain (non-TTL) index on expires', () => {
      expect(isTtlIndexOnExpires({ key: { expires: 1 }, name: 'expires_1' })).toBe(false);
    });

    it('does not accept a descending or compound index on expires', () => {
      expect(isTtlIndexOnExpires({ key: { expires: -1 }, name: 'expires_-1', expireAfterSeconds: 0 })).toBe(false);
      expect(isTtlIndexOnExpires({ key: { expires: 1, user: 1 }, name: 'c', expireAfterSeconds: 0 })).toBe(false);
    });

    it('finds an index on expires alone among the collection\'s indexes', () => {
      const indexes: IndexDescriptionInfo[] = [
        { key: { _id: 1 }, name: '_id_' },
        { key: { expires: 1, user: 1 }, name: 'compound' },
        { key: { expires: 1 }, name: 'plain' },
      ];
      expect(findIndexOnExpires(indexes)?.name).toBe('plain');
      expect(findIndexOnExpires(indexes.slice(0, 2))).toBeUndefined();
    });
  });

  describe('filters', () => {
    it('selects live documents by an expiry strictly after now, as a Date', () => {
      expect(liveFilter(NOW)).toEqual({ expires: { $gt: new Date(NOW) } });
    });

    it('keeps the milliseconds of now', () => {
      const filter = liveFilter(NOW) as { expires: { $gt: Date } };
      expect(filter.expires.$gt.getTime()).toBe(NOW);
    });

    it('reads one session by _id only while it is live', () => {
      expect(readFilter('sid-1', NOW)).toEqual({ _id: 'sid-1', expires: { $gt: new Date(NOW) } });
    });

    it('passes the session id as a value, never as an operator', () => {
      expect(readFilter('$where', NOW)).toEqual({ _id: '$where', expires: { $gt: new Date(NOW) } });
      expect(idFilter('{"$ne":null}')).toEqual({ _id: '{"$ne":null}' });
    });

    it('writes and deletes by _id alone', () => {
      expect(idFilter('sid-1')).toEqual({ _id: 'sid-1' });
    });

    it('clears the whole collection, which is the store\'s namespace', () => {
      expect(ALL_FILTER).toEqual({});
    });
  });

  describe('projections', () => {
    it('reads only the session and its expiry', () => {
      expect(READ_PROJECTION).toEqual({ _id: 0, session: 1, expires: 1 });
    });

    it('scans ids and expiries without the session data unless asked', () => {
      expect(scanProjection(false)).toEqual({ _id: 1, expires: 1 });
      expect(scanProjection(true)).toEqual({ _id: 1, session: 1, expires: 1 });
    });
  });

  describe('set', () => {
    it('sets the encoded session and the expiry as a Date in one update', () => {
      expect(writeUpdate('{"cookie":{}}', LATER)).toEqual({ $set: { session: '{"cookie":{}}', expires: new Date(LATER) } });
    });

    it('is an upsert', () => {
      expect(WRITE_OPTIONS).toEqual({ upsert: true });
    });
  });

  describe('touch', () => {
    it('matches the document only while it is live', () => {
      expect(extendFilter('sid-1', NOW, undefined)).toEqual({ _id: 'sid-1', expires: { $gt: new Date(NOW) } });
    });

    it('with touchAfter, matches only a document whose expiry is before unlessExpiresAfter', () => {
      expect(extendFilter('sid-1', NOW, LATER - 60_000)).toEqual({
        _id: 'sid-1',
        expires: { $gt: new Date(NOW), $lt: new Date(LATER - 60_000) },
      });
    });

    it('sets the expiry and nothing else', () => {
      const update = extendUpdate(LATER);
      expect(update).toEqual({ $set: { expires: new Date(LATER) } });
      expect(Object.keys(update.$set ?? {})).toEqual(['expires']);
    });

    it('never upserts', () => {
      expect(EXTEND_OPTIONS).toEqual({ upsert: false });
    });
  });

  describe('reading documents back', () => {
    it('turns a found document into the encoded session and its expiry in epoch ms', () => {
      expect(recordOf({ session: '{"a":1}', expires: new Date(LATER) })).toEqual({ payload: '{"a":1}', expiresAt: LATER });
    });

    it('turns no document into no record', () => {
      expect(recordOf(null)).toBeNull();
    });

    it('hands a non-string session to the codec as it is, so it is reported as corrupt', () => {
      const stored = { cookie: {} } as unknown as string;
      expect(recordOf({ session: stored, expires: new Date(LATER) })?.payload).toBe(stored);
    });

    it('reads a document without a Date expiry as expired', () => {
      const record = recordOf({ session: '{}', expires: '2099-01-01' as unknown as Date });
      expect(record?.expiresAt).toBeNaN();
      expect(entryOf({ _id: 'x', session: '{}' }, true).expiresAt).toBeNaN();
    });

    it('turns a scanned document into an entry keyed by _id, with the session only when asked', () => {
      const document = { _id: 'sid-1', session: '{"a":1}', expires: new Date(LATER) };
      expect(entryOf(document, true)).toEqual({ key: 'sid-1', expiresAt: LATER, payload: '{"a":1}' });
      expect(entryOf({ _id: 'sid-1', expires: new Date(LATER) }, false)).toEqual({ key: 'sid-1', expiresAt: LATER });
    });
  });
});
