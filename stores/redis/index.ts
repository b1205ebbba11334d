import { createHash } from 'node:crypto';
import { Redis, type Cluster } from 'ioredis';
import { SessionStore, SessionStoreError, optionError, validateIdentifier } from '../../shared';
import type { BaseStoreOptions, StoredEntry, StoredSession } from '../../shared';

export interface RedisStoreOptions extends BaseStoreOptions {
  /** An ioredis `Redis` (single node or Sentinel) or `Cluster` that you own: the store never closes it. */
  client?: Redis | Cluster;
  /** A `redis://` or `rediss://` URL: the store opens its own client and closes it in `close()`. */
  url?: string;
  /** Prepended to every session id to form its key. Default `sess:`, as in connect-redis. */
  prefix?: string;
  /** Keys asked of each SCAN step by `all`, `ids`, `length` and `clear`. Default 1000. */
  scanCount?: number;
}

export const DEFAULT_PREFIX = 'sess:';
export const DEFAULT_SCAN_COUNT = 1000;

const PREFIX_PATTERN = /^[^\u0000-\u001f\u007f]{1,256}$/;
const PREFIX_RULE = 'a string of 1 to 256 characters without control characters';

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
 * expiring natively at the session's exact instant (`SET … PXAT`). Reads fetch the key's
 * PEXPIRETIME with its value so the store's clock decides what is live. Bulk calls SCAN every
 * master of a Cluster and send only single-key commands. Needs Redis 7.0 or later.
 */
export class RedisStore extends SessionStore {
  readonly client: Redis | Cluster;
  private readonly ownsClient: boolean;
  private readonly scanCount: number;
  private readonly matchPattern: string;
  private readonly onReady = () => this.markAvailable();
  private readonly onClose = () => this.markUnavailable();

  constructor(options: RedisStoreOptions) {
    const { client, url, prefix = DEFAULT_PREFIX, scanCount = DEFAULT_SCAN_COUNT } = options ?? {};
    validateIdentifier('redis', 'prefix', prefix, PREFIX_PATTERN, PREFIX_RULE);
    super('redis', options, { keyPrefix: prefix });
    if (!Number.isSafeInteger(scanCount) || scanCount < 1) {
      throw optionError('redis', `scanCount must be a positive integer, got ${String(scanCount)}`);
    }
    this.scanCount = scanCount;
    this.matchPattern = `${escapeGlob(prefix)}*`;
    if ((client === undefined) === (url === undefined)) {
      throw optionError('redis', 'pass exactly one of client (an ioredis Redis or Cluster) and url');
    }
    if (client !== undefined) {
      if (typeof client !== 'object' || client === null || typeof (client as Redis).evalsha !== 'function') {
        throw optionError('redis', 'client must be an ioredis Redis or Cluster');
      }
      if (clientKeyPrefixOf(client)) {
        throw optionError('redis', "the client's keyPrefix is not supported: put it in the store's prefix option instead");
      }
      this.client = client;
      this.ownsClient = false;
    } else {
      if (typeof url !== 'string' || !/^rediss?:\/\//.test(url)) {
        throw optionError('redis', 'url must be a redis:// or rediss:// URL');
      }
      // Commands issued in one tick share one socket write instead of one write each: far cheaper under concurrent requests.
      this.client = new Redis(url, { enableAutoPipelining: true });
      this.ownsClient = true;
      // Failures reach callers through each call's error; without a listener ioredis logs every reconnect attempt.
      this.client.on('error', () => undefined);
    }
    this.client.on('ready', this.onReady);
    this.client.on('close', this.onClose);
    this.client.on('end', this.onClose);
  }

  /**
   * PEXPIRETIME then GET, sent in the same tick: one round trip, and far cheaper for Redis than a script.
   * The expiry goes first: a value replaced between the two was written by a set, with a live expiry of its own.
   */
  protected async readRecord(key: string): Promise<StoredSession | null> {
    const [expiry, payload] = await Promise.all([this.client.pexpiretime(key), this.client.get(key)]).catch(explain);
    // -2: no key when the expiry was read, so the session was missing at that instant.
    return payload === null || expiry === -2 ? null : { payload, expiresAt: expiryOf(expiry) };
  }

  protected async writeRecord(key: string, payload: string, expiresAt: number): Promise<void> {
    await this.client.set(key, payload, 'PXAT', Math.ceil(expiresAt));
  }

  protected async extendRecord(key: string, expiresAt: number, now: number, unlessExpiresAfter: number | undefined): Promise<void> {
    await this.runScript(EXTEND, key, [Math.ceil(expiresAt), now, unlessExpiresAfter ?? '']);
  }

