/** One server that holds keys, for the bulk calls: the client itself, or one master of a Cluster. */
export interface RedisNode {
  scan(cursor: string, match: string, count: number): Promise<[cursor: string, keys: string[]]>;
  /** PEXPIRETIME (and GET) of each key, sent together in that order. */
  describe(keys: string[], withPayload: boolean): Promise<{ expiry: number; payload: string | null }[]>;
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
  /** Sets the expiry of an existing key; a missing key stays missing. Write commands resolve to Redis' reply. */
  pexpireat(key: string, expiresAt: number): Promise<unknown>;
  setPxat(key: string, value: string, expiresAt: number): Promise<unknown>;
  evalsha(sha: string, key: string, args: (string | number)[]): Promise<unknown>;
  eval(lua: string, key: string, args: (string | number)[]): Promise<unknown>;
  del(key: string): Promise<unknown>;
  masters(): Promise<RedisNode[]>;
  ping(): Promise<void>;
  /** Calls `up` when the client is ready and `down` when it loses its connection; returns the unsubscribe. */
  watch(up: () => void, down: () => void): () => void;
  isUnavailableError(error: unknown): boolean;
}

/** Pairs the replies of `RedisNode.describe`: one expiry per key, followed by its value when asked for. */
export function pairReplies(replies: unknown[], count: number, withPayload: boolean): { expiry: number; payload: string | null }[] {
  const step = withPayload ? 2 : 1;
  return Array.from({ length: count }, (_, index) => ({
    expiry: replies[index * step] as number,
    payload: withPayload ? (replies[index * step + 1] as string | null) : null,
  }));
}
