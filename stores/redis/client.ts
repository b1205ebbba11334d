import type { Cluster, Redis } from 'ioredis';

/**
 * The part of a node-redis v5 client (`createClient()` of the `redis` package) the store uses,
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
 * The part of a node-redis v5 cluster (`createCluster()` of the `redis` package) the store uses.
 */
export interface NodeRedisCluster {
  readonly isOpen: boolean;
  readonly masters: readonly unknown[];
  sendCommand(firstKey: string | undefined, isReadonly: boolean | undefined, args: string[]): Promise<unknown>;
  nodeClient(node: never): NodeRedisClient | Promise<NodeRedisClient>;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  off(event: string, listener: (...args: unknown[]) => void): unknown;
}

/** A client the store accepts: ioredis `Redis` or `Cluster`, or a node-redis v5 client or cluster. */
export type RedisClient = Redis | Cluster | NodeRedisClient | NodeRedisCluster;

/** One server that holds keys, for the bulk calls: the client itself, or one master of a Cluster. */
export interface RedisNode {
  scan(cursor: string, match: string, count: number): Promise<[cursor: string, keys: string[]]>;
  /** PEXPIRETIME (and GET) of each key, sent together in that order. */
  describe(keys: string[], withPayload: boolean): Promise<{ expiry: number; payload: string | null }[]>;
  /** One UNLINK per key: a Cluster refuses multi-key commands across hash slots, even on one node. */
  unlink(keys: string[]): Promise<void>;
}

/** The few commands RedisStore sends, in the words of either client. */
export interface RedisCommands {
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

export interface Emitter {
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  off(event: string, listener: (...args: unknown[]) => void): unknown;
}

interface Watcher {
  up(): void;
  down(): void;
}

/** The stores watching each client, and how to take the client's listeners off again. */
const watchers = new WeakMap<object, { stores: Set<Watcher>; detach: () => void }>();

type Listeners = [event: string, listener: () => void][];

/**
 * Adds `watcher` to the stores watching `client`. The first one adds one set of listeners to the
 * client (`listenersFor` says which events tell it up or down), which tell every watching store;
 * the last one to leave takes them off. So any number of stores share one listener per event, and
 * Node's warning past ten listeners never fires.
 */
export function watchShared(client: Emitter, watcher: Watcher, listenersFor: (up: () => void, down: () => void) => Listeners): () => void {
  let entry = watchers.get(client);
  if (entry === undefined) {
    const stores = new Set<Watcher>();
    const listeners = listenersFor(
      () => stores.forEach((store) => store.up()),
      () => stores.forEach((store) => store.down()),
    );
    for (const [event, listener] of listeners) client.on(event, listener);
    const detach = () => {
      for (const [event, listener] of listeners) client.off(event, listener);
    };
    entry = { stores, detach };
    watchers.set(client, entry);
  }
  const shared = entry;
  shared.stores.add(watcher);
  return () => {
    if (!shared.stores.delete(watcher) || shared.stores.size > 0) return;
    shared.detach();
    watchers.delete(client);
  };
}

/** Pairs the replies of `describe`: one expiry per key, followed by its value when asked for. */
export function pairs(replies: unknown[], count: number, withPayload: boolean): { expiry: number; payload: string | null }[] {
  const step = withPayload ? 2 : 1;
  return Array.from({ length: count }, (_, index) => ({
    expiry: replies[index * step] as number,
    payload: withPayload ? (replies[index * step + 1] as string | null) : null,
  }));
}