  protected async removeRecord(key: string): Promise<void> {
    await this.client.del(key);
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
    for (const node of await this.masters()) {
      for await (const keys of this.scanNode(node)) {
        // One UNLINK per key: a Cluster refuses multi-key commands across hash slots, even on one node.
        const pipeline = node.pipeline();
        for (const key of keys) pipeline.unlink(key);
        checkReplies(await pipeline.exec());
        yield keys.length;
      }
    }
  }

  protected async ping(): Promise<void> {
    await this.client.ping();
  }

  protected async closeBackend(): Promise<void> {
    this.client.off('ready', this.onReady);
    this.client.off('close', this.onClose);
    this.client.off('end', this.onClose);
    if (!this.ownsClient || this.client.status === 'end') return;
    if (this.client.status === 'ready') {
      const ended = new Promise((resolve) => this.client.once('end', resolve));
      try {
        await this.client.quit();
        await ended;
        return;
      } catch {
        // The connection dropped during QUIT: the disconnect below stops the reconnection.
      }
    }
    // Also cancels a pending reconnection; ioredis then emits no 'end', so there is nothing to wait for.
    this.client.disconnect();
  }

  protected isUnavailableError(error: unknown): boolean {
    const name = (error as { name?: unknown } | null)?.name;
    if (name === 'MaxRetriesPerRequestError' || name === 'ClusterAllFailedError') return true;
    const message = error instanceof Error ? error.message : '';
    return /Stream isn't writeable|None of startup nodes is available|CLUSTERDOWN/.test(message) || super.isUnavailableError(error);
  }

  /** Every node that holds keys: the client itself, or each master of a Cluster. */
  private async masters(): Promise<Redis[]> {
    if (!isCluster(this.client)) return [this.client];
    // Waits (within the operation's deadline) for a Cluster still discovering its slots.
    if (this.client.status !== 'ready') await this.client.ping();
    const masters = this.client.nodes('master');
    if (masters.length === 0) throw new SessionStoreError('ERR_SESSION_BACKEND', 'the Cluster knows no master node', { store: 'redis' });
    return masters;
  }

  private async *scanNode(node: Redis): AsyncIterable<string[]> {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', this.matchPattern, 'COUNT', this.scanCount);
      cursor = next;
      if (keys.length > 0) yield keys;
    } while (cursor !== '0');
  }

  /** Fetches the expiry (and value) of keys that SCAN returned from `node`, one pipeline per batch. */
  private async describe(node: Redis, keys: string[], withPayload: boolean): Promise<StoredEntry[]> {
    const pipeline = node.pipeline();
    // The expiry before the value, for the reason readRecord gives.
    for (const key of keys) {
      pipeline.pexpiretime(key);
      if (withPayload) pipeline.get(key);
    }
    const replies = checkReplies(await pipeline.exec().catch(explain));
    const step = withPayload ? 2 : 1;
    const entries: StoredEntry[] = [];
    keys.forEach((key, index) => {
      const expiry = replies[index * step] as number;
      // -2: the key expired or was deleted between SCAN and this read.
      if (expiry === -2) return;
      if (!withPayload) {
        entries.push({ key, expiresAt: expiryOf(expiry) });
        return;
      }
      const payload = replies[index * step + 1];
      if (payload !== null) entries.push({ key, expiresAt: expiryOf(expiry), payload });
    });
    return entries;
  }

  /** EVALSHA, loading the script with EVAL on the node that lacks it (a new or restarted server). */
  private async runScript(script: LuaScript, key: string, args: (string | number)[]): Promise<unknown> {
    try {
      return await this.client.evalsha(script.sha, 1, key, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) return explain(error);
      return this.client.eval(script.lua, 1, key, ...args).catch(explain);
    }
  }
}

/** PEXPIRETIME answers -1 for a key without expiry (one written with connect-redis' disableTTL). */
function expiryOf(pexpiretime: number): number {
  return pexpiretime === -1 ? Infinity : pexpiretime;
}

function checkReplies(replies: [Error | null, unknown][] | null): unknown[] {
  if (replies === null) throw new Error('pipeline was discarded');
  return replies.map(([error, reply]) => {
    if (error) explain(error);
    return reply;
  });
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

function isCluster(client: Redis | Cluster): client is Cluster {
  return (client as { isCluster?: unknown }).isCluster === true;
}

function clientKeyPrefixOf(client: Redis | Cluster): unknown {
  const options = client.options as { keyPrefix?: unknown; redisOptions?: { keyPrefix?: unknown } };
  return options?.keyPrefix || options?.redisOptions?.keyPrefix;
}

/** SCAN MATCH treats `* ? [ ] \` as glob syntax; the prefix is matched literally. */
export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}
