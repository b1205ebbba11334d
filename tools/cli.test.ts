import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { SessionData } from 'express-session';
import ConnectMongo from 'connect-mongo';
import { RedisStore as ConnectRedisStore } from 'connect-redis';
import { MongoClient } from 'mongodb';
import { Pool } from 'pg';
import { createClient } from 'redis';
import { MongoStore } from '../stores/mongo';
import { dropTestDatabase, TEST_DB, uniqueCollection } from '../stores/mongo/fixtures/servers';
import { PostgresStore } from '../stores/postgres';
import { SqliteStore } from '../stores/sqlite';
import { backendLacks, describeBackend } from '../test/support/backends';
import { HOUR_MS, aSession } from '../test/support/sessions';
import { colorWanted, main, type Output } from './cli';
import { printable } from './open-store';

const CLI = path.join(__dirname, 'cli.ts');
const FACTORY = path.join(__dirname, 'fixtures', 'sqlite-file-factory.ts');

async function run(argv: string[], errIsTty = false): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const output: Output = { out: (text) => (out += text), err: (text) => (err += text), errIsTty, color: false };
  const code = await main(argv, output);
  return { code, out, err };
}

/** A session whose cookie expired an hour ago, written through a store whose clock is two hours behind. */
function expiredSession(data: Record<string, unknown> = {}): SessionData {
  return { cookie: { originalMaxAge: HOUR_MS, expires: new Date(Date.now() - HOUR_MS).toISOString(), path: '/' }, ...data } as unknown as SessionData;
}
const twoHoursAgo = () => Date.now() - 2 * HOUR_MS;

/** The mongodb:// location of the test database on the server at `url`. */
function inTestDb(url: string): string {
  const withDb = new URL(url);
  withDb.pathname = `/${TEST_DB}`;
  return withDb.toString();
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'session-stores-tools-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('session-stores: help, usage and exit status', () => {
  it.each([[['--help']], [['prune', '--help']], [['copy', '--help']], [['copy', '-h']]])('%j prints its help and exits 0', async (argv) => {
    const { code, out, err } = await run(argv);
    expect(code).toBe(0);
    expect(err).toBe('');
    expect(out).toMatch(/^Usage: session-stores/);
    expect(out).toContain('Exit status: 0 done; 1');
  });

  it.each([
    [[], 'give a command'],
    [['vacuum'], 'unknown command vacuum'],
    [['prune'], 'give the location of a store'],
    [['prune', 'a', 'b'], 'give one location'],
    [['prune', '--bogus', 'sqlite:x.db'], "Unknown option '--bogus'"],
    [['prune', 'ftp://example.org/sessions'], 'ftp: is no scheme of ours'],
    [['prune', 'postgres://localhost/test', '--prefix', 'sess:'], '--prefix does not apply to a postgres://'],
    [['prune', 'postgres://localhost/test', '--compat', 'connect-redis'], '--compat for postgres:// takes connect-pg-simple'],
    [['prune', 'redis://localhost:6379', '--compat', 'connect-mongo'], '--compat for redis:// takes connect-redis'],
    [['prune', 'mongodb://localhost/test', '--compat', 'connect-redis'], '--compat for mongodb:// takes connect-mongo'],
    [['prune', 'sqlite:a.db', '--compat', 'connect-redis'], '--compat does not apply to a sqlite://'],
    [['prune', 'no-such-module.js'], 'is neither a URL of ours nor a file'],
    [['copy', '--from', 'sqlite:a.db'], 'give both --from and --to'],
    [['copy', '--from', 'sqlite:a.db', '--to', 'sqlite:a.db'], 'name the same sessions'],
    [['copy', '--from', 'sqlite:a.db', '--to', 'sqlite:b.db', '--concurrency', '0'], '--concurrency takes a positive integer'],
  ])('%j is a usage error: exit 2 with the reason and the usage', async (argv, reason) => {
    const { code, out, err } = await run(argv);
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err).toContain(reason);
    expect(err).toContain('Usage: session-stores');
  });

  it('a store that cannot be reached is exit 1, one line, and the URL password is nowhere', async () => {
    const { code, out, err } = await run(['prune', 'postgres://root:hunter2-secret@127.0.0.1:1/test']);
    expect(code).toBe(1);
    expect(out).toBe('');
    expect(err.trim().split('\n')).toHaveLength(1);
    expect(err).toMatch(/^session-stores prune: \[postgres\]/);
    expect(err).not.toContain('hunter2');
  });

  it('prints a URL with its password masked, in the userinfo and as a parameter', () => {
    expect(printable('postgres://app:s3cret@db:5432/app')).toBe('postgres://app:***@db:5432/app');
    expect(printable('redis://:s3cret@cache:6379')).toBe('redis://:***@cache:6379');
    expect(printable('mysql://db/app?user=app&password=s3cret&ssl=true')).toBe('mysql://db/app?user=app&password=***&ssl=true');
    expect(printable('sqlite:/var/lib/app/sessions.db')).toBe('sqlite:/var/lib/app/sessions.db');
  });

  it('colours only on a terminal, and never with NO_COLOR or --no-color', () => {
    expect(colorWanted({}, true, false)).toBe(true);
    expect(colorWanted({}, false, false)).toBe(false);
    expect(colorWanted({ NO_COLOR: '1' }, true, false)).toBe(false);
    expect(colorWanted({}, true, true)).toBe(false);
  });

  it('the bin itself exits with the documented status: 0 for --help, 2 for a usage error', () => {
    const help = spawnSync(process.execPath, ['--import', 'tsx', CLI, 'prune', '--help'], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('Usage: session-stores prune');
    const usage = spawnSync(process.execPath, ['--import', 'tsx', CLI, 'copy'], { encoding: 'utf8' });
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain('give both --from and --to');
    // Two node processes compiling TypeScript with tsx: on a loaded machine that alone can take half a minute.
  }, 120_000);
});

