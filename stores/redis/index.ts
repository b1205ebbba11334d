import type { Redis } from 'ioredis';
import {
  SessionStore,
  SessionStoreError,
  TOMBSTONE,
  booleanOption,
  connectionOf,
  optionError,
  ownOptionNames,
  positiveIntegerOption,
  refuseWithSharedLayout,
  validateIdentifier,
} from '../../shared';
import type { BaseStoreOptions, LifetimeOptions, StoredEntry, StoredSession, TombstoneOptions, UserIndexOptions } from '../../shared';
import type { RedisAdapter, RedisNode } from './adapter';
import type { RedisClient } from './client-types';
import { ioredisAdapter, isIORedisClient } from './ioredis';
import { EXTEND, type LuaScript, WRITE, createdAtOf, sessionPartOf } from './values';
import { isNodeRedisClient, isNodeRedisCluster, nodeRedisAdapter, nodeRedisClusterAdapter } from './node-redis';

export type { IORedisClient, NodeRedisClient, NodeRedisCluster, RedisClient } from './client-types';

/** Whose clock decides that a session has expired: Redis' own expiry of the key, or the store's `now`. */
export type RedisExpiryClock = 'redis' | 'now';

export interface RedisStoreOptions<Client extends RedisClient = RedisClient> extends BaseStoreOptions, TombstoneOptions, LifetimeOptions, UserIndexOptions {
  /**
   * A client you own, which the store never connects or closes: an ioredis `Redis` (single node or
   * Sentinel) or `Cluster`, or a connected node-redis v5 or v6 client or cluster (`createClient()` or
   * `createCluster()` of the `redis` package).
   */
  client?: Client;
  /** A `redis://` or `rediss://` URL: the store opens its own ioredis client and closes it in `close()`. */
  url?: string;
  /**
   * Prepended to every session id to form its key. Default `sess:`, as in connect-redis. `''` is
   * accepted (connect-redis' keys without a prefix), but then the store's namespace is the whole
   * database: `clear()` is refused unless `allowClearWithoutPrefix` is set.
   */
  prefix?: string;
  /**
   * With `userOf`, prepended to each user's key (the user id, or its SHA-256 with `hashIds` or
   * `encryptionKeys`) to form the key of that user's set of session keys. Default `by-user:` +
   * `prefix`. Neither it nor `prefix` may start the other, so that no index key is in the sessions'
   * SCAN or could be a session's key. `clear()` deletes the keys under it too.
   */
  userIndexPrefix?: string;
  /** Let `clear()` run with `prefix: ''`, deleting every key of the database. Default false. */
  allowClearWithoutPrefix?: boolean;
  /** Keys asked of each SCAN step by `all`, `ids`, `length` and `clear`, and of each SSCAN step by `sessionsOf`. Default 1000. */
  scanCount?: number;
  /**
   * Whose clock decides that a session has expired. `'redis'`: Redis' own expiry of the key (set to
   * the instant the store computed), so `get` is a plain GET and `touch` a plain PEXPIREAT. `'now'`:
   * the store's `now` clock, so `get` also reads the key's PEXPIRETIME and `touch` checks it in a
   * script. With `touchAfter`, `get` reads PEXPIRETIME on either clock (in the same round trip), so
   * that a touch it makes unnecessary sends nothing, and the store's clock decides.
   * Default: `'now'` when the `now` option is given (a clock that tests move), else `'redis'`.
   */
  expiryClock?: RedisExpiryClock;
  /**
   * `'connect-redis'`: each value is the serialized session alone, exactly what connect-redis reads
   * and writes, for an app that runs both on the same keys. There is no room in it for a creation
   * instant, and connect-redis would count a tombstone as a session, so `maxLifetime` and
   * `tombstoneTtl` are refused with it (and `serializer`, `hashIds`, `encryptionKeys`). Default: the
   * store's own values, which carry their creation instant, and tombstones.
   */
  compat?: 'connect-redis';
}

export const DEFAULT_PREFIX = 'sess:';
export const DEFAULT_SCAN_COUNT = 1000;
const RECONNECT_CAP_MS = 250;

