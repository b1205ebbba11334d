/**
 * How the test run finds each real backend, in the order DESIGN.md gives: an explicit URL
 * variable, a server already answering on its default loopback port, a throwaway server started
 * from installed binaries, a container when a container runtime answers. Every candidate is proved
 * by a real round trip (PING, SELECT 1, ping command), not a TCP connect.
 */
import net from 'node:net';
import { isServerName, serverOf, type BackendName, type ServerName } from '../../scripts/registry';
import { mariaDbServersProblem, startThrowawayMariaDb } from './mariadb-servers';
import { startThrowawayPostgres } from './postgres-servers';
import { describeMongoServer, mongoServersProblem, startMongoServer } from './mongo-servers';
import { redisServersProblem, startRedisServer } from './redis-servers';
import { containerRuntimeProblem, startContainer, type ContainerSpec } from './containers';

export interface Found {
  url: string;
  /** How it was found, for the setup's report line. */
  source: string;
  /** Present when this run started the server: stops it. */
  stop?: () => Promise<void>;
  /** What the server says it is, where that can differ from the backend's name (`FerretDB … (reports MongoDB 7.0.42)`). */
  server?: string;
  /** Features of the backend this server lacks (`ttl-indexes` on FerretDB v1), so tests can say what they cannot check here. */
  lacks?: string[];
}

export interface NotFound {
  /** Every reason, one per step tried, joined into the skip line. */
  reason: string;
}

export type Discovery = Found | NotFound;

export interface DiscoveryOptions {
  /** Where URL variables are read. Default: process.env. */
  env?: NodeJS.ProcessEnv;
  /** The loopback port each server is looked for on. Default: the server's standard port, as the registry gives it. */
  ports?: Partial<Record<ServerName, number>>;
  /** Start a throwaway server from installed binaries when none is found. Default: true. */
  throwaway?: boolean;
  /** Start a container when a container runtime answers. Default: true. */
  containers?: boolean;
  /** Progress lines (a server being built, say). */
  log?: (line: string) => void;
}

/** A server named by a URL may be remote; one on loopback answers in milliseconds when it is there at all. */
const EXPLICIT_PROBE_TIMEOUT_MS = 5000;
const LOOPBACK_PROBE_TIMEOUT_MS = 1500;

export function isFound(discovery: Discovery): discovery is Found {
  return 'url' in discovery;
}

export async function discoverBackend(name: BackendName, options: DiscoveryOptions = {}): Promise<Discovery> {
  if (!isServerName(name)) return IN_PROCESS[name]();
  const found = await findServer(name, options);
  const describe = SERVERS[name].describe;
  if (!isFound(found) || !describe) return found;
  // Which server a result came from matters where a stand-in (FerretDB for MongoDB) may answer.
  const described = await describe(found.url).catch(() => undefined);
  return described === undefined ? found : { ...found, ...described };
}

async function findServer(name: ServerName, options: DiscoveryOptions): Promise<Discovery> {
  const env = options.env ?? process.env;
  const { urlVariable: variable, port: defaultPort } = serverOf(name);
  const port = options.ports?.[name] ?? defaultPort;
  const server = SERVERS[name];

  const explicit = env[variable];
  if (explicit) {
    // An explicit URL is the user's choice: when it fails, say so rather than test something else.
    const problem = await failureOf(() => server.probe(explicit));
    return problem === undefined
      ? { url: explicit, source: variable }
      : { reason: `${variable}=${redact(explicit)} does not answer: ${problem}` };
  }

  const reasons: string[] = [];
  if (await listens(port)) {
    const problems: string[] = [];
    for (const url of server.defaultUrls(port)) {
      const problem = await failureOf(() => server.probe(url, LOOPBACK_PROBE_TIMEOUT_MS));
      if (problem === undefined) return { url, source: `a server on 127.0.0.1:${port}` };
      problems.push(`${redact(url)}: ${problem}`);
    }
    reasons.push(`${variable} is unset; nothing answers on 127.0.0.1:${port} (${problems.join('; ')})`);
  } else {
    reasons.push(`${variable} is unset; nothing listens on 127.0.0.1:${port}`);
  }

  if (options.throwaway ?? true) {
    const attempt = await server.throwaway(options.log ?? (() => undefined));
    if (isFound(attempt)) return attempt;
    reasons.push(attempt.reason);
  }

  if (options.containers ?? true) {
    const runtimeProblem = await containerRuntimeProblem();
    if (runtimeProblem !== undefined) {
      reasons.push(runtimeProblem);
    } else {
      try {
        const started = await startContainer(server.container);
        const problem = await failureOf(() => server.probe(started.url));
        if (problem === undefined) return { url: started.url, source: `a container (${server.container.image})`, stop: started.stop };
        await started.stop();
        reasons.push(`the ${server.container.image} container does not answer: ${problem}`);
      } catch (error) {
        reasons.push(`the ${server.container.image} container did not start: ${messageOf(error)}`);
      }
    }
  }
  return { reason: reasons.join('; ') };
}

