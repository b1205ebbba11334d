import type { Cluster, Redis } from 'ioredis';
import { optionError } from '../../shared';

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

export function isNodeRedisClient(client: unknown): client is NodeRedisClient {
  const candidate = client as Partial<NodeRedisClient> | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.isOpen === 'boolean' &&
    typeof candidate.isReady === 'boolean' &&
    typeof candidate.sendCommand === 'function' &&
    typeof candidate.on === 'function'
  );
}

function isIORedisClient(client: unknown): client is Redis | Cluster {
  const candidate = client as { status?: unknown; options?: unknown; evalsha?: unknown } | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.status === 'string' &&
    typeof candidate.options === 'object' &&
    typeof candidate.evalsha === 'function'
  );
}

/** The commands of `client`, or an options error for anything that is neither client. */
export function commandsOf(client: unknown): RedisCommands {
  if (isNodeRedisCluster(client)) return nodeRedisClusterCommands(client);
  if (isNodeRedisClient(client)) return nodeRedisCommands(client);
  if (isIORedisClient(client)) {
    if (clientKeyPrefixOf(client)) {
      throw optionError('redis', "the client's keyPrefix is not supported: put it in the store's prefix option instead");
    }
    return ioredisCommands(client);
  }
  throw optionError('redis', 'client must be an ioredis Redis or Cluster, or a node-redis v5 client or cluster');
}

type Send = (name: string, args: (string | number)[]) => Promise<unknown>;

/**
 * How the store sends its single-key commands on an ioredis client.
 *
 * On a single node (`Redis`, Sentinel included) each command goes through ioredis' own
 * `sendCommand`, and the socket is corked until the end of the tick, so the commands of one tick
 * leave in one write, as node-redis does by itself. That is the cheapest path ioredis has: its
 * auto-pipelining builds a Pipeline per tick and spends about twice the CPU per command, and plain
 * commands pay a system call each. A `Cluster` routes each command by slot, so it keeps its own
 * methods (auto-pipelined per node when enabled).
 */
export function ioredisSender(client: Redis | Cluster): Send {
  const Command = isCluster(client) ? undefined : commandClassOf(client);
  if (Command === undefined) {
    const call = client.call.bind(client) as (name: string, ...args: (string | number)[]) => Promise<unknown>;
    return (name, args) => call(name, ...args);
  }
  const redis = client as Redis;
  let corked: Redis['stream'] | undefined;
  const uncork = () => {
    const stream = corked!;
    corked = undefined;
    stream.uncork();
  };
  return (name, args) => {
    const command = new Command(name, args, {
      replyEncoding: 'utf8',
      errorStack: redis.options.showFriendlyErrorStack ? new Error() : undefined,
    });
    if (corked === undefined && redis.status === 'ready' && redis.stream) {
      corked = redis.stream;
      corked.cork();
      process.nextTick(uncork);
    }
    return redis.sendCommand(command) as Promise<unknown>;
  };
}

/**
 * ioredis' Command class, when `client` was built by the ioredis this package resolves (a second
 * copy's client falls back to its own methods).
 */
function commandClassOf(client: Redis): typeof import('ioredis').Command | undefined {
  try {
    const ioredis = require('ioredis') as typeof import('ioredis');
    return client instanceof ioredis.Redis && typeof ioredis.Command === 'function' ? ioredis.Command : undefined;
  } catch {
    return undefined;
  }
}