const PREFIX_PATTERN = /^[^\u0000-\u001f\u007f]{0,256}$/;
const PREFIX_RULE = 'a string of at most 256 characters without control characters';
/** What the default userIndexPrefix puts before the store's prefix: a key under it starts otherwise than every session key. */
const USER_INDEX_MARK = 'by-user:';
const INDEX_PREFIX_PATTERN = /^[^\u0000-\u001f\u007f]{1,256}$/;
const INDEX_PREFIX_RULE = 'a non-empty string of at most 256 characters without control characters';

/**
 * Sessions in Redis as string values, one key per session, each value the session behind a short
 * head that holds its creation instant (with `compat: 'connect-redis'`, the session alone),
 * expiring natively at the session's exact instant (`PXAT`). That native expiry decides what is
 * live, or with `expiryClock: 'now'` reads also fetch the key's PEXPIRETIME so the store's clock
 * decides. A destroyed session leaves an empty value, its tombstone, that the write script never
 * writes over. With `userOf`, each user's set (under `userIndexPrefix`) holds the keys of that
 * user's sessions, for `sessionsOf`. Bulk calls SCAN every master of a Cluster and send only
 * single-key commands. Needs Redis 7.0 or later.
 */
export class RedisStore<Client extends RedisClient = RedisClient> extends SessionStore {
  readonly client: Client;
  /** The commands and events of `client`, in its driver's words (ioredis or node-redis). */
  protected readonly adapter: RedisAdapter;
  /** Redis expires keys at the very instants the base computes, so on `'redis'` its expiry alone decides liveness. */
  private readonly redisClockDecides: boolean;
  /** `compat: 'connect-redis'`: plain values, no tombstones, no creation instants. */
  private readonly sharesConnectRedisValues: boolean;
  private readonly scanCount: number;
  private readonly prefix: string;
  private readonly matchPattern: string;
  /** Where each user's set of session keys lives: this + the owner key; undefined where the store keeps no index. */
  private readonly indexPrefix: string | undefined;
  private readonly allowClearWithoutPrefix: boolean;
  private readonly unwatch: () => void;

  constructor(options: RedisStoreOptions<Client>) {
    const { prefix = DEFAULT_PREFIX } = options ?? {};
    const { expiryClock = options?.now === undefined ? 'redis' : 'now' } = options ?? {};
    validateIdentifier('redis', 'prefix', prefix, PREFIX_PATTERN, PREFIX_RULE);
    const sharesConnectRedisValues = sharesConnectRedisValuesOf(options);
    if (sharesConnectRedisValues) refuseWithSharedLayout('redis', 'connect-redis', options);
    const indexPrefix = indexPrefixOf(prefix, options, sharesConnectRedisValues);
    super('redis', options, {
      keyPrefix: prefix,
      ownOptions: ownOptionNames<RedisStoreOptions<Client>>({
        client: true,
        url: true,
        prefix: true,
        userIndexPrefix: true,
        allowClearWithoutPrefix: true,
        scanCount: true,
        expiryClock: true,
        compat: true,
      }),
      tombstones: !sharesConnectRedisValues,
      maxLifetime: !sharesConnectRedisValues,
      userIndex: !sharesConnectRedisValues,
    });
    this.indexPrefix = indexPrefix;
    this.sharesConnectRedisValues = sharesConnectRedisValues;
    if (expiryClock !== 'redis' && expiryClock !== 'now') {
      throw optionError('redis', `expiryClock must be 'redis' or 'now', got ${typeof expiryClock === 'string' ? `'${expiryClock}'` : String(expiryClock)}`);
    }
    this.redisClockDecides = expiryClock === 'redis';
    this.scanCount = positiveIntegerOption('redis', 'scanCount', options.scanCount, DEFAULT_SCAN_COUNT);
    this.allowClearWithoutPrefix = booleanOption('redis', 'allowClearWithoutPrefix', options.allowClearWithoutPrefix, false);
    this.prefix = prefix;
    this.matchPattern = `${escapeGlob(prefix)}*`;
    this.client = this.adopt(
      connectionOf<Client, RedisStoreOptions<Client>>('redis', options, {
        given: 'client',
        what: 'an ioredis Redis or Cluster, or a node-redis v5 or v6 client or cluster',
        accepts: (client) => isIORedisClient(client) || isNodeRedisClient(client) || isNodeRedisCluster(client),
        opened: ['url'],
        open: ({ url }) => openClient(url) as RedisClient as Client,
      }),
      (client) => quit(client as RedisClient as Redis),
    );
    this.adapter = adapterOf(this.client);
    this.unwatch = this.adapter.watch(
      () => this.markAvailable(),
      () => this.markUnavailable(),
    );
  }

