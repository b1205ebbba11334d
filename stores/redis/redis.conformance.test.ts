import { Redis } from 'ioredis';
import { runConformance } from '../../conformance/jest';
import { describeBackend } from '../../test/support/backends';
import { redisConformance } from './fixtures/conformance';

describeBackend('redis', 'RedisStore on one Redis server', (url) => {
  let client: Redis;
  beforeAll(() => {
    client = new Redis(url);
  });
  afterAll(async () => {
    await client.quit();
  });
  runConformance(redisConformance('RedisStore', () => client));
});

// Without an injected clock the store lets Redis' own expiry decide (plain GET and PEXPIREAT): the same contract on the wall clock.
describeBackend('redis', 'RedisStore on one Redis server, system clock', (url) => {
  let client: Redis;
  beforeAll(() => {
    client = new Redis(url, { enableAutoPipelining: true });
  });
  afterAll(async () => {
    await client.quit();
  });
  runConformance(redisConformance('RedisStore (system clock)', () => client, { clock: 'real' }));
});