function ioredisCommands(client: Redis | Cluster): RedisCommands {
  const send = ioredisSender(client);
  const nodeOf = (node: Redis): RedisNode => ({
    scan: (cursor, match, count) => node.scan(cursor, 'MATCH', match, 'COUNT', count),
    async describe(keys, withPayload) {
      const pipeline = node.pipeline();
      for (const key of keys) {
        pipeline.pexpiretime(key);
        if (withPayload) pipeline.get(key);
      }
      return pairs(checkReplies(await pipeline.exec()), keys.length, withPayload);
    },
    async unlink(keys) {
      const pipeline = node.pipeline();
      for (const key of keys) pipeline.unlink(key);
      checkReplies(await pipeline.exec());
    },
  });
  return {
    readWithExpiry: (key) => Promise.all([send('pexpiretime', [key]) as Promise<number>, send('get', [key]) as Promise<string | null>]),
    get: (key) => send('get', [key]) as Promise<string | null>,
    pexpireat: (key, expiresAt) => send('pexpireat', [key, expiresAt]),
    setPxat: (key, value, expiresAt) => send('set', [key, value, 'PXAT', expiresAt]),
    evalsha: (sha, key, args) => send('evalsha', [sha, 1, key, ...args]),
    eval: (lua, key, args) => send('eval', [lua, 1, key, ...args]),
    del: (key) => send('del', [key]),
    async masters() {
      if (!isCluster(client)) return [nodeOf(client)];
      // Waits (within the operation's deadline) for a Cluster still discovering its slots.
      if (client.status !== 'ready') await client.ping();
      return client.nodes('master').map(nodeOf);
    },
    async ping() {
      await client.ping();
    },
    watch: (up, down) =>
      watchShared(client, { up, down }, (up, down) => [
        ['ready', up],
        ['close', down],
        ['end', down],
      ]),
    isUnavailableError(error) {
      const name = (error as { name?: unknown } | null)?.name;
      if (name === 'MaxRetriesPerRequestError' || name === 'ClusterAllFailedError') return true;
      const message = error instanceof Error ? error.message : '';
      return /Stream isn't writeable|None of startup nodes is available|CLUSTERDOWN/.test(message);
    },
  };
}

/** One node-redis client as a node that holds keys: sendCommand, which writes the commands of one tick together. */
function nodeRedisNode(client: NodeRedisClient): RedisNode {
  const send = <T>(...args: (string | number)[]) => client.sendCommand(args.map(String)) as Promise<T>;
  return {
    scan: (cursor, match, count) => send<[string, string[]]>('SCAN', cursor, 'MATCH', match, 'COUNT', count),
    async describe(keys, withPayload) {
      const replies = await Promise.all(keys.flatMap((key) => (withPayload ? [send('PEXPIRETIME', key), send('GET', key)] : [send('PEXPIRETIME', key)])));
      return pairs(replies, keys.length, withPayload);
    },
    async unlink(keys) {
      await Promise.all(keys.map((key) => send('UNLINK', key)));
    },
  };
}

const NODE_REDIS_UNAVAILABLE = /^(The client is (closed|offline)|Socket closed unexpectedly|Connection timeout)|CLUSTERDOWN/;

/** Every command goes through sendCommand; node-redis writes the commands of one tick together. */
function nodeRedisCommands(client: NodeRedisClient): RedisCommands {
  const send = <T>(...args: (string | number)[]) => client.sendCommand(args.map(String)) as Promise<T>;
  const node = nodeRedisNode(client);
  // The per-request commands build their argument arrays directly: they run on every request.
  return {
    readWithExpiry: (key) => Promise.all([client.sendCommand(['PEXPIRETIME', key]) as Promise<number>, client.sendCommand(['GET', key]) as Promise<string | null>]),
    get: (key) => client.sendCommand(['GET', key]) as Promise<string | null>,
    pexpireat: (key, expiresAt) => client.sendCommand(['PEXPIREAT', key, String(expiresAt)]),
    setPxat: (key, value, expiresAt) => client.sendCommand(['SET', key, value, 'PXAT', String(expiresAt)]),
    evalsha: (sha, key, args) => send('EVALSHA', sha, 1, key, ...args),
    eval: (lua, key, args) => send('EVAL', lua, 1, key, ...args),
    del: (key) => client.sendCommand(['DEL', key]),
    masters: async () => [node],
    async ping() {
      await send('PING');
    },
    watch: (up, down) =>
      watchShared(client, { up, down }, (up, down) => [
        ['ready', up],
        ['reconnecting', down],
        ['end', down],
        // Also keeps a socket error from crashing the process while a store uses the client.
        ['error', () => (client.isReady ? undefined : down())],
      ]),
    isUnavailableError: (error) => NODE_REDIS_UNAVAILABLE.test(error instanceof Error ? error.message : ''),
  };
}

