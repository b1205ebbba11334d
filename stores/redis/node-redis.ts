import { pairReplies, type RedisAdapter, type RedisNode } from './adapter';
import { watchClientEvents } from './client-events';
import type { NodeRedisClient, NodeRedisCluster } from './client-types';

/** A node-redis v5 or v6 client (`createClient()`). */
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

/** A node-redis v5 or v6 cluster (`createCluster()`): it also has `masters` and `nodeClient`. */
export function isNodeRedisCluster(client: unknown): client is NodeRedisCluster {
  const candidate = client as Partial<NodeRedisCluster> | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.sendCommand === 'function' &&
    typeof candidate.nodeClient === 'function' &&
    Array.isArray(candidate.masters)
  );
}

/** One node-redis client as a node that holds keys: sendCommand, which writes the commands of one event-loop turn together. */
function nodeRedisNode(client: NodeRedisClient): RedisNode {
  const send = <T>(...args: (string | number)[]) => client.sendCommand(args.map(String)) as Promise<T>;
  return {
    scan: (cursor, match, count) => send<[string, string[]]>('SCAN', cursor, 'MATCH', match, 'COUNT', count),
    async describe(keys, withPayload) {
      const replies = await Promise.all(keys.flatMap((key) => [send('PEXPIRETIME', key), send(withPayload ? 'GET' : 'STRLEN', key)]));
      return pairReplies(replies, keys.length, withPayload);
    },
    async unlink(keys) {
      await Promise.all(keys.map((key) => send('UNLINK', key)));
    },
  };
}

const NODE_REDIS_UNAVAILABLE = /^(The client is (closed|offline)|Socket closed unexpectedly|Connection timeout)|CLUSTERDOWN/;

/** The adapter of a node-redis client: every command goes through sendCommand, which writes the commands of one event-loop turn together. */
export function nodeRedisAdapter(client: NodeRedisClient): RedisAdapter {
  const send = <T>(...args: (string | number)[]) => client.sendCommand(args.map(String)) as Promise<T>;
  const node = nodeRedisNode(client);
  // The per-request commands build their argument arrays directly: they run on every request.
  return {
    readWithExpiry: (key) => Promise.all([client.sendCommand(['PEXPIRETIME', key]) as Promise<number>, client.sendCommand(['GET', key]) as Promise<string | null>]),
    get: (key) => client.sendCommand(['GET', key]) as Promise<string | null>,
    pexpireat: (key, expiresAt, condition) => client.sendCommand(condition === undefined ? ['PEXPIREAT', key, String(expiresAt)] : ['PEXPIREAT', key, String(expiresAt), condition]),
    setPxat: (key, value, expiresAt) => client.sendCommand(['SET', key, value, 'PXAT', String(expiresAt)]),
    evalsha: (sha, key, args) => send('EVALSHA', sha, 1, key, ...args),
    eval: (lua, key, args) => send('EVAL', lua, 1, key, ...args),
    del: (key) => client.sendCommand(['DEL', key]),
    sadd: (key, member) => client.sendCommand(['SADD', key, member]),
    srem: (key, members) => client.sendCommand(['SREM', key, ...members]),
    sscan: (key, cursor, count) => send<[string, string[]]>('SSCAN', key, cursor, 'COUNT', count),
    masters: async () => [node],
    async ping() {
      await send('PING');
    },
    watch: (up, down) =>
      watchClientEvents(client, { up, down }, (up, down) => [
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
export function nodeRedisClusterAdapter(cluster: NodeRedisCluster): RedisAdapter {
  const send = <T>(key: string, ...args: (string | number)[]) => cluster.sendCommand(key, false, args.map(String)) as Promise<T>;
  const masterClients = () => Promise.all(cluster.masters.map((master) => cluster.nodeClient(master as never)));
  return {
    readWithExpiry: (key) => Promise.all([send<number>(key, 'PEXPIRETIME', key), send<string | null>(key, 'GET', key)]),
    get: (key) => send<string | null>(key, 'GET', key),
    pexpireat: (key, expiresAt, condition) => (condition === undefined ? send(key, 'PEXPIREAT', key, expiresAt) : send(key, 'PEXPIREAT', key, expiresAt, condition)),
    setPxat: (key, value, expiresAt) => send(key, 'SET', key, value, 'PXAT', expiresAt),
    evalsha: (sha, key, args) => send(key, 'EVALSHA', sha, 1, key, ...args),
    eval: (lua, key, args) => send(key, 'EVAL', lua, 1, key, ...args),
    del: (key) => send(key, 'DEL', key),
    sadd: (key, member) => send(key, 'SADD', key, member),
    srem: (key, members) => send(key, 'SREM', key, ...members),
    sscan: (key, cursor, count) => send<[string, string[]]>(key, 'SSCAN', key, cursor, 'COUNT', count),
    masters: async () => (await masterClients()).map(nodeRedisNode),
    // Back only when every master answers: each holds its share of the sessions.
    async ping() {
      const masters = await masterClients();
      if (masters.length === 0) throw new Error('The client is closed');
      await Promise.all(masters.map((master) => master.sendCommand(['PING'])));
    },
    watch: (up, down) =>
      watchClientEvents(cluster, { up, down }, (up, down) => [
        ['connect', up],
        ['disconnect', down],
        ['node-reconnecting', down],
        // The cluster throws an 'error' nobody listens to; a failure reaches the store through its calls.
        ['error', () => undefined],
      ]),
    isUnavailableError: (error) => NODE_REDIS_UNAVAILABLE.test(error instanceof Error ? error.message : ''),
  };
}
