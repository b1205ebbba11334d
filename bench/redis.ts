import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { RedisStore as ConnectRedisStore } from 'connect-redis';
import type { SessionData } from 'express-session';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import type { RedisClient, RedisStore } from '../stores/redis';
import { storeOn } from '../stores/redis/fixtures/factory';
import { ioredisSender } from '../stores/redis/ioredis';
import { startRedisServer } from '../test/support/redis-servers';
import { AT_REST_NOTE, withAtRestVariants, type AtRestOptions } from './at-rest';
import { operationsOf, type BenchSuite, type Contender } from './harness';

/** Each contender writes under a prefix of its own, and deletes what is left under it at teardown. */
function benchPrefix(label: string): string {
  return `bench:${label}:${randomBytes(4).toString('hex')}:`;
}

async function deleteUnder(url: string, prefix: string): Promise<void> {
  const sweeper = storeOn({ url, prefix });
  await sweeper.clear();
  await sweeper.close();
}

/** A package's version, read from its package.json (connect-redis does not export that path). */
function versionOf(name: string): string {
  let dir = path.dirname(require.resolve(name));
  while (!fs.existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return (JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string }).version;
}

function expiresAtOf(session: SessionData): number {
  return Date.parse(session.cookie.expires as unknown as string);
}

/** RedisStore on a client that `connect` opens and readies; the contender quits it at teardown. */
function ours(url: string, name: string, connect: () => Promise<RedisClient & { quit(): Promise<unknown> }>, options: AtRestOptions = {}): Contender {
  const prefix = benchPrefix(name.replace(/\W+/g, '-'));
  let client: RedisClient & { quit(): Promise<unknown> };
  let store: RedisStore<RedisClient>;
  return {
    name,
    kind: 'ours',
    async setup() {
      client = await connect();
      store = storeOn({ client, prefix, ...options });
      await store.get('warm');
    },
    ...operationsOf(() => store),
    async teardown() {
      await store.close();
      await client.quit();
      await deleteUnder(url, prefix);
    },
  };
}

async function connectedIORedis(url: string): Promise<Redis> {
  const client = new Redis(url);
  await client.ping();
  return client;
}

/** The client connect-redis uses: a connected node-redis client, as it comes. */
async function connectedNodeRedis(url: string): Promise<ReturnType<typeof createClient>> {
  const client = createClient({ url });
  await client.connect();
  return client;
}

/** connect-redis 9 as its README sets it up: a node-redis client, connected, handed to the store. */
function connectRedis(url: string): Contender {
  const prefix = benchPrefix('connect-redis');
  let client: ReturnType<typeof createClient>;
  let store: ConnectRedisStore;
  return {
    name: 'connect-redis',
    kind: 'alternative',
    async setup() {
      client = await connectedNodeRedis(url);
      store = new ConnectRedisStore({ client, prefix });
    },
    ...operationsOf(() => store),
    async teardown() {
      await client.quit();
      await deleteUnder(url, prefix);
    },
  };
}

/** The four commands a hand-written store sends, in one client's words. */
interface HandCommands {
  get(key: string): Promise<unknown>;
  setPx(key: string, value: string, ms: number): Promise<unknown>;
  pexpire(key: string, ms: number): Promise<unknown>;
  del(key: string): Promise<unknown>;
  quit(): Promise<unknown>;
}

/** A store written by hand on `open`'s commands: plain GET, SET PX, PEXPIRE and DEL of the same JSON. */
function handWritten(url: string, name: string, kind: Contender['kind'], open: () => Promise<HandCommands>): Contender {
  const prefix = benchPrefix(name.replace(/\W+/g, '-'));
  let commands: HandCommands;
  return {
    name,
    kind,
    async setup() {
      commands = await open();
    },
    async get(sid) {
      const text = (await commands.get(prefix + sid)) as string | null;
      return text === null ? null : JSON.parse(text);
    },
    set: (sid, session) => commands.setPx(prefix + sid, JSON.stringify(session), expiresAtOf(session) - Date.now()),
    touch: (sid, session) => commands.pexpire(prefix + sid, expiresAtOf(session) - Date.now()),
    destroy: (sid) => commands.del(prefix + sid),
    async teardown() {
      await commands.quit();
      await deleteUnder(url, prefix);
    },
  };
}