  /**
   * When Redis' own expiry (set with PXAT to the instant the base computed) decides, a plain GET
   * serves. The store's clock needs the key's expiry too, and so does a touch decided by the read:
   * PEXPIRETIME then GET, sent in the same tick, one round trip (a quarter of the Redis CPU of one
   * script that runs both). The expiry goes first: a value replaced between the two was written by a set,
   * with a live expiry of its own, or is a tombstone, which the base reads as no session.
   */
  protected readRecord(key: string): Promise<StoredSession | null> {
    // One reaction on the driver's promise, on the path of every request.
    if (this.redisExpiryDecides) return this.adapter.get(key).then((value) => (value === null ? null : { payload: sessionPartOf(value), expiresAt: Infinity }));
    return this.adapter.readWithExpiry(key).then(([expiry, value]) => {
      // -2: no key when the expiry was read, so the session was missing at that instant.
      if (value === null || expiry === -2) return null;
      // The head is parsed only where a lifetime needs it.
      const createdAt = this.settings.maxLifetimeMs === undefined ? undefined : createdAtOf(value).createdAt;
      return this.storedSession(sessionPartOf(value), expiryOf(expiry), createdAt);
    }, explain);
  }

  // The write primitives hand back the client's own promise: the base discards what it resolves to.

  /**
   * One script, one round trip: it must not write over a live tombstone, and it keeps the creation
   * instant of a live record, which a plain SET can do neither of (SET … GET could only repair a
   * tombstone after a concurrent get had already seen the session it wrote back). With an owner,
   * the owner's index is written first, in the same round trip (see indexUntil).
   */
  protected writeRecord(key: string, payload: string, expiresAt: number, now: number, maxLifetimeMs: number | undefined, owner: string | undefined): Promise<unknown> {
    if (this.sharesConnectRedisValues) return this.adapter.setPxat(key, payload, expiresAt);
    const args = [payload, expiresAt, now, this.liveAsOf(now), maxLifetimeMs ?? ''];
    if (owner === undefined) return this.runScript(WRITE, key, args);
    const indexed = this.indexUntil(owner, key, expiresAt);
    return Promise.all([indexed, this.runScript(WRITE, key, args)]);
  }

  protected extendRecord(
    key: string,
    expiresAt: number,
    now: number,
    unlessExpiresAfter: number | undefined,
    maxLifetimeMs: number | undefined,
    owner: string | undefined,
  ): Promise<unknown> {
    // PEXPIREAT never creates a key, and when Redis' clock decides a key Redis still holds is live; it
    // may lengthen a tombstone, which holds no session. The lifetime cap needs the head: the script.
    const extended =
      this.redisClockDecides && unlessExpiresAfter === undefined && maxLifetimeMs === undefined
        ? this.adapter.pexpireat(key, expiresAt)
        : this.runScript(EXTEND, key, [expiresAt, this.liveAsOf(now), unlessExpiresAfter ?? '', maxLifetimeMs ?? '']);
    if (owner === undefined) return extended;
    // The owner's index outlives the session it lists: moved as far, never back, in the same round trip.
    return Promise.all([extended, this.adapter.pexpireat(this.indexKeyOf(owner), expiresAt, 'GT')]);
  }

  protected entombRecord(key: string, expiresAt: number): Promise<unknown> {
    return this.adapter.setPxat(key, TOMBSTONE, expiresAt);
  }

  protected removeRecord(key: string): Promise<unknown> {
    return this.adapter.del(key);
  }

