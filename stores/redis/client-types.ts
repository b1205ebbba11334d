/**
 * The part of an ioredis `Redis` (single node or Sentinel) or `Cluster` that tells it from a
 * node-redis client, typed here so that the store's declarations need no ioredis types.
 */
export interface IORedisClient {
  readonly status: string;
  readonly options: object;
  evalsha(...args: never[]): unknown;
}

/**
 * The part of a node-redis v5 or v6 client (`createClient()` of the `redis` package) the store uses,
 * typed here so that the store loads without that package installed.
 */
export interface NodeRedisClient {
  readonly isOpen: boolean;
  readonly isReady: boolean;
  sendCommand(args: string[]): Promise<unknown>;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  off(event: string, listener: (...args: unknown[]) => void): unknown;
}

/**
 * The part of a node-redis v5 or v6 cluster (`createCluster()` of the `redis` package) the store uses.
 */
export interface NodeRedisCluster {
  readonly isOpen: boolean;
  readonly masters: readonly unknown[];
  sendCommand(firstKey: string | undefined, isReadonly: boolean | undefined, args: string[]): Promise<unknown>;
  nodeClient(node: never): NodeRedisClient | Promise<NodeRedisClient>;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  off(event: string, listener: (...args: unknown[]) => void): unknown;
}

/** A client the store accepts: ioredis `Redis` or `Cluster`, or a node-redis v5 or v6 client or cluster. */
export type RedisClient = IORedisClient | NodeRedisClient | NodeRedisCluster;