/**
 * A node-redis cluster routes each command by its key (always to the master: a replica may not
 * have the latest set yet); bulk calls SCAN each master through its own client.
 */
function nodeRedisClusterCommands(cluster: NodeRedisCluster): RedisCommands {
  const send = <T>(key: string, ...args: (string | number)[]) => cluster.sendCommand(key, false, args.map(String)) as Promise<T>;
  const masterClients = () => Promise.all(cluster.masters.map((master) => cluster.nodeClient(master as never)));
  return {
    readWithExpiry: (key) => Promise.all([send<number>(key, 'PEXPIRETIME', key), send<string | null>(key, 'GET', key)]),
    get: (key) => send<string | null>(key, 'GET', key),
    pexpireat: (key, expiresAt) => send(key, 'PEXPIREAT', key, expiresAt),
    setPxat: (key, value, expiresAt) => send(key, 'SET', key, value, 'PXAT', expiresAt),
    evalsha: (sha, key, args) => send(key, 'EVALSHA', sha, 1, key, ...args),
    eval: (lua, key, args) => send(key, 'EVAL', lua, 1, key, ...args),
    del: (key) => send(key, 'DEL', key),
    masters: async () => (await masterClients()).map(nodeRedisNode),
    // Back only when every master answers: each holds its share of the sessions.
    async ping() {
      const masters = await masterClients();
      if (masters.length === 0) throw new Error('The client is closed');
      await Promise.all(masters.map((master) => master.sendCommand(['PING'])));
    },
    watch: (up, down) =>
      watchShared(cluster, { up, down }, (up, down) => [
        ['connect', up],
        ['disconnect', down],
        ['node-reconnecting', down],
        // The cluster throws an 'error' nobody listens to; a failure reaches the store through its calls.
        ['error', () => undefined],
      ]),
    isUnavailableError: (error) => NODE_REDIS_UNAVAILABLE.test(error instanceof Error ? error.message : ''),
  };
}

interface Emitter {
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
function watchShared(client: Emitter, watcher: Watcher, listenersFor: (up: () => void, down: () => void) => Listeners): () => void {
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

function isNodeRedisCluster(client: unknown): client is NodeRedisCluster {
  const candidate = client as Partial<NodeRedisCluster> | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.sendCommand === 'function' &&
    typeof candidate.nodeClient === 'function' &&
    Array.isArray(candidate.masters)
  );
}

/** Pairs the replies of `describe`: one expiry per key, followed by its value when asked for. */
function pairs(replies: unknown[], count: number, withPayload: boolean): { expiry: number; payload: string | null }[] {
  const step = withPayload ? 2 : 1;
  return Array.from({ length: count }, (_, index) => ({
    expiry: replies[index * step] as number,
    payload: withPayload ? (replies[index * step + 1] as string | null) : null,
  }));
}

function checkReplies(replies: [Error | null, unknown][] | null): unknown[] {
  if (replies === null) throw new Error('pipeline was discarded');
  return replies.map(([error, reply]) => {
    if (error) throw error;
    return reply;
  });
}

export function isCluster(client: Redis | Cluster): client is Cluster {
  return (client as { isCluster?: unknown }).isCluster === true;
}

function clientKeyPrefixOf(client: Redis | Cluster): unknown {
  const options = client.options as { keyPrefix?: unknown; redisOptions?: { keyPrefix?: unknown } };
  return options?.keyPrefix || options?.redisOptions?.keyPrefix;
}