  /** A plain GET serves when Redis' expiry alone decides what `get` returns (see readRecord). */
  private get redisExpiryDecides(): boolean {
    return this.redisClockDecides && !this.touchUsesReadExpiry;
  }

  /** The instant the scripts judge liveness by: the store's `now` where its clock decides what `get` serves, else '' (Redis' own expiry). */
  private liveAsOf(now: number): number | '' {
    return this.redisExpiryDecides ? '' : now;
  }

  protected async *scanRecords(now: number, withPayload: boolean): AsyncIterable<StoredEntry[]> {
    for (const node of await this.masters()) {
      const seen = new Set<string>();
      for await (const keys of this.scanNode(node, this.prefix)) {
        // SCAN may return a key twice while the keyspace is rehashed.
        const fresh = keys.filter((key) => !seen.has(key));
        for (const key of fresh) seen.add(key);
        if (fresh.length > 0) yield await this.describe(node, fresh, withPayload);
      }
    }
  }

  /**
   * The members of the owner's set, a SSCAN step at a time, each step's keys read (expiry, then
   * value) in one batch, sent together (on a Cluster, to the master of each key). Members whose key
   * is gone, a tombstone or expired are removed from the set here (a first set of such a key that
   * runs between this read and the SREM loses its entry until its next set); the base checks the
   * rest against their sessions and hands those saved since under another user to forgetOwnerRecords.
   */
  protected async scanOwnerRecords(owner: string, now: number): Promise<StoredEntry[]> {
    const indexKey = this.indexKeyOf(owner);
    const entries: StoredEntry[] = [];
    const seen = new Set<string>();
    let cursor = '0';
    do {
      const [next, members] = await this.adapter.sscan(indexKey, cursor, this.scanCount);
      cursor = next;
      // SSCAN may return a member twice while the set is rehashed; a member outside the prefix is no key of ours to read.
      const fresh = members.filter((key) => !seen.has(key) && key.startsWith(this.prefix));
      for (const key of fresh) seen.add(key);
      const records = await Promise.all(fresh.map((key) => this.adapter.readWithExpiry(key))).catch(explain);
      const gone: string[] = [];
      fresh.forEach((key, index) => {
        const [expiry, value] = records[index]!;
        const expiresAt = expiryOf(expiry);
        if (value === null || expiry === -2 || value === '' || !(expiresAt > now)) gone.push(key);
        else entries.push({ key, expiresAt, payload: sessionPartOf(value), ...createdAtOf(value) });
      });
      if (gone.length > 0) await this.adapter.srem(indexKey, gone);
    } while (cursor !== '0');
    return entries;
  }

  protected forgetOwnerRecords(owner: string, keys: string[]): Promise<unknown> {
    return this.adapter.srem(this.indexKeyOf(owner), keys);
  }

  /** The sessions under the prefix, then the user index keys under userIndexPrefix: both the store's own. */
  protected async *removeAllRecords(): AsyncIterable<number> {
    if (this.prefix === '' && !this.allowClearWithoutPrefix) {
      throw optionError(
        'redis',
        "clear() with prefix '' would delete every key of the database, sessions or not: give the store a prefix, or set allowClearWithoutPrefix if the database holds nothing else",
      );
    }
    const prefixes = this.indexPrefix === undefined ? [this.prefix] : [this.prefix, this.indexPrefix];
    for (const prefix of prefixes) {
      for (const node of await this.masters()) {
        for await (const keys of this.scanNode(node, prefix)) {
          await node.unlink(keys);
          yield keys.length;
        }
      }
    }
  }

  protected async ping(): Promise<void> {
    await this.adapter.ping();
  }

  protected closeBackend(): void {
    this.unwatch();
  }

  protected isUnavailableError(error: unknown): boolean {
    return this.adapter.isUnavailableError(error) || super.isUnavailableError(error);
  }

  /** Every node that holds keys: the client itself, or each master of a Cluster. */
  private async masters(): Promise<RedisNode[]> {
    const masters = await this.adapter.masters();
    if (masters.length === 0) throw new SessionStoreError('ERR_SESSION_BACKEND', 'the Cluster knows no master node', { store: 'redis' });
    return masters;
  }

