import type { Cluster, Redis } from 'ioredis';
import { optionError } from '../../shared';
import { pairReplies, type RedisAdapter, type RedisNode } from './adapter';
import { watchClientEvents } from './client-events';

/** An ioredis `Redis` or `Cluster`, told apart from node-redis by its `status` and `options`. */
export function isIORedisClient(client: unknown): client is Redis | Cluster {
  const candidate = client as { status?: unknown; options?: unknown; evalsha?: unknown } | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.status === 'string' &&
    typeof candidate.options === 'object' &&
    typeof candidate.evalsha === 'function'
  );
}

type Send = (name: string, args: (string | number)[]) => Promise<unknown>;

/**
 * How the store sends its single-key commands on an ioredis client.
 *
 * On a single node (`Redis`, Sentinel included) each command goes through ioredis' own
 * `sendCommand`, and the socket is corked until the check phase of the current event-loop turn
 * (`setImmediate`), so the commands of every request that turn serves leave in one write, as
 * node-redis does by itself. That is the cheapest path ioredis has: its auto-pipelining builds a
 * Pipeline per turn and spends about twice the CPU per command, and plain commands pay a system
 * call each. A `Cluster` routes each command by slot, so it keeps its own
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
  // Command reads its options and keeps none of them, so every command can share one object.
  const shared = { replyEncoding: 'utf8' } as const;
  const friendlyStacks = redis.options.showFriendlyErrorStack === true;
  return (name, args) => {
    const command = new Command(name, args, friendlyStacks ? { ...shared, errorStack: new Error() } : shared);
    if (corked === undefined && redis.status === 'ready' && redis.stream) {
      corked = redis.stream;
      corked.cork();
      // Not nextTick: each request is its own tick, so that would write once per request.
      setImmediate(uncork);
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

/** The adapter of an ioredis client; its own keyPrefix is refused (SCAN patterns would not see it). */
export function ioredisAdapter(client: Redis | Cluster): RedisAdapter {
  if (clientKeyPrefixOf(client)) {
    throw optionError('redis', "the client's keyPrefix is not supported: put it in the store's prefix option instead");
  }
  const send = ioredisSender(client);
  const nodeOf = (node: Redis): RedisNode => ({
    scan: (cursor, match, count) => node.scan(cursor, 'MATCH', match, 'COUNT', count),
    async describe(keys, withPayload) {
      const pipeline = node.pipeline();
      for (const key of keys) {
        pipeline.pexpiretime(key);
        if (withPayload) pipeline.get(key);
        else pipeline.strlen(key);
      }
      return pairReplies(checkReplies(await pipeline.exec()), keys.length, withPayload);
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
    pexpireat: (key, expiresAt, condition) => send('pexpireat', condition === undefined ? [key, expiresAt] : [key, expiresAt, condition]),
    setPxat: (key, value, expiresAt) => send('set', [key, value, 'PXAT', expiresAt]),
    evalsha: (sha, key, args) => send('evalsha', [sha, 1, key, ...args]),
    eval: (lua, key, args) => send('eval', [lua, 1, key, ...args]),
    del: (key) => send('del', [key]),
    sadd: (key, member) => send('sadd', [key, member]),
    srem: (key, members) => send('srem', [key, ...members]),
    sscan: (key, cursor, count) => send('sscan', [key, cursor, 'COUNT', count]) as Promise<[string, string[]]>,
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
      watchClientEvents(client, { up, down }, (up, down) => [
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
