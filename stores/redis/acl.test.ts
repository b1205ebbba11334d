import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { cases } from '../../conformance/cases';
import { runConformance } from '../../conformance/jest';
import type { ConformanceConfig } from '../../conformance/types';
import { describeBackend } from '../../test/support/backends';
import { baseOptionsOf } from '../../test/support/own-stores';
import { RedisStore, type RedisClient } from '.';

/** The ACL line the README gives, as it stands there. */
function readmeAcl(): string {
  const readme = fs.readFileSync(path.join(__dirname, 'README.md'), 'utf8');
  const line = readme.split('\n').find((text) => text.startsWith('ACL SETUSER sessions '));
  if (!line) throw new Error('README.md gives no ACL SETUSER line');
  return line;
}

/** The cases that use every command a store sends: reads, writes, touch, expiry, the bulk calls and the user index. */
const STORE_GROUPS = new Set(['basics', 'touch', 'expiry', 'bulk', 'namespaces', 'users']);
const storeCaseIds = new Set(cases.filter((c) => STORE_GROUPS.has(c.group)).map((c) => c.id));

describeBackend('redis', 'RedisStore as a Redis user with exactly the ACL of its README', (url) => {
  const run = randomBytes(6).toString('hex');
  const user = `ss_acl_${run}`;
  const password = randomBytes(12).toString('hex');
  const keyPrefix = `test:acl:${run}:`;
  const admin = new Redis(url);
  const userUrl = () => {
    const withUser = new URL(url);
    withUser.username = user;
    withUser.password = password;
    return withUser.toString();
  };
  let ioredis: Redis;
  let nodeRedis: ReturnType<typeof createClient>;

  beforeAll(async () => {
    const args = readmeAcl()
      .replace(/^ACL SETUSER sessions /, '')
      .replace('>change-me', `>${password}`)
      .replace('~sess:*', `~${keyPrefix}*`)
      .replace('~by-user:sess:*', `~by-user:${keyPrefix}*`)
      .split(' ');
    await admin.call('ACL', 'SETUSER', user, ...args);
    ioredis = new Redis(userUrl());
    nodeRedis = createClient({ url: userUrl() });
    nodeRedis.on('error', () => undefined);
    await nodeRedis.connect();
  });

  afterAll(async () => {
    await ioredis?.quit();
    await nodeRedis?.quit();
    const leftovers = [...(await admin.keys(`${keyPrefix}*`)), ...(await admin.keys(`by-user:${keyPrefix}*`))];
    if (leftovers.length > 0) await admin.del(...leftovers);
    await admin.call('ACL', 'DELUSER', user);
    await admin.quit();
  });

  const config = (name: string, client: () => RedisClient, label: string): ConformanceConfig => ({
    name,
    makeStore: (options) =>
      new RedisStore<RedisClient>({ client: client(), prefix: `${keyPrefix}${label}:${options.namespace ?? 'default'}:`, ...baseOptionsOf(options) }),
    clock: 'injectable',
    supports: { namespaces: true, ttl: true, ttlFunction: true, touchAfter: true, disableTouch: true, userIndex: true },
    http: false,
    strict: true,
    filter: (id) => storeCaseIds.has(id),
  });

  runConformance(config('RedisStore on ioredis', () => ioredis, 'ioredis'));
  runConformance(config('RedisStore on node-redis', () => nodeRedis as unknown as RedisClient, 'node-redis'));

  it('is refused what the ACL does not grant: a key outside its prefix, a command outside its list', async () => {
    await expect(ioredis.set('test:acl:outside', 'x')).rejects.toThrow(/NOPERM/);
    await expect(ioredis.flushdb()).rejects.toThrow(/NOPERM/);
    await expect(ioredis.keys('*')).rejects.toThrow(/NOPERM/);
  });
});