  /** The keys of `node` that begin with `prefix`. */
  private async *scanNode(node: RedisNode, prefix: string): AsyncIterable<string[]> {
    const pattern = prefix === this.prefix ? this.matchPattern : `${escapeGlob(prefix)}*`;
    let cursor = '0';
    do {
      const [next, matched] = await node.scan(cursor, pattern, this.scanCount);
      cursor = next;
      // MATCH is a glob: only keys that begin with the prefix, byte for byte, are ours to read or delete.
      const keys = matched.filter((key) => key.startsWith(prefix));
      if (keys.length > 0) yield keys;
    } while (cursor !== '0');
  }

  /** The key of the owner's set of session keys. */
  private indexKeyOf(owner: string): string {
    return this.indexPrefix! + owner;
  }

  /**
   * SADD of the session's key to its owner's set, then PEXPIREAT NX (a new set gets an expiry) and
   * GT (a set only ever lives longer), so the set outlives each session it lists; sent in the tick of
   * the write script and before it. On one node Redis runs them in that order, so a session is never
   * stored before its index entry. On a Cluster the set may live on another master, and both go out
   * at once: a failure of either fails the set, and a session stored while its index failed is found
   * again once its next set adds it.
   */
  private indexUntil(owner: string, key: string, expiresAt: number): Promise<unknown> {
    const indexKey = this.indexKeyOf(owner);
    return Promise.all([this.adapter.sadd(indexKey, key), this.adapter.pexpireat(indexKey, expiresAt, 'NX'), this.adapter.pexpireat(indexKey, expiresAt, 'GT')]);
  }

  /** Fetches the expiry and the value (or, without payload, its length) of keys that SCAN returned from `node`, sent together. */
  private async describe(node: RedisNode, keys: string[], withPayload: boolean): Promise<StoredEntry[]> {
    // The expiry before the value, for the reason readRecord gives.
    const replies = await node.describe(keys, withPayload).catch(explain);
    const entries: StoredEntry[] = [];
    keys.forEach((key, index) => {
      const { expiry, value, empty } = replies[index]!;
      // -2: the key expired or was deleted between SCAN and this read; an empty value is a tombstone.
      if (expiry === -2 || empty) return;
      if (!withPayload) entries.push({ key, expiresAt: expiryOf(expiry) });
      else if (value !== null) entries.push({ key, expiresAt: expiryOf(expiry), payload: sessionPartOf(value) });
    });
    return entries;
  }

  /** EVALSHA, loading the script with EVAL on the node that lacks it (a new or restarted server). */
  private async runScript(script: LuaScript, key: string, args: (string | number)[]): Promise<unknown> {
    try {
      return await this.adapter.evalsha(script.sha, key, args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) return explain(error);
      return this.adapter.eval(script.lua, key, args).catch(explain);
    }
  }
}

/**
 * The prefix of the user index keys: `userIndexPrefix`, or `by-user:` + the prefix; undefined for
 * none (compat, or a prefix from which none derives, without userOf). Neither it nor the prefix may
 * start the other: then no index key matches the sessions' SCAN pattern, and none is a session's
 * key, whatever the session id or the user id holds.
 */
function indexPrefixOf(prefix: string, options: RedisStoreOptions<RedisClient>, sharesConnectRedisValues: boolean): string | undefined {
  const { userIndexPrefix, userOf } = options;
  if (sharesConnectRedisValues) {
    if (userIndexPrefix !== undefined) throw optionError('redis', "compat 'connect-redis' keeps no user index: userIndexPrefix cannot be used with it");
    return undefined;
  }
  if (userIndexPrefix !== undefined) validateIdentifier('redis', 'userIndexPrefix', userIndexPrefix, INDEX_PREFIX_PATTERN, INDEX_PREFIX_RULE);
  const indexPrefix = userIndexPrefix ?? (prefix === '' ? undefined : `${USER_INDEX_MARK}${prefix}`);
  if (indexPrefix !== undefined && !indexPrefix.startsWith(prefix) && !prefix.startsWith(indexPrefix)) return indexPrefix;
  // Without userOf a default index prefix only serves clear(), which then has no index keys to delete.
  if (userOf === undefined && userIndexPrefix === undefined) return undefined;
  if (prefix === '') {
    throw optionError('redis', "userOf needs a prefix: with prefix '' the sessions' namespace is every key of the database, a user's index included");
  }
  throw optionError('redis', "userIndexPrefix (by default 'by-user:' + prefix) and prefix must not start one another, or the sessions' SCAN would meet the index keys: give another userIndexPrefix");
}

