/** One server that holds keys, for the bulk calls: the client itself, or one master of a Cluster. */
export interface RedisNode {
  scan(cursor: string, match: string, count: number): Promise<[cursor: string, keys: string[]]>;
  /** PEXPIRETIME of each key, then its GET or (without payload, never fetching the value) its STRLEN, sent together in that order. */
  describe(keys: string[], withPayload: boolean): Promise<DescribedKey[]>;
  /** One UNLINK per key: a Cluster refuses multi-key commands across hash slots, even on one node. */
  unlink(keys: string[]): Promise<void>;
}

/**
 * The few commands RedisStore sends and the events it watches, over one driver: ioredis.ts adapts
 * an ioredis client, node-redis.ts a node-redis client or cluster.
 */
export interface RedisAdapter {
  /** PEXPIRETIME then GET, sent in the same tick: one round trip. */
  readWithExpiry(key: string): Promise<[expiry: number, payload: string | null]>;
  get(key: string): Promise<string | null>;
  /**
   * Sets the expiry of an existing key; a missing key stays missing. With `NX` only a key without an
   * expiry gets one, with `GT` only a later expiry replaces the key's. Write commands resolve to Redis' reply.
   */
  pexpireat(key: string, expiresAt: number, condition?: 'NX' | 'GT'): Promise<unknown>;
  setPxat(key: string, value: string, expiresAt: number): Promise<unknown>;
  evalsha(sha: string, key: string, args: (string | number)[]): Promise<unknown>;
  eval(lua: string, key: string, args: (string | number)[]): Promise<unknown>;
  del(key: string): Promise<unknown>;
  sadd(key: string, member: string): Promise<unknown>;
  /** One SREM of every member: a single key, so a Cluster takes it. */
  srem(key: string, members: string[]): Promise<unknown>;
  sscan(key: string, cursor: string, count: number): Promise<[cursor: string, members: string[]]>;
  masters(): Promise<RedisNode[]>;
  ping(): Promise<void>;
  /** Calls `up` when the client is ready and `down` when it loses its connection; returns the unsubscribe. */
  watch(up: () => void, down: () => void): () => void;
  isUnavailableError(error: unknown): boolean;
}

/** What `RedisNode.describe` learns of one key. */
export interface DescribedKey {
  expiry: number;
  /** The value, when asked for. */
  value: string | null;
  /** The value is the empty string (a tombstone). */
  empty: boolean;
}

/** Pairs the replies of `RedisNode.describe`: one expiry per key, followed by its value or its length. */
export function pairReplies(replies: unknown[], count: number, withPayload: boolean): DescribedKey[] {
  return Array.from({ length: count }, (_, index) => {
    const expiry = replies[index * 2] as number;
    const second = replies[index * 2 + 1];
    return withPayload ? { expiry, value: second as string | null, empty: second === '' } : { expiry, value: null, empty: second === 0 };
  });
}
