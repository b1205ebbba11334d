import { SERVER_NAMES, serverOf } from '../scripts/registry';
import { setupBackends } from './global-setup';
import globalTeardown from './global-teardown';
import { backendUrl, skipReason } from './support/backends';
import { discoverBackend, isFound, pingMongo, pingRedis, selectOnePostgres, type Discovery, type Found } from './support/discovery';
import { mongoServersProblem } from './support/mongo-servers';
import { freePort } from './support/postgres-servers';
import { redisServersProblem, startRedisServer } from './support/redis-servers';

const redisProblem = redisServersProblem();
const itWithRedisServer = (title: string, body: () => Promise<void>) =>
  redisProblem === undefined ? it(title, body) : it.skip(`${title} (${redisProblem})`, body);

const mongoProblem = mongoServersProblem();
const itWithMongoServer = (title: string, body: () => Promise<void>) =>
  mongoProblem === undefined ? it(title, body, 120_000) : it.skip(`${title} (${mongoProblem})`, body);

const started: Array<() => Promise<void>> = [];
afterAll(async () => {
  await Promise.all(started.map((stop) => stop()));
});

function expectFound(discovery: Discovery): Found {
  if (!isFound(discovery)) throw new Error(`expected a backend, got: ${discovery.reason}`);
  if (discovery.stop) started.push(discovery.stop);
  return discovery;
}

function reasonOf(discovery: Discovery): string {
  if (isFound(discovery)) {
    if (discovery.stop) started.push(discovery.stop);
    throw new Error(`expected no backend, found ${discovery.url} (${discovery.source})`);
  }
  return discovery.reason;
}

describe('backend discovery', () => {
  it('reports a REDIS_URL that does not answer, naming the variable, instead of testing another server', async () => {
    const deadPort = await freePort();
    const reason = reasonOf(await discoverBackend('redis', { env: { REDIS_URL: `redis://127.0.0.1:${deadPort}` } }));
    expect(reason).toContain(`REDIS_URL=redis://127.0.0.1:${deadPort}`);
    expect(reason).toContain('does not answer');
  });

  it('reports a POSTGRES_URL that does not answer, naming the variable', async () => {
    const deadPort = await freePort();
    const reason = reasonOf(await discoverBackend('postgres', { env: { POSTGRES_URL: `postgres://postgres@127.0.0.1:${deadPort}/test` } }));
    expect(reason).toContain(`POSTGRES_URL=postgres://postgres@127.0.0.1:${deadPort}/test does not answer`);
  });

  it('never prints the password of a URL it reports', async () => {
    const deadPort = await freePort();
    const reason = reasonOf(await discoverBackend('redis', { env: { REDIS_URL: `redis://user:hunter2@127.0.0.1:${deadPort}` } }));
    expect(reason).not.toContain('hunter2');
    expect(reason).toContain('user:***@');
  });

  itWithRedisServer('finds a server answering PING on the default port without starting one', async () => {
    const server = await startRedisServer();
    started.push(server.destroy);
    const port = server.port;
    const found = expectFound(await discoverBackend('redis', { env: {}, ports: { redis: port }, throwaway: false, containers: false }));
    expect(found).toEqual({ url: `redis://127.0.0.1:${port}`, source: `a server on 127.0.0.1:${port}` });
  });

  itWithRedisServer('starts a throwaway redis-server when nothing answers on the default port, and stops it', async () => {
    const deadPort = await freePort();
    const found = expectFound(await discoverBackend('redis', { env: {}, ports: { redis: deadPort }, containers: false }));
    expect(found.source).toBe('a throwaway redis-server');
    await expect(pingRedis(found.url)).resolves.toBeUndefined();
    await found.stop!();
    await expect(pingRedis(found.url)).rejects.toThrow();
  });

  itWithRedisServer('does not take a server that accepts TCP but is not PostgreSQL for PostgreSQL', async () => {
    const redis = await startRedisServer();
    started.push(redis.destroy);
    const port = redis.port;
    const reason = reasonOf(await discoverBackend('postgres', { env: {}, ports: { postgres: port }, throwaway: false, containers: false }));
    expect(reason).toContain(`nothing answers on 127.0.0.1:${port}`);
    expect(reason).toContain(`postgres://postgres@127.0.0.1:${port}/test`);
    expect(reason).toContain(`postgres://root@127.0.0.1:${port}/test`);
  });

  it('starts a throwaway PostgreSQL when nothing answers on the default port, and stops it', async () => {
    const deadPort = await freePort();
    const found = expectFound(await discoverBackend('postgres', { env: {}, ports: { postgres: deadPort }, containers: false }));
    expect(found.source).toMatch(/^a throwaway PostgreSQL/);
    await expect(selectOnePostgres(found.url)).resolves.toBeUndefined();
    await found.stop!();
    await expect(selectOnePostgres(found.url)).rejects.toThrow();
  }, 60_000);

  it.each(SERVER_NAMES)('names every step it tried when it finds no %s server, with the URL variable the registry gives', async (name) => {
    const deadPort = await freePort();
    const reason = reasonOf(await discoverBackend(name, { env: {}, ports: { [name]: deadPort }, throwaway: false, containers: false }));
    expect(reason).toBe(`${serverOf(name).urlVariable} is unset; nothing listens on 127.0.0.1:${deadPort}`);
  });

  itWithMongoServer('starts a throwaway Mongo server when none answers, and says which server it is', async () => {
    const deadPort = await freePort();
    const discovery = expectFound(await discoverBackend('mongo', { env: {}, ports: { mongo: deadPort }, containers: false }));
    expect(discovery.source).toMatch(/^a throwaway (mongod|FerretDB v1\.24\.2 \(SQLite backend\))$/);
    await expect(pingMongo(discovery.url)).resolves.toBeUndefined();
    if (discovery.source.includes('FerretDB')) {
      expect(discovery).toMatchObject({ server: 'FerretDB (reports MongoDB 7.0.42), without ttl-indexes', lacks: ['ttl-indexes'] });
    } else {
      expect(discovery.server).toMatch(/^MongoDB /);
    }
  });

  it('finds SQLite when better-sqlite3 loads and runs a query', async () => {
    expect(await discoverBackend('sqlite')).toEqual({ url: 'sqlite::memory:', source: 'better-sqlite3' });
  });
});

