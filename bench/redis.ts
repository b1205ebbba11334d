import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { RedisStore as ConnectRedisStore } from 'connect-redis';
import type { SessionData } from 'express-session';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import type { UserOf } from '../shared';
import type { RedisClient, RedisStore } from '../stores/redis';
import { storeOn } from '../stores/redis/fixtures/factory';
import { ioredisSender } from '../stores/redis/ioredis';
import { startRedisServer } from '../test/support/redis-servers';
import { AT_REST_NOTE, withAtRestVariants, type AtRestOptions } from './at-rest';
import { makeSession, operationsOf, type BenchSuite, type Contender } from './harness';
import { measureUserIndex, userOf, type CrowdedStore } from './user-index';

/** Calls per Redis CPU measurement, sent 64 at a time. */
const CPU_CALLS = 20_000;

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
function ours(url: string, name: string, connect: () => Promise<RedisClient & { quit(): Promise<unknown> }>, options: AtRestOptions & { userOf?: UserOf } = {}): Contender {
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

/** A store under a prefix of its own holding `crowd` sessions of a thousand other users, written 1,000 at a time. */
async function crowdedStore(url: string, crowd: number): Promise<CrowdedStore> {
  const client = await connectedIORedis(url);
  const store = storeOn({ client, prefix: benchPrefix('users'), userOf });
  const drop = async () => {
    await store.clear();
    await store.close();
    await client.quit();
  };
  try {
    for (let stored = 0; stored < crowd; stored += 1000) {
      await Promise.all(
        Array.from({ length: Math.min(1000, crowd - stored) }, (_, i) => store.set(`crowd-${stored + i}`, { ...makeSession(), user: { id: `other-${(stored + i) % 1000}` } } as unknown as SessionData)),
      );
    }
    return { store, drop };
  } catch (error) {
    await drop();
    throw error;
  }
}

/** The server's CPU time so far, in µs (used_cpu_user + used_cpu_sys). */
async function serverCpuUs(client: Redis): Promise<number> {
  const info = await client.info('cpu');
  const seconds = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? NaN);
  return (seconds('used_cpu_user') + seconds('used_cpu_sys')) * 1e6;
}

/**
 * The Redis CPU of a set and of a touch of RedisStore without and with userOf: what the index costs
 * the server, which the throughput ratios of a loaded client machine blur. Each the least of three runs
 * of CPU_CALLS calls; on a server other clients use, their load counts too.
 */
async function userIndexServerCpu(url: string): Promise<string> {
  const client = await connectedIORedis(url);
  const session = makeSession();
  const perCall = async (label: string, options: { userOf?: UserOf }) => {
    let set = Infinity;
    let touch = Infinity;
    for (let run = 0; run < 3; run++) {
      const prefix = benchPrefix(`cpu-${label}`);
      const store = storeOn({ client, prefix, ...options });
      const timed = async (call: (sid: string) => Promise<unknown>) => {
        const before = await serverCpuUs(client);
        for (let i = 0; i < CPU_CALLS; i += 64) await Promise.all(Array.from({ length: 64 }, (_, j) => call(`s${i + j}`)));
        return ((await serverCpuUs(client)) - before) / CPU_CALLS;
      };
      await store.set('warm', session);
      set = Math.min(set, await timed((sid) => store.set(sid, session)));
      touch = Math.min(touch, await timed((sid) => store.touch(sid, session)));
      await store.clear();
      await store.close();
    }
    return `${set.toFixed(1)} / ${touch.toFixed(1)} µs`;
  };
  try {
    return `user index, Redis CPU per set / touch (used_cpu_user + used_cpu_sys over ${CPU_CALLS.toLocaleString('en')} calls, 64 at a time, least of 3 runs): ${await perCall('plain', {})} without userOf, ${await perCall('user', { userOf: userOf })} with`;
  } finally {
    await client.quit();
  }
}

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
  const userIndex = [...(await measureUserIndex((crowd) => crowdedStore(url, crowd))), await userIndexServerCpu(url)];
  return {
    name: 'redis',
    contenders: [
      ...withAtRestVariants('RedisStore', (name, options) => ours(url, name, () => connectedIORedis(url), options)),
      { ...ours(url, 'RedisStore + userOf', () => connectedIORedis(url), { userOf: userOf }), baseline: 'RedisStore' },
      ours(url, 'RedisStore (node-redis)', () => connectedNodeRedis(url)),
      { ...ours(url, 'RedisStore (node-redis) + userOf', () => connectedNodeRedis(url), { userOf: userOf }), baseline: 'RedisStore (node-redis)' },
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
      "+ userOf: the same store with userOf, every session the user of makeSession(); set adds SADD, PEXPIREAT NX and PEXPIREAT GT of the user's set in the same write, touch one PEXPIREAT GT",
      ...userIndex,
    ],
  };
}
