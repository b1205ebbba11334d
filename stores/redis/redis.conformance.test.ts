import { runConformance } from '../../conformance/jest';
import { describeBackend } from '../../test/support/backends';
import { OWN_SUPPORTS, conformanceOf } from '../../test/support/own-stores';
import * as redis from './fixtures/factory';

describeBackend('redis', 'RedisStore on one Redis server', () => {
  runConformance(conformanceOf(redis));
  runConformance(conformanceOf(redis.atRest));
  for (const nodeRedis of redis.NODE_REDIS_MAJORS) {
    runConformance(conformanceOf(redis.redisFactory({ name: `RedisStore (node-redis v${nodeRedis.major})`, open: (url) => redis.openNodeRedis(url, nodeRedis) })));
  }
  // connect-redis' plain values: a plain SET and DEL, no tombstones, no creation instants, no user index.
  const compatSupports = { ...OWN_SUPPORTS, tombstones: false, maxLifetime: false, userIndex: false };
  runConformance(conformanceOf(redis.redisFactory({ name: "RedisStore (compat 'connect-redis')", storeOptions: { compat: 'connect-redis' }, supports: compatSupports })));
  // Without an injected clock Redis' own expiry decides (plain GET and PEXPIREAT), here on a client that auto-pipelines.
  runConformance(conformanceOf(redis.redisFactory({ name: 'RedisStore (system clock)', clock: 'real', open: (url) => redis.openIORedis(url, { enableAutoPipelining: true }) })));
});