describe('the global setup', () => {
  const saved = { ...process.env };
  let lines: string[] = [];
  // No containers: on a machine with a container runtime, these cases would otherwise start some.
  const globalSetup = () => setupBackends((line) => lines.push(line), { containers: false });
  afterEach(async () => {
    lines = [];
    await globalTeardown();
    process.env = { ...saved };
  });

  it('fails the run when REQUIRE_BACKENDS names a backend that was not found', async () => {
    const deadPort = await freePort();
    process.env.REDIS_URL = `redis://127.0.0.1:${deadPort}`;
    process.env.REQUIRE_BACKENDS = 'redis';
    await expect(globalSetup()).rejects.toThrow(/REQUIRE_BACKENDS names backends that could not be found: redis \(REDIS_URL=/);
  }, 30_000);

  it('skips, without failing, a backend that REQUIRE_BACKENDS does not name, and publishes why', async () => {
    const deadPort = await freePort();
    process.env.REDIS_URL = `redis://127.0.0.1:${deadPort}`;
    process.env.REQUIRE_BACKENDS = 'sqlite';
    await globalSetup();
    expect(lines).toContainEqual(expect.stringMatching(/^\[backends\] SKIPPING redis tests: REDIS_URL=/));
    expect(lines).toContain('[backends] sqlite: better-sqlite3');
    expect(backendUrl('redis')).toBeUndefined();
    expect(skipReason('redis')).toContain('REDIS_URL=');
    expect(backendUrl('sqlite')).toBe('sqlite::memory:');
  }, 30_000);

  it('fails the run when REQUIRE_BACKENDS names a backend it does not know', async () => {
    process.env.REQUIRE_BACKENDS = 'sqlite,reddis';
    await expect(globalSetup()).rejects.toThrow('REQUIRE_BACKENDS names unknown backends: reddis');
  });
});