interface ServerKind {
  defaultUrls(port: number): string[];
  /** Resolves when the server at `url` answers a real request within `timeoutMs`; rejects with why not. */
  probe(url: string, timeoutMs?: number): Promise<void>;
  throwaway(log: (line: string) => void): Promise<Discovery>;
  container: ContainerSpec;
  /** Names the server at `url`, for the report line. */
  describe?(url: string): Promise<{ server: string; lacks: string[] }>;
}

/** How discovery probes, starts and names each server of the registry. */
const SERVERS: Record<ServerName, ServerKind> = {
  redis: {
    defaultUrls: (port) => [`redis://127.0.0.1:${port}`],
    probe: pingRedis,
    async throwaway() {
      const problem = redisServersProblem();
      if (problem !== undefined) return { reason: `no throwaway Redis: ${problem}` };
      try {
        const server = await startRedisServer();
        return { url: server.url, source: 'a throwaway redis-server', stop: server.destroy };
      } catch (error) {
        return { reason: messageOf(error) };
      }
    },
    container: { image: 'redis:7-alpine', port: 6379, url: (host, port) => `redis://${host}:${port}` },
  },
  postgres: {
    // The users a default local install accepts: the superuser, and root's own role on machines set up for root.
    defaultUrls: (port) => ['postgres', 'root'].map((user) => `postgres://${user}@127.0.0.1:${port}/test`),
    probe: selectOnePostgres,
    async throwaway() {
      const failures: string[] = [];
      for (const binaries of ['system', 'embedded'] as const) {
        try {
          const server = await startThrowawayPostgres(binaries);
          return { url: server.url, source: `a throwaway PostgreSQL (${binaries} binaries)`, stop: server.destroy };
        } catch (error) {
          failures.push(messageOf(error).split('\n')[0]);
        }
      }
      return { reason: failures.join('; ') };
    },
    container: {
      image: 'postgres:16-alpine',
      port: 5432,
      environment: { POSTGRES_HOST_AUTH_METHOD: 'trust', POSTGRES_DB: 'test' },
      // The image's init script starts the server once, stops it, then starts it for real.
      readyLog: { pattern: /database system is ready to accept connections/, times: 2 },
      url: (host, port) => `postgres://postgres@${host}:${port}/test`,
    },
  },
  mongo: {
    defaultUrls: (port) => [`mongodb://127.0.0.1:${port}`],
    probe: pingMongo,
    describe: describeMongoServer,
    async throwaway(log) {
      const problem = mongoServersProblem();
      if (problem !== undefined) return { reason: `no throwaway Mongo server: ${problem}` };
      try {
        const server = await startMongoServer({ log });
        return { url: server.url, source: `a throwaway ${server.description}`, stop: server.destroy };
      } catch (error) {
        return { reason: messageOf(error).split('\n')[0] };
      }
    },
    container: { image: 'mongo:7', port: 27017, url: (host, port) => `mongodb://${host}:${port}` },
  },
  mysql: {
    defaultUrls: (port) => [`mysql://root@127.0.0.1:${port}/test`],
    probe: selectOneMySql,
    async throwaway() {
      const problem = mariaDbServersProblem();
      if (problem !== undefined) return { reason: `no throwaway MariaDB: ${problem}` };
      try {
        const server = await startThrowawayMariaDb();
        return { url: server.url, source: 'a throwaway mariadbd', stop: server.destroy };
      } catch (error) {
        return { reason: messageOf(error) };
      }
    },
    container: {
      image: 'mariadb:11',
      port: 3306,
      environment: { MARIADB_ALLOW_EMPTY_ROOT_PASSWORD: '1', MARIADB_DATABASE: 'test' },
      // The image's entrypoint starts a temporary server for its init scripts, then the real one.
      readyLog: { pattern: /ready for connections/, times: 2 },
      url: (host, port) => `mysql://root@${host}:${port}/test`,
    },
  },
};

