import { Redis } from 'ioredis';
import { runConformance } from '../../conformance/jest';
import { describeBackend } from '../../test/support/backends';
import { redisConformance } from './test-support/conformance';

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