function sharesConnectRedisValuesOf(options: RedisStoreOptions<RedisClient> | undefined): boolean {
  const compat = options?.compat;
  if (compat === undefined) return false;
  if (compat === 'connect-redis') return true;
  throw optionError('redis', `compat must be 'connect-redis' or absent, got ${typeof compat === 'string' ? `'${compat}'` : String(compat)}`);
}

/** The adapter of `client`, or an options error for anything that is neither driver's client. */
function adapterOf(client: unknown): RedisAdapter {
  if (isNodeRedisCluster(client)) return nodeRedisClusterAdapter(client);
  if (isNodeRedisClient(client)) return nodeRedisAdapter(client);
  if (isIORedisClient(client)) return ioredisAdapter(client);
  throw optionError('redis', 'client must be an ioredis Redis or Cluster, or a node-redis v5 or v6 client or cluster');
}

/** Loaded only for `url`: a store on a node-redis client runs without ioredis installed. */
function loadIORedis(): typeof import('ioredis').Redis {
  try {
    return (require('ioredis') as typeof import('ioredis')).Redis;
  } catch (error) {
    throw optionError('redis', `the url option opens an ioredis client, and ioredis did not load (${(error as Error).message}): install it, or pass a client`);
  }
}

/** PEXPIRETIME answers -1 for a key without expiry (one written with connect-redis' disableTTL). */
function expiryOf(pexpiretime: number): number {
  return pexpiretime === -1 ? Infinity : pexpiretime;
}

/** Rethrows `error`, naming the cause when the server is older than Redis 7.0. */
function explain(error: unknown): never {
  if (error instanceof Error && /unknown (redis )?command.*(pexpiretime|called from script)/i.test(error.message)) {
    throw new SessionStoreError('ERR_SESSION_BACKEND', 'RedisStore needs Redis 7.0 or later (PEXPIRETIME)', {
      store: 'redis',
      cause: error,
    });
  }
  throw error;
}

/** SCAN MATCH treats `* ? [ ] \` as glob syntax; the prefix is matched literally. */
export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

/** An ioredis client of the store's own, from `url`. */
function openClient(url: unknown): Redis {
  if (typeof url !== 'string' || !/^rediss?:\/\//.test(url)) {
    throw optionError('redis', 'url must be a redis:// or rediss:// URL');
  }
  const IORedis = loadIORedis();
  let own: Redis;
  try {
    // ioredis backs off to 2 s between reconnects; a quarter second keeps recovery after an outage quick.
    own = new IORedis(url, { retryStrategy: (attempt) => Math.min(attempt * 50, RECONNECT_CAP_MS) });
  } catch {
    // ioredis' error quotes the URL, password included: none of it goes into ours.
    throw optionError('redis', 'url is not a valid redis:// or rediss:// URL');
  }
  // Failures reach callers through each call's error; without a listener ioredis logs every reconnect attempt.
  own.on('error', () => undefined);
  return own;
}

/** Ends the ioredis client the store opened from `url`, cleanly when it is connected. */
async function quit(client: Redis): Promise<void> {
  if (client.status === 'end') return;
  if (client.status === 'ready') {
    const ended = new Promise((resolve) => client.once('end', resolve));
    try {
      await client.quit();
      await ended;
      return;
    } catch {
      // The connection dropped during QUIT: the disconnect below stops the reconnection.
    }
  }
  // Also cancels a pending reconnection; ioredis then emits no 'end', so there is nothing to wait for.
  client.disconnect();
}