/** Backends without a server: found when their driver loads and answers a query in process. */
const IN_PROCESS: Record<Exclude<BackendName, ServerName>, () => Discovery> = { sqlite: discoverSqlite };

function discoverSqlite(): Discovery {
  try {
    const Database = require('better-sqlite3') as typeof import('better-sqlite3');
    const db = new Database(':memory:');
    try {
      db.prepare('SELECT 1').get();
    } finally {
      db.close();
    }
    return { url: 'sqlite::memory:', source: 'better-sqlite3' };
  } catch (error) {
    return { reason: `better-sqlite3 does not load: ${messageOf(error)}` };
  }
}

export async function pingRedis(url: string, timeoutMs = EXPLICIT_PROBE_TIMEOUT_MS): Promise<void> {
  const { default: Redis } = await import('ioredis');
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  let lastError: Error | undefined;
  client.on('error', (error: Error) => (lastError = error));
  try {
    await client.connect();
    const reply = await client.ping();
    if (reply !== 'PONG') throw new Error(`PING answered ${JSON.stringify(reply)}`);
  } catch (error) {
    // ioredis rejects a failed connect with "Connection is closed."; the socket's error says why.
    throw lastError ?? error;
  } finally {
    // disconnect() on a client that already ended arms a 2 s timer that would keep the process alive.
    if (client.status !== 'end') client.disconnect();
  }
}

export async function selectOnePostgres(url: string, timeoutMs = EXPLICIT_PROBE_TIMEOUT_MS): Promise<void> {
  const { Client } = await import('pg');
  const client = new Client({ connectionString: url, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function selectOneMySql(url: string, timeoutMs = EXPLICIT_PROBE_TIMEOUT_MS): Promise<void> {
  const { createConnection } = await import('mysql2/promise');
  const connection = await createConnection({ uri: url, connectTimeout: timeoutMs });
  try {
    await connection.query({ sql: 'SELECT 1', timeout: timeoutMs });
  } finally {
    connection.destroy();
  }
}

export async function pingMongo(url: string, timeoutMs = EXPLICIT_PROBE_TIMEOUT_MS): Promise<void> {
  const { MongoClient } = await import('mongodb');
  const client = new MongoClient(url, { serverSelectionTimeoutMS: timeoutMs, connectTimeoutMS: timeoutMs });
  try {
    await client.connect();
    await client.db('admin').command({ ping: 1 });
  } finally {
    await client.close().catch(() => undefined);
  }
}

/** A quick refusal check, so a port nobody listens on costs no driver's whole connect timeout. */
function listens(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    const done = (answered: boolean) => {
      socket.destroy();
      resolve(answered);
    };
    socket.setTimeout(LOOPBACK_PROBE_TIMEOUT_MS, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function failureOf(probe: () => Promise<void>): Promise<string | undefined> {
  try {
    await probe();
    return undefined;
  } catch (error) {
    return messageOf(error);
  }
}

function messageOf(error: unknown): string {
  // Duck-typed: errors made by Node itself come from another realm than jest's sandbox.
  const { errors, message, code, name } = (error ?? {}) as { errors?: unknown[]; message?: unknown; code?: unknown; name?: unknown };
  if (Array.isArray(errors) && errors.length > 0 && !message) return messageOf(errors[0]);
  if (typeof message === 'string' && message !== '') return message;
  if (typeof code === 'string') return code;
  return typeof name === 'string' ? name : String(error);
}

/** A URL fit for a log line: its password replaced. */
export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(an unparsable URL)';
  }
}
