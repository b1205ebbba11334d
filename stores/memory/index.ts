import { SessionStore, TOMBSTONE, ownOptionNames, positiveIntegerOption } from '../../shared';
import type { BaseStoreOptions, LifetimeOptions, ReaperOptions, StoredEntry, StoredSession, TombstoneOptions, UserIndexOptions } from '../../shared';

export interface MemoryStoreOptions extends BaseStoreOptions, ReaperOptions, TombstoneOptions, LifetimeOptions, UserIndexOptions {
  /**
   * Most sessions held at once; writing one more evicts the least recently used (read, written or
   * touched). Default Infinity, as express-session's MemoryStore: set it for any store a public
   * site can fill.
   */
  max?: number;
}

const DEFAULT_MEMORY_PRUNE_INTERVAL_MS = 60_000;

interface MemoryRecord extends StoredSession {
  payload: string;
  createdAt: number;
  owner: string | undefined;
}
const SCAN_BATCH = 1000;

/**
 * An in-process store with the same contract as the others: sessions are kept encoded (so a
 * caller's object is never shared), expired ones are never returned and are pruned on a timer
 * and on read, so the map never grows without bound. One process only: for tests, demos and
 * single-instance apps.
 */
export class MemoryStore extends SessionStore {
  /** In order of last use, least recent first: a Map iterates in insertion order, and a use re-inserts. */
  private readonly records = new Map<string, MemoryRecord>();
  /** The keys of each owner's records, kept with every write and removal. */
  private readonly owners = new Map<string, Set<string>>();
  private readonly max: number;

  constructor(options: MemoryStoreOptions = {}) {
    super('memory', options, {
      defaultPruneIntervalMs: DEFAULT_MEMORY_PRUNE_INTERVAL_MS,
      pruneBatchSize: 10_000,
      ownOptions: ownOptionNames<MemoryStoreOptions>({ max: true }),
      tombstones: true,
      maxLifetime: true,
      userIndex: true,
    });
    this.max = positiveIntegerOption('memory', 'max', options?.max, Infinity, { infinity: true });
  }

  protected readRecord(key: string, now: number): StoredSession | undefined {
    const record = this.records.get(key);
    if (record && !(record.expiresAt > now)) {
      this.drop(key);
      return undefined;
    }
    if (record) this.markUsed(key, record);
    return record;
  }

  protected writeRecord(key: string, payload: string, expiresAt: number, now: number, maxLifetimeMs: number | undefined, owner: string | undefined): void {
    const live = this.liveRecord(key, now);
    if (live?.payload === TOMBSTONE) return;
    const createdAt = live?.createdAt ?? now;
    const lifetimeEndsAt = maxLifetimeMs === undefined ? undefined : createdAt + maxLifetimeMs;
    this.put(key, { payload, expiresAt: capped(expiresAt, createdAt, maxLifetimeMs), createdAt, lifetimeEndsAt, owner });
  }

  protected extendRecord(key: string, expiresAt: number, now: number, unlessExpiresAfter: number | undefined, maxLifetimeMs: number | undefined): void {
    const record = this.liveRecord(key, now);
    if (!record || record.payload === TOMBSTONE) return;
    this.markUsed(key, record);
    if (unlessExpiresAfter !== undefined && record.expiresAt >= unlessExpiresAfter) return;
    record.expiresAt = capped(expiresAt, record.createdAt, maxLifetimeMs);
  }

  protected entombRecord(key: string, expiresAt: number, now: number): void {
    this.put(key, { payload: TOMBSTONE, expiresAt, createdAt: now, owner: undefined });
  }

  protected scanOwnerRecords(owner: string, now: number): StoredEntry[] {
    const entries: StoredEntry[] = [];
    for (const key of this.owners.get(owner) ?? []) {
      const record = this.liveRecord(key, now);
      if (record) entries.push({ key, expiresAt: record.expiresAt, payload: record.payload, createdAt: record.createdAt });
    }
    return entries;
  }

  private liveRecord(key: string, now: number): MemoryRecord | undefined {
    const record = this.records.get(key);
    return record && record.expiresAt > now ? record : undefined;
  }

  private put(key: string, record: MemoryRecord): void {
    const previous = this.records.get(key);
    if (previous?.owner !== record.owner) {
      if (previous?.owner !== undefined) this.unindex(previous.owner, key);
      if (record.owner !== undefined) this.owners.get(record.owner)?.add(key) ?? this.owners.set(record.owner, new Set([key]));
    }
    if (this.max !== Infinity) this.records.delete(key);
    this.records.set(key, record);
    if (this.records.size > this.max) this.drop(this.records.keys().next().value!);
  }

  /** Removes the record at `key` and its entry in the owner index. */
  private drop(key: string): void {
    const owner = this.records.get(key)?.owner;
    if (owner !== undefined) this.unindex(owner, key);
    this.records.delete(key);
  }

  private unindex(owner: string, key: string): void {
    const keys = this.owners.get(owner);
    keys?.delete(key);
    if (keys?.size === 0) this.owners.delete(owner);
  }

  /** Moves a record to the most recently used end; only a bounded store keeps that order. */
  private markUsed(key: string, record: MemoryRecord): void {
    if (this.max === Infinity) return;
    this.records.delete(key);
    this.records.set(key, record);
  }

  protected removeRecord(key: string): void {
    this.drop(key);
  }

  protected async *scanRecords(now: number, withPayload: boolean): AsyncIterable<StoredEntry[]> {
    let batch: StoredEntry[] = [];
    for (const [key, record] of this.records) {
      if (!(record.expiresAt > now) || record.payload === TOMBSTONE) continue;
      batch.push(withPayload ? { key, expiresAt: record.expiresAt, payload: record.payload } : { key, expiresAt: record.expiresAt });
      if (batch.length === SCAN_BATCH) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0) yield batch;
  }

  protected countRecords(now: number): number {
    let count = 0;
    for (const record of this.records.values()) if (record.expiresAt > now && record.payload !== TOMBSTONE) count++;
    return count;
  }

  protected removeAllRecords(): void {
    this.records.clear();
    this.owners.clear();
  }

  protected removeExpiredRecords(now: number, limit: number): number {
    let removed = 0;
    for (const [key, record] of this.records) {
      if (removed === limit) break;
      if (!(record.expiresAt > now)) {
        this.drop(key);
        removed++;
      }
    }
    return removed;
  }

  protected closeBackend(): void {
    this.removeAllRecords();
  }
}

/** `expiresAt`, at most `maxLifetimeMs` after `createdAt`. */
function capped(expiresAt: number, createdAt: number, maxLifetimeMs: number | undefined): number {
  return maxLifetimeMs === undefined ? expiresAt : Math.min(expiresAt, createdAt + maxLifetimeMs);
}
