import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { SessionStore, SessionStoreError, booleanOption, connectionOf, optionError, ownOptionNames, positiveIntegerOption, validateIdentifier } from '../../shared';
import type { BaseStoreOptions, StoredEntry, StoredSession } from '../../shared';
import type { RedisAdapter, RedisNode } from './adapter';
import type { RedisClient } from './client-types';
import { ioredisAdapter, isIORedisClient } from './ioredis';
import { isNodeRedisClient, isNodeRedisCluster, nodeRedisAdapter, nodeRedisClusterAdapter } from './node-redis';

export type { IORedisClient, NodeRedisClient, NodeRedisCluster, RedisClient } from './client-types';

/** Whose clock decides that a session has expired: Redis' own expiry of the key, or the store's `now`. */
export type RedisExpiryClock = 'redis' | 'now';

export interface RedisStoreOptions<Client extends RedisClient = RedisClient> extends BaseStoreOptions {
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
  /** Let `clear()` run with `prefix: ''`, deleting every key of the database. Default false. */
  allowClearWithoutPrefix?: boolean;
  /** Keys asked of each SCAN step by `all`, `ids`, `length` and `clear`. Default 1000. */
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
}

export const DEFAULT_PREFIX = 'sess:';
export const DEFAULT_SCAN_COUNT = 1000;
const RECONNECT_CAP_MS = 250;

const PREFIX_PATTERN = /^[^\u0000-\u001f\u007f]{0,256}$/;
const PREFIX_RULE = 'a string of at most 256 characters without control characters';

class LuaScript {
  readonly sha: string;
  constructor(readonly lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }
}

/** ARGV: expiresAt, now, unlessExpiresAfter ('' for none). Only moves the expiry of a live key. */
const EXTEND = new LuaScript(`
local current = redis.call('PEXPIRETIME', KEYS[1])
if current == -2 then return 0 end
if current == -1 then current = math.huge end
if current <= tonumber(ARGV[2]) then return 0 end
if ARGV[3] ~= '' and current >= tonumber(ARGV[3]) then return 0 end
return redis.call('PEXPIREAT', KEYS[1], ARGV[1])
`);

/**
 * Sessions in Redis as plain serialized values (connect-redis' format), one key per session,
 * expiring natively at the session's exact instant (`SET … PXAT`). That native expiry decides what
 * is live, or with `expiryClock: 'now'` reads also fetch the key's PEXPIRETIME so the store's clock
 * decides. Bulk calls SCAN every master of a Cluster and send only single-key commands. Needs
 * Redis 7.0 or later.
 */
export class RedisStore<Client extends RedisClient = RedisClient> extends SessionStore {
  readonly client: Client;
  /** The commands and events of `client`, in its driver's words (ioredis or node-redis). */
  protected readonly adapter: RedisAdapter;
  /** Redis expires keys at the very instants the base computes, so on `'redis'` its expiry alone decides liveness. */
  private readonly redisClockDecides: boolean;
  private readonly scanCount: number;
  private readonly prefix: string;
  private readonly matchPattern: string;
  private readonly allowClearWithoutPrefix: boolean;
  private readonly unwatch: () => void;

  constructor(options: RedisStoreOptions<Client>) {
    const { prefix = DEFAULT_PREFIX } = options ?? {};
    const { expiryClock = options?.now === undefined ? 'redis' : 'now' } = options ?? {};
    validateIdentifier('redis', 'prefix', prefix, PREFIX_PATTERN, PREFIX_RULE);
    super('redis', options, { keyPrefix: prefix, ownOptions: ownOptionNames<RedisStoreOptions<Client>>({ client: true, url: true, prefix: true, allowClearWithoutPrefix: true, scanCount: true, expiryClock: true }) });
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
   * with a live expiry of its own.
   */
  protected async readRecord(key: string): Promise<StoredSession | null> {
    if (this.redisClockDecides && !this.touchUsesReadExpiry) {
      const payload = await this.adapter.get(key);
      return payload === null ? null : { payload, expiresAt: Infinity };
    }
    const [expiry, payload] = await this.adapter.readWithExpiry(key).catch(explain);
    // -2: no key when the expiry was read, so the session was missing at that instant.
    return payload === null || expiry === -2 ? null : { payload, expiresAt: expiryOf(expiry) };
  }

  // The write primitives hand back the client's own promise: the base discards what it resolves to.

  protected writeRecord(key: string, payload: string, expiresAt: number): Promise<unknown> {
    return this.adapter.setPxat(key, payload, expiresAt);
  }

  protected extendRecord(key: string, expiresAt: number, now: number, unlessExpiresAfter: number | undefined): Promise<unknown> {
    // PEXPIREAT never creates a key, and when Redis' clock decides a key Redis still holds is live.
    if (this.redisClockDecides && unlessExpiresAfter === undefined) return this.adapter.pexpireat(key, expiresAt);
    return this.runScript(EXTEND, key, [expiresAt, now, unlessExpiresAfter ?? '']);
  }

  protected removeRecord(key: string): Promise<unknown> {
    return this.adapter.del(key);
  }

  protected async *scanRecords(now: number, withPayload: boolean): AsyncIterable<StoredEntry[]> {
    for (const node of await this.masters()) {
      const seen = new Set<string>();
      for await (const keys of this.scanNode(node)) {
        // SCAN may return a key twice while the keyspace is rehashed.
        const fresh = keys.filter((key) => !seen.has(key));
        for (const key of fresh) seen.add(key);
        if (fresh.length > 0) yield await this.describe(node, fresh, withPayload);
      }
    }
  }

  protected async *removeAllRecords(): AsyncIterable<number> {
    if (this.prefix === '' && !this.allowClearWithoutPrefix) {
      throw optionError(
        'redis',
        "clear() with prefix '' would delete every key of the database, sessions or not: give the store a prefix, or set allowClearWithoutPrefix if the database holds nothing else",
      );
    }
    for (const node of await this.masters()) {
      for await (const keys of this.scanNode(node)) {
        await node.unlink(keys);
        yield keys.length;
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

  private async *scanNode(node: RedisNode): AsyncIterable<string[]> {
    let cursor = '0';
    do {
      const [next, matched] = await node.scan(cursor, this.matchPattern, this.scanCount);
      cursor = next;
      // MATCH is a glob: only keys that begin with the prefix, byte for byte, are ours to read or delete.
      const keys = matched.filter((key) => key.startsWith(this.prefix));
      if (keys.length > 0) yield keys;
    } while (cursor !== '0');
  }

  /** Fetches the expiry (and value) of keys that SCAN returned from `node`, sent together. */
  private async describe(node: RedisNode, keys: string[], withPayload: boolean): Promise<StoredEntry[]> {
    // The expiry before the value, for the reason readRecord gives.
    const replies = await node.describe(keys, withPayload).catch(explain);
    const entries: StoredEntry[] = [];
    keys.forEach((key, index) => {
      const { expiry, payload } = replies[index]!;
      // -2: the key expired or was deleted between SCAN and this read.
      if (expiry === -2) return;
      if (!withPayload) entries.push({ key, expiresAt: expiryOf(expiry) });
      else if (payload !== null) entries.push({ key, expiresAt: expiryOf(expiry), payload });
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