describe('session-stores prune on SQLite', () => {
  let file: string;
  beforeEach(async () => {
    file = path.join(dir, `${randomBytes(4).toString('hex')}.db`);
    const past = new SqliteStore({ filename: file, pruneInterval: 0, now: twoHoursAgo });
    const other = new SqliteStore({ filename: file, tableName: 'other_sessions', pruneInterval: 0, now: twoHoursAgo });
    for (const sid of ['old-1', 'old-2', 'old-3']) await past.set(sid, expiredSession());
    await past.set('live-1', aSession({ user: 'ada' }, 3 * HOUR_MS));
    await other.set('other-old', expiredSession());
    await Promise.all([past.close(), other.close()]);
  });

  const rowsOf = (table: string) => {
    const db = new SqliteStore({ filename: file, tableName: table, pruneInterval: 0, now: () => 0 });
    return db.length().finally(() => db.close());
  };

  it('--dry-run counts the expired sessions and deletes nothing', async () => {
    const { code, out } = await run(['prune', `sqlite:${file}`, '--dry-run']);
    expect(code).toBe(0);
    expect(out).toBe(`3 expired sessions to prune in sqlite:${file} (dry run: nothing deleted)\n`);
    expect(await rowsOf('sessions')).toBe(4);
  });

  it("deletes the expired sessions of the store's own table only, and keeps the live ones", async () => {
    const { code, out } = await run(['prune', `sqlite:${file}`]);
    expect(code).toBe(0);
    expect(out).toBe(`pruned 3 expired sessions in sqlite:${file}\n`);
    expect(await rowsOf('sessions')).toBe(1);
    expect(await rowsOf('other_sessions')).toBe(1);
    expect((await run(['prune', `sqlite:${file}`, '--table', 'other_sessions'])).out).toMatch(/^pruned 1 expired session in/);
  });

  it('refuses a file that does not exist rather than create it', async () => {
    const missing = path.join(dir, 'missing.db');
    expect((await run(['prune', `sqlite:${missing}`])).code).toBe(2);
    expect(existsSync(missing)).toBe(false);
  });

  it("prunes through a factory module, with --dry-run on its injected clock, and never runs the module's teardown", async () => {
    process.env.SESSION_STORES_TOOLS_SQLITE_FILE = file;
    const made = new SqliteStore({ filename: file, tableName: 'factory_sessions', pruneInterval: 0, now: twoHoursAgo });
    await made.set('factory-old', expiredSession());
    await made.close();
    expect((await run(['prune', FACTORY, '--dry-run'])).out).toMatch(/^1 expired session to prune in /);
    expect((await run(['prune', FACTORY])).out).toMatch(/^pruned 1 expired session in /);
    expect(existsSync(`${file}.teardown-ran`)).toBe(false);
  });
});

