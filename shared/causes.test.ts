import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { Pool } from 'pg';
import { PostgresStore } from '../stores/postgres';
import { RedisStore } from '../stores/redis';
import { describeBackend } from '../test/support/backends';
import { describeWithRedisServers, redisCli, startRedisServer, type ThrowawayRedis } from '../test/support/redis-servers';
import { aSession } from '../test/support/sessions';

const PAYLOAD_SECRET = 'PAYLOAD-SECRET-c0ffee';
const sidOfTest = () => `sid-${randomBytes(12).toString('hex')}`;

/** What console.error(error) would print, cause chain included. */
const printed = (error: unknown) => inspect(error, { depth: 10 });

function expectClean(error: unknown, secrets: string[]): void {
  expect(error).toMatchObject({ name: 'SessionStoreError' });
  const text = printed(error);
  for (const secret of secrets) expect(text).not.toContain(secret);
}

describeWithRedisServers('Error causes from ioredis', () => {
  const password = `pw-${randomBytes(8).toString('hex')}`;
  let server: ThrowawayRedis;
  beforeAll(async () => {
    // Every write is refused (used memory is always above one byte), and only the right password gets in.
    server = await startRedisServer();
    await redisCli(server.port, ['CONFIG', 'SET', 'maxmemory', '1', 'maxmemory-policy', 'noeviction']);
    await redisCli(server.port, ['CONFIG', 'SET', 'requirepass', password]);
  });
  afterAll(() => server?.destroy());

  it('a refused SET, whose ioredis error carries the key and payload in command.args, names neither the sid nor the payload', async () => {
    const store = new RedisStore({ url: server.url.replace('redis://', `redis://:${password}@`) });
    const sid = sidOfTest();
    try {
      const error = await store.set(sid, aSession({ token: PAYLOAD_SECRET })).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'ERR_SESSION_BACKEND', sidPrefix: sid.slice(0, 6) });
      expect(printed(error)).toContain('OOM');
      expectClean(error, [sid, PAYLOAD_SECRET, password]);
    } finally {
      await store.close();
    }
  });

  it('a URL with a wrong password never shows the password', async () => {
    const wrong = `wrong-${randomBytes(8).toString('hex')}`;
    const store = new RedisStore({ url: server.url.replace('redis://', `redis://default:${wrong}@`), operationTimeout: 1000 });
    store.on('disconnect', () => undefined);
    try {
      const error = await store.get(sidOfTest()).catch((e: unknown) => e);
      expectClean(error, [wrong]);
    } finally {
      await store.close();
    }
  });
});

describeBackend('postgres', 'Error causes from pg', (url) => {
  let pool: Pool;
  beforeAll(() => {
    pool = new Pool({ connectionString: url, max: 2 });
  });
  afterAll(() => pool.end());

  it("a refused INSERT, whose detail quotes the whole row, names neither the sid nor the payload", async () => {
    const tableName = `causes_${randomBytes(4).toString('hex')}`;
    // Our layout, plus a constraint that every session fails: pg reports it with "Failing row contains (…)".
    await pool.query(
      `CREATE TABLE ${tableName} (sid text COLLATE "C" PRIMARY KEY, expires_at bigint NOT NULL, data text NOT NULL CHECK (length(data) < 10), created_at bigint, owner text COLLATE "C")`,
    );
    await pool.query(`CREATE INDEX ${tableName}_expires_at_idx ON ${tableName} (expires_at)`);
    await pool.query(`CREATE INDEX ${tableName}_owner_idx ON ${tableName} (owner) WHERE owner IS NOT NULL`);
    const store = new PostgresStore({ pool, tableName, createTable: false, pruneInterval: 0 });
    const sid = sidOfTest();
    try {
      const error = await store.set(sid, aSession({ token: PAYLOAD_SECRET })).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'ERR_SESSION_BACKEND', cause: { code: '23514' } });
      expectClean(error, [sid, PAYLOAD_SECRET]);
    } finally {
      await store.close();
      await pool.query(`DROP TABLE ${tableName}`);
    }
  });
});
