import { SessionStore, type BaseStoreOptions, type StoredEntry, type StoredSession } from 'session-stores';

/**
 * A complete store on a Map: each primitive is the backend's one command for it, and every
 * session rule (callbacks and promises, expiry, touch, codec, ids, errors, time bounds) is the base's.
 */
export class MapStore extends SessionStore {
  private readonly records = new Map<string, StoredSession>();

  constructor(options: BaseStoreOptions = {}) {
    // ownOptions: the names of this store's own options (none); with it the base refuses any option it does not know.
    super('map', options, { ownOptions: [] });
  }

  protected readRecord(key: string): StoredSession | undefined {
    return this.records.get(key);
  }

  protected writeRecord(key: string, payload: string, expiresAt: number): void {
    this.records.set(key, { payload, expiresAt });
  }

  protected extendRecord(key: string, expiresAt: number, now: number, unlessExpiresAfter: number | undefined): void {
    const record = this.records.get(key);
    if (!record || record.expiresAt <= now) return;
    if (unlessExpiresAfter !== undefined && record.expiresAt >= unlessExpiresAfter) return;
    record.expiresAt = expiresAt;
  }

  protected removeRecord(key: string): void {
    this.records.delete(key);
  }

  protected async *scanRecords(now: number, withPayload: boolean): AsyncIterable<StoredEntry[]> {
    const live = [...this.records].filter(([, record]) => record.expiresAt > now);
    yield live.map(([key, record]) => (withPayload ? { key, expiresAt: record.expiresAt, payload: record.payload } : { key, expiresAt: record.expiresAt }));
  }

  protected removeAllRecords(): void {
    this.records.clear();
  }

  /** Present, so the base runs a reaper (pruneInterval) and prune() works: a Map does not expire entries by itself. */
  protected removeExpiredRecords(now: number, limit: number): number {
    let removed = 0;
    for (const [key, record] of this.records) {
      if (removed === limit) break;
      if (record.expiresAt <= now) removed += Number(this.records.delete(key));
    }
    return removed;
  }
}