/** The least any store can do on ioredis: its commands sent the way RedisStore sends them (sendCommand, the socket corked for the tick). */
const rawIORedis = (url: string) =>
  handWritten(url, 'raw ioredis', 'floor', async () => {
    const client = await connectedIORedis(url);
    const send = ioredisSender(client);
    return {
      get: (key) => send('get', [key]),
      setPx: (key, value, ms) => send('set', [key, value, 'PX', ms]),
      pexpire: (key, ms) => send('pexpire', [key, ms]),
      del: (key) => send('del', [key]),
      quit: () => client.quit(),
    };
  });

/** The same commands through ioredis' methods with its auto-pipelining on: how a store written on ioredis by hand usually sends them. */
const ioredisMethods = (url: string) =>
  handWritten(url, 'ioredis methods', 'alternative', async () => {
    const client = new Redis(url, { enableAutoPipelining: true });
    await client.ping();
    return {
      get: (key) => client.get(key),
      setPx: (key, value, ms) => client.set(key, value, 'PX', ms),
      pexpire: (key, ms) => client.pexpire(key, ms),
      del: (key) => client.del(key),
      quit: () => client.quit(),
    };
  });

/** The same floor on node-redis (the client of connect-redis), sent the way RedisStore sends them (sendCommand). */
const rawNodeRedis = (url: string) =>
  handWritten(url, 'raw node-redis', 'floor', async () => {
    const client = await connectedNodeRedis(url);
    return {
      get: (key) => client.sendCommand(['GET', key]),
      setPx: (key, value, ms) => client.sendCommand(['SET', key, value, 'PX', String(ms)]),
      pexpire: (key, ms) => client.sendCommand(['PEXPIRE', key, String(ms)]),
      del: (key) => client.sendCommand(['DEL', key]),
      quit: () => client.quit(),
    };
  });

/**
 * RedisStore, on ioredis and on node-redis, against connect-redis and the raw floor of each client,
 * on one server: REDIS_URL when set, else a throwaway redis-server (so no other client's load skews
 * the run; killed and removed when the process exits), else 127.0.0.1:6379.
 */
export default async function redisSuite(): Promise<BenchSuite> {
  let url = process.env.REDIS_URL;
  let where = `REDIS_URL ${url}`;
  if (url === undefined) {
    try {
      const server = await startRedisServer();
      url = server.url;
      where = `a throwaway redis-server on port ${server.port}`;
    } catch {
      url = 'redis://127.0.0.1:6379';
      where = 'the redis-server on 127.0.0.1:6379';
    }
  }
  const probe = new Redis(url);
  const version = /redis_version:(\S+)/.exec(await probe.info('server'))?.[1] ?? 'unknown';
  await probe.quit();
  const operations = ['get', 'set', 'touch', 'destroy'] as const;
  return {
    name: 'redis',
    contenders: [
      ...withAtRestVariants('RedisStore', (name, options) => ours(url, name, () => connectedIORedis(url), options)),
      ours(url, 'RedisStore (node-redis)', () => connectedNodeRedis(url)),
      connectRedis(url),
      ioredisMethods(url),
      rawIORedis(url),
      rawNodeRedis(url),
    ],
    // Each RedisStore against connect-redis; each against the floor of its own client.
    targets: operations.flatMap((operation) => [
      { operation, against: 'connect-redis', atLeast: 1 },
      { operation, ours: 'RedisStore', against: 'raw ioredis', atLeast: 1 / 1.15 },
      { operation, ours: 'RedisStore (node-redis)', against: 'raw node-redis', atLeast: 1 / 1.15 },
    ]),
    notes: [
      `server: Redis ${version}, ${where}`,
      `clients: ioredis ${versionOf('ioredis')}, redis (node-redis) ${versionOf('redis')}, connect-redis ${versionOf('connect-redis')}`,
      "RedisStore and raw ioredis: each its own ioredis client with default options, commands sent through ioredis' sendCommand with the socket corked for the tick; raw = GET, SET PX, PEXPIRE, DEL",
      "ioredis methods: the raw commands through ioredis' methods on a client with enableAutoPipelining",
      'connect-redis: its README setup, a connected node-redis client (which by default writes the commands of one event-loop turn together)',
      'RedisStore (node-redis) and raw node-redis: each its own connected node-redis client with default options, as connect-redis, commands sent through sendCommand; raw = GET, SET PX, PEXPIRE, DEL',
      'RedisStore (system clock, touchAfter 0): get = GET, set = SET PXAT, touch = PEXPIREAT, destroy = DEL',
      `${AT_REST_NOTE}, on ioredis`,
    ],
  };
}