describe('session-stores copy between SQLite files', () => {
  it('draws a progress bar on a terminal only, and prints one summary line', async () => {
    const [from, to] = [path.join(dir, 'copy-from.db'), path.join(dir, 'copy-to.db')];
    const source = new SqliteStore({ filename: from, pruneInterval: 0 });
    for (let i = 0; i < 5; i++) await source.set(`copy-${i}`, aSession({ i }));
    await source.close();
    const onTerminal = await run(['copy', '--from', `sqlite:${from}`, '--to', `sqlite:${to}`], true);
    expect(onTerminal.code).toBe(0);
    expect(onTerminal.err).toMatch(/^\r\x1b\[K#+\.* [1-5]\/5 read, [0-5] copied/);
    expect(onTerminal.err.endsWith('\r\x1b[K')).toBe(true);
    expect(onTerminal.out).toMatch(/^copied 5 of 5 live sessions from sqlite:.* 0 already in the target, 0 gone meanwhile \(expired, destroyed or moved\), 0 failed \(\d+\.\d s\)\n$/);
    const piped = await run(['copy', '--from', `sqlite:${from}`, '--to', `sqlite:${to}`]);
    expect(piped.err).toBe('');
    expect(piped.out).toMatch(/^copied 0 of 5 live sessions .* 5 already in the target/);
  });
});

describeBackend('postgres', 'session-stores prune on PostgreSQL', (url) => {
  let pool: Pool;
  const table = `tools_prune_${randomBytes(4).toString('hex')}`;
  const foreign = `tools_foreign_${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    pool = new Pool({ connectionString: url, max: 2 });
    const past = new PostgresStore({ pool, tableName: table, pruneInterval: 0, now: twoHoursAgo });
    for (const sid of ['pg-old-1', 'pg-old-2']) await past.set(sid, expiredSession());
    await past.set('pg-live', aSession({}, 3 * HOUR_MS));
    await past.close();
    await pool.query(`CREATE TABLE "${foreign}" (sid text PRIMARY KEY, note text)`);
    await pool.query(`INSERT INTO "${foreign}" VALUES ('a', 'not a session')`);
  });

  afterAll(async () => {
    await pool.query(`DROP TABLE IF EXISTS "${table}"`);
    await pool.query(`DROP TABLE IF EXISTS "${foreign}"`);
    await pool.end();
  });

  const rows = async (name: string) => (await pool.query(`SELECT count(*)::int AS n FROM "${name}"`)).rows[0].n as number;

  it('--dry-run counts, then prune deletes only the expired rows', async () => {
    expect((await run(['prune', url, '--table', table, '--dry-run'])).out).toMatch(/^2 expired sessions to prune in postgres:\/\//);
    expect(await rows(table)).toBe(3);
    const pruned = await run(['prune', url, '--table', table]);
    expect(pruned).toMatchObject({ code: 0, err: '' });
    expect(pruned.out).toMatch(/^pruned 2 expired sessions in /);
    expect(await rows(table)).toBe(1);
  });

  it('refuses a table that is not a session table in the layout, and deletes nothing from it (exit 1)', async () => {
    const refused = await run(['prune', url, '--table', foreign]);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/^session-stores prune: \[postgres\]/);
    expect(await rows(foreign)).toBe(1);
  });

  it('creates no table when the one named is missing', async () => {
    const missing = `tools_missing_${randomBytes(4).toString('hex')}`;
    expect((await run(['prune', url, '--table', missing])).code).toBe(1);
    expect((await pool.query('SELECT to_regclass($1) AS oid', [missing])).rows[0].oid).toBeNull();
  });
});

describeBackend('mongo', 'session-stores prune on MongoDB', (url) => {
  let client: MongoClient;
  const location = inTestDb(url);
  const collection = uniqueCollection('tools_prune');

  beforeAll(async () => {
    client = await new MongoClient(url).connect();
    const past = new MongoStore({ client, dbName: TEST_DB, collectionName: collection, pruneInterval: 0, now: twoHoursAgo });
    for (const sid of ['mongo-old-1', 'mongo-old-2']) await past.set(sid, expiredSession());
    await past.set('mongo-live', aSession({}, 3 * HOUR_MS));
    await past.close();
  });

  afterAll(async () => {
    await dropTestDatabase(client);
    await client.close();
  });

  it("--dry-run counts, then prune deletes only the collection's expired documents", async () => {
    const documents = () => client.db(TEST_DB).collection(collection).countDocuments();
    expect((await run(['prune', location, '--collection', collection, '--dry-run'])).out).toMatch(/^2 expired sessions to prune in mongodb:\/\//);
    expect(await documents()).toBe(3);
    const pruned = await run(['prune', location, '--collection', collection]);
    expect(pruned).toMatchObject({ code: 0, err: '' });
    expect(await documents()).toBe(1);
  });
});

/** A SQLite file of sessions, to copy from. */
async function sqliteSource(name: string, sessions: Record<string, SessionData>): Promise<string> {
  const file = path.join(dir, `${name}.db`);
  const source = new SqliteStore({ filename: file, pruneInterval: 0 });
  for (const [sid, session] of Object.entries(sessions)) await source.set(sid, session);
  await source.close();
  return file;
}

describeBackend('redis', 'session-stores copy into a connect-redis keyspace', (url) => {
  let client: ReturnType<typeof createClient>;
  const prefix = `tools_copy_${randomBytes(4).toString('hex')}:`;
  const ownPrefix = `tools_copy_own_${randomBytes(4).toString('hex')}:`;

  beforeAll(async () => {
    client = createClient({ url });
    await client.connect();
  });

  afterAll(async () => {
    for (const pattern of [`${prefix}*`, `${ownPrefix}*`]) {
      const keys = await client.keys(pattern);
      if (keys.length > 0) await client.del(keys);
    }
    await client.quit();
  });

  it('with --to-compat connect-redis writes values that connect-redis reads; without it, values with their head', async () => {
    const from = await sqliteSource('to-connect-redis', { 'cr-ada': aSession({ user: { name: 'ada', roles: ['admin'] } }), 'cr-bob': aSession({ user: { name: 'bob' } }) });
    const copied = await run(['copy', '--from', `sqlite:${from}`, '--to', url, '--to-prefix', prefix, '--to-compat', 'connect-redis']);
    expect(copied).toMatchObject({ code: 0, err: '' });
    expect(copied.out).toMatch(/^copied 2 of 2 live sessions /);
    const theirs = new ConnectRedisStore({ client, prefix });
    const ada = await new Promise<SessionData | null | undefined>((resolve, reject) => theirs.get('cr-ada', (error, session) => (error ? reject(error) : resolve(session))));
    expect(ada).toMatchObject({ user: { name: 'ada', roles: ['admin'] } });
    expect((await client.get(`${prefix}cr-bob`))!.startsWith('{')).toBe(true);
    expect(await client.pTTL(`${prefix}cr-bob`)).toBeGreaterThan(0);

    expect((await run(['copy', '--from', `sqlite:${from}`, '--to', url, '--to-prefix', ownPrefix])).code).toBe(0);
    expect((await client.get(`${ownPrefix}cr-bob`))!.charCodeAt(0)).toBe(1);
  });
});

describeBackend('mongo', 'session-stores copy into a connect-mongo collection', (url) => {
  let client: MongoClient;
  const location = inTestDb(url);
  const collection = uniqueCollection('tools_copy');

  beforeAll(async () => {
    client = await new MongoClient(url).connect();
  });

  afterAll(async () => {
    await client.db(TEST_DB).collection(collection).drop().catch(() => undefined);
    await client.close();
  });

  it('with --to-compat connect-mongo writes documents that connect-mongo reads', async () => {
    const from = await sqliteSource('to-connect-mongo', { 'cm-ada': aSession({ user: { name: 'ada', roles: ['admin'] } }) });
    const copied = await run(['copy', '--from', `sqlite:${from}`, '--to', location, '--to-collection', collection, '--to-compat', 'connect-mongo']);
    expect(copied).toMatchObject({ code: 0, err: '' });
    expect(copied.out).toMatch(/^copied 1 of 1 live sessions /);
    // connect-mongo's close() would close the client it was given: it is not called. Without TTL indexes (FerretDB v1) its create() needs autoRemove off.
    const theirs = ConnectMongo.create({ client, dbName: TEST_DB, collectionName: collection, ...(backendLacks('mongo', 'ttl-indexes') && { autoRemove: 'disabled' as const }) });
    const ada = await new Promise<SessionData | null | undefined>((resolve, reject) => theirs.get('cm-ada', (error, session) => (error ? reject(error) : resolve(session))));
    expect(ada).toMatchObject({ user: { name: 'ada', roles: ['admin'] } });
  });
});
